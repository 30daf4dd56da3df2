namespace Platform.Raft;

internal sealed partial class Raft
{
    // MsgReadIndex received before this leader committed an entry of its term; answered once it has.
    private List<Message> _pendingReadIndexMessages = [];

    private void HandleReadIndexAsLeader(Message m)
    {
        if (Tracker.IsSingleton())
        {
            // The only voter: our commit index is the cluster's.
            RespondToReadIndex(m, Log.Committed);
            return;
        }

        // A new leader's commit index may lag the previous leader's until it commits an entry of
        // its own term (Raft §6.4, etcd-io/etcd#7331): hold the request until then.
        if (!CommittedEntryInCurrentTerm())
        {
            _pendingReadIndexMessages.Add(m);
            return;
        }

        SendReadIndexResponse(m);
    }

    private void SendReadIndexResponse(Message m)
    {
        switch (_readOnly.Option)
        {
            case ReadOnlyOption.Safe:
                // Confirm leadership with a quorum first; we ack our own heartbeat.
                _readOnly.AddRequest(Log.Committed, m);
                _readOnly.ReceiveAck(Id, _readOnly.HeartbeatContext());
                BroadcastHeartbeat();
                break;
            case ReadOnlyOption.LeaseBased:
                RespondToReadIndex(m, Log.Committed);
                break;
        }
    }

    private void ReleasePendingReadIndexMessages()
    {
        if (_pendingReadIndexMessages.Count == 0)
        {
            return;
        }

        if (!CommittedEntryInCurrentTerm())
        {
            _logger.Error("pending MsgReadIndex should be released only after first commit in current term");
            return;
        }

        List<Message> pending = _pendingReadIndexMessages;
        _pendingReadIndexMessages = [];
        foreach (Message m in pending)
        {
            SendReadIndexResponse(m);
        }
    }

    /// <summary>Whether the entry at the commit index is of the current term (never true at term 0).</summary>
    internal bool CommittedEntryInCurrentTerm() => Log.ZeroTermOnOutOfBounds(Log.Committed) == Term;

    /// <summary>Answers a read: locally through <see cref="ReadStates"/>, else with a MsgReadIndexResp to the follower that asked.</summary>
    private void RespondToReadIndex(Message request, ulong readIndex)
    {
        if (request.From == RaftConstants.None || request.From == Id)
        {
            ReadStates.Add(new ReadState(readIndex, request.Entries[0].Data));
            return;
        }

        var response = new Message { Type = MessageType.MsgReadIndexResp, To = request.From, Index = readIndex };
        response.Entries.AddRange(request.Entries);
        Send(response);
    }

    /// <summary>Number of read requests waiting for the first commit of this leader's term.</summary>
    internal int PendingReadIndexMessageCount => _pendingReadIndexMessages.Count;
}
