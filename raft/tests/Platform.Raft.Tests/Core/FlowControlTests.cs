using Google.Protobuf;
using Platform.Raft.Tracker;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>Flow control: message size, the inflight window, uncommitted limit, probing (etcd's raft_flow_control_test.go and friends).</summary>
public class FlowControlTests
{
    private static Raft Leader(int maxInflight = 256, ulong maxMessageBytes = ulong.MaxValue, ulong maxInflightBytes = 0, ulong maxUncommitted = 0, bool forwardingDisabled = false)
    {
        Raft r = new(Config(1, 5, 1, NewStorage(1, 2), maxInflight: maxInflight, maxMessageBytes: maxMessageBytes, maxInflightBytes: maxInflightBytes, maxUncommittedBytes: maxUncommitted, disableProposalForwarding: forwardingDisabled));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        return r;
    }

    [Fact]
    public void InflightWindow_Full_StopsSendingUntilAcked()
    {
        Raft r = Leader(maxInflight: 3);
        Progress pr = r.Tracker.Progress[2];
        pr.BecomeReplicate();
        for (int i = 0; i < 3; i++)
        {
            r.Step(Proposal(1, 1));
            Assert.Single(r.ReadMessages());
        }

        Assert.True(pr.Inflights.Full);
        for (int i = 0; i < 5; i++)
        {
            r.Step(Proposal(1, 1));
            Assert.Empty(r.ReadMessages());
        }

        // An ack frees the window: the queued entries go out.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = 2 });
        Assert.NotEmpty(r.ReadMessages());
    }

    [Fact]
    public void InflightWindow_FullAndMessagesLost_HeartbeatResponseSendsEmptyAppend()
    {
        Raft r = Leader(maxInflight: 1);
        r.Tracker.Progress[2].BecomeReplicate();
        r.Step(Proposal(1, 1));
        r.ReadMessages();
        r.Step(Proposal(1, 1));
        Assert.Empty(r.ReadMessages());
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgHeartbeatResp, Term = r.Term });
        Message append = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgApp, append.Type);
        Assert.Empty(append.Entries);
    }

    [Fact]
    public void MaxMessageBytes_Zero_SendsOneEntryPerMessage()
    {
        Raft r = Leader(maxMessageBytes: 0);
        r.Tracker.Progress[2].BecomeReplicate();
        var m = new Message { From = 1, To = 1, Type = MessageType.MsgProp };
        for (int i = 0; i < 4; i++)
        {
            m.Entries.Add(new Entry { Data = ByteString.CopyFromUtf8("x") });
        }

        r.Step(m);
        List<Message> appends = r.ReadMessages();
        Assert.Single(appends);
        Assert.Single(appends[0].Entries);

        // The ack opens the window for the rest, one per message.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = appends[0].Index + 1 });
        List<Message> rest = r.ReadMessages();
        Assert.True(rest.Count >= 3);
        Assert.All(rest.Where(x => x.Entries.Count > 0), x => Assert.Single(x.Entries));
    }

    [Fact]
    public void MaxInflightBytes_Reached_PausesReplication()
    {
        const int payload = 100;
        Raft r = Leader(maxMessageBytes: 150, maxInflightBytes: 2 * payload);
        r.Tracker.Progress[2].BecomeReplicate();
        for (int i = 0; i < 2; i++)
        {
            r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = ByteString.CopyFrom(new byte[payload]) } } });
            Assert.Single(r.ReadMessages());
        }

        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = ByteString.CopyFrom(new byte[payload]) } } });
        Assert.Empty(r.ReadMessages());
        Assert.True(r.Tracker.Progress[2].IsPaused());
    }

    [Fact]
    public void UncommittedLimit_Exceeded_DropsProposalUntilCommitted()
    {
        const int payload = 1024;
        Raft r = Leader(maxUncommitted: 4 * payload);
        Message Big() => new() { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = ByteString.CopyFrom(new byte[payload]) } } };
        for (int i = 0; i < 4; i++)
        {
            r.Step(Big());
        }

        Assert.Throws<ProposalDroppedException>(() => r.Step(Big()));

        // An empty proposal is never refused.
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry() } });

        // Applying the committed entries releases the budget.
        r.OnEntriesApplied(r.Log.Committed, 0, 4 * payload);
        r.Step(Big());
    }

    [Fact]
    public void UncommittedLimit_EmptyTail_AcceptsOversizedProposal()
    {
        Raft r = Leader(maxUncommitted: 10);
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = ByteString.CopyFrom(new byte[100]) } } });
        Assert.Throws<ProposalDroppedException>(() =>
            r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = ByteString.CopyFrom(new byte[1]) } } }));
    }

    [Fact]
    public void RejectHint_DivergentTail_ProbesOncePerTerm()
    {
        // Leader terms 1 3 3 3 5 5 5 5 5, follower 1 1 1 1 2 2 (etcd's stepLeader example).
        MemoryStorage leaderStorage = NewStorage(1, 2);
        leaderStorage.Append(EntriesFrom(1, 1, 3, 3, 3, 5, 5, 5, 5, 5));
        Raft leader = NewRaft(1, 10, 1, leaderStorage);
        leader.LoadStateForTest(new HardState { Term = 5, Commit = 1 });
        leader.BecomeCandidate();
        leader.BecomeLeader();
        leader.ReadMessages();
        MemoryStorage followerStorage = NewStorage(1, 2);
        followerStorage.Append(EntriesFrom(1, 1, 1, 1, 1, 2, 2));
        Raft follower = NewRaft(2, 10, 1, followerStorage);
        follower.LoadStateForTest(new HardState { Term = 5, Commit = 1 });

        var network = Network.Create(leader, follower);
        int rejections = 0;
        network.MessageHook = m =>
        {
            if (m.Type == MessageType.MsgAppResp && m.Reject)
            {
                rejections++;
            }

            return true;
        };
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal(leader.Log.LastIndex(), follower.Log.LastIndex());
        Assert.Equal(leader.Log.LastTerm(), follower.Log.LastTerm());

        // One rejection at the tip, then the hint lands at index 1 (term 1 <= 2): no index-by-index walk.
        Assert.Equal(1, rejections);
    }

    [Fact]
    public void ReportUnreachable_Replicating_FallsBackToProbe()
    {
        Raft r = Leader();
        r.Tracker.Progress[2].BecomeReplicate();
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgUnreachable });
        Assert.Equal(ProgressState.Probe, r.Tracker.Progress[2].State);
    }

    [Fact]
    public void Probe_HeartbeatResponseFromCaughtUpFollower_ReturnsToReplicate()
    {
        Raft r = Leader();
        Progress pr = r.Tracker.Progress[2];
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = r.Log.LastIndex() });
        Assert.Equal(ProgressState.Replicate, pr.State);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgUnreachable });
        Assert.Equal(ProgressState.Probe, pr.State);
        r.ReadMessages();

        // The heartbeat response prompts an (empty) append whose ack at Match moves back to Replicate.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgHeartbeatResp, Term = r.Term });
        Message append = Assert.Single(r.ReadMessages());
        r.Step(AcceptAndReply(append));
        Assert.Equal(ProgressState.Replicate, pr.State);
    }

    [Fact]
    public void Proposal_OnFollower_IsForwardedToLeader()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network.Send(Proposal(2, 2));
        Assert.Equal(2UL, network[1].Log.Committed);
        Assert.Equal(2UL, network[3].Log.Committed);
    }

    [Fact]
    public void Proposal_ForwardingDisabled_Throws()
    {
        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, disableProposalForwarding: true), null, null, null);
        network.Send(Hup(1));
        Assert.Throws<ProposalDroppedException>(() => network[2].Step(Proposal(2, 2)));
        Assert.Equal(1UL, network[1].Log.Committed);
    }

    [Fact]
    public void Proposal_NoLeader_Throws()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        Assert.Throws<ProposalDroppedException>(() => r.Step(Proposal(1, 1)));
        r.BecomeCandidate();
        Assert.Throws<ProposalDroppedException>(() => r.Step(Proposal(1, 1)));
    }

    [Fact]
    public void Heartbeat_CommitCappedAtFollowerMatch()
    {
        Raft r = Leader();
        r.Step(Proposal(1, 1));
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = r.Log.LastIndex() });
        r.ReadMessages();
        r.Tracker.Progress[2].Match = 1;
        r.BroadcastHeartbeatForTest();
        Message heartbeat = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgHeartbeat, heartbeat.Type);
        Assert.Equal(1UL, heartbeat.Commit);
    }
}
