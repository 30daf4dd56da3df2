namespace Platform.Raft;

/// <summary>Classification of message types (etcd's util.go).</summary>
internal static class MessageTypes
{
    /// <summary>Types raft generates for itself; never accepted from the network.</summary>
    public static bool IsLocal(MessageType type) => type switch
    {
        MessageType.MsgHup or MessageType.MsgBeat or MessageType.MsgUnreachable or MessageType.MsgSnapStatus
            or MessageType.MsgCheckQuorum or MessageType.MsgStorageAppend or MessageType.MsgStorageAppendResp
            or MessageType.MsgStorageApply or MessageType.MsgStorageApplyResp => true,
        _ => false,
    };

    /// <summary>Responses: handling them needs the sender's progress.</summary>
    public static bool IsResponse(MessageType type) => type switch
    {
        MessageType.MsgAppResp or MessageType.MsgVoteResp or MessageType.MsgHeartbeatResp or MessageType.MsgUnreachable
            or MessageType.MsgReadIndexResp or MessageType.MsgPreVoteResp or MessageType.MsgStorageAppendResp
            or MessageType.MsgStorageApplyResp => true,
        _ => false,
    };

    public static bool IsLocalTarget(ulong id) => id == RaftConstants.LocalAppendThread || id == RaftConstants.LocalApplyThread;

    public static MessageType VoteResponseType(MessageType type) => type switch
    {
        MessageType.MsgVote => MessageType.MsgVoteResp,
        MessageType.MsgPreVote => MessageType.MsgPreVoteResp,
        _ => throw new ArgumentException($"not a vote message: {type}", nameof(type)),
    };
}
