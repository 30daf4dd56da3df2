using Platform.Raft;

namespace Platform.Etcd.Server.Tests.Raft;

public sealed class LeaderSendTests
{
    private static Message M(MessageType type, ulong to) => new() { Type = type, To = to, From = 1 };

    [Fact]
    public void SplitForLeader_AppendsAndHeartbeats_AllGoBeforeTheWalWrite()
    {
        Message[] messages = [M(MessageType.MsgApp, 2), M(MessageType.MsgApp, 3), M(MessageType.MsgHeartbeat, 2), M(MessageType.MsgReadIndexResp, 3), M(MessageType.MsgSnap, 3)];

        (IReadOnlyList<Message> now, IReadOnlyList<Message> afterSave) = EtcdServer.SplitForLeader(messages);

        Assert.Equal(messages, now);
        Assert.Empty(afterSave);
    }

    [Fact]
    public void SplitForLeader_AppendAndVoteResponses_WaitForTheWalWriteInOrder()
    {
        Message app = M(MessageType.MsgApp, 2);
        Message appResp = M(MessageType.MsgAppResp, 3);
        Message heartbeat = M(MessageType.MsgHeartbeat, 3);
        Message voteResp = M(MessageType.MsgVoteResp, 2);
        Message preVoteResp = M(MessageType.MsgPreVoteResp, 3);

        (IReadOnlyList<Message> now, IReadOnlyList<Message> afterSave) = EtcdServer.SplitForLeader([app, appResp, heartbeat, voteResp, preVoteResp]);

        Assert.Equal([app, heartbeat], now);
        Assert.Equal([appResp, voteResp, preVoteResp], afterSave);
    }

    [Fact]
    public void SplitForLeader_OnlyResponses_NothingGoesEarly()
    {
        Message[] messages = [M(MessageType.MsgAppResp, 2), M(MessageType.MsgVoteResp, 3)];

        (IReadOnlyList<Message> now, IReadOnlyList<Message> afterSave) = EtcdServer.SplitForLeader(messages);

        Assert.Empty(now);
        Assert.Equal(messages, afterSave);
    }
}
