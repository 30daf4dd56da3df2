using Google.Protobuf;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>The RawNode API and the Ready/Advance contract (etcd's rawnode_test.go).</summary>
public class RawNodeTests
{
    private static (RawNode Node, MemoryStorage Storage) SingleNode(Func<MemoryStorage, RaftConfig>? configure = null)
    {
        MemoryStorage storage = NewStorage(1);
        var node = new RawNode(configure is null ? Config(1, 10, 1, storage) : configure(storage));
        return (node, storage);
    }

    private static void Persist(MemoryStorage storage, Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            storage.ApplySnapshot(ready.Snapshot);
        }

        storage.Append(ready.Entries);
        if (ready.HardState is not null)
        {
            storage.SetHardState(ready.HardState);
        }
    }

    [Fact]
    public void Campaign_SingleNode_SelfVoteCountsOnlyAfterAdvance()
    {
        (RawNode node, MemoryStorage storage) = SingleNode();
        node.Campaign();

        // The self-vote waits for the vote to be durable: still a candidate in the first Ready.
        Ready ready = node.GetReady();
        Assert.Equal(new SoftState(RaftConstants.None, StateType.Candidate), ready.SoftState);
        Assert.Equal(new HardState { Term = 1, Vote = 1, Commit = 0 }, ready.HardState);
        Assert.Empty(ready.Entries);
        Assert.True(ready.MustSync);
        Persist(storage, ready);
        node.Advance(ready);

        // Elected: the empty entry of the term, to persist.
        Ready second = node.GetReady();
        Assert.Equal(new SoftState(1, StateType.Leader), second.SoftState);
        Assert.Equal(1UL, Assert.Single(second.Entries).Index);
        Assert.Empty(second.CommittedEntries);
        Persist(storage, second);
        node.Advance(second);

        // Once our own append is durable the entry commits.
        Ready third = node.GetReady();
        Assert.Equal(1UL, third.HardState!.Commit);
        Assert.Equal(1UL, Assert.Single(third.CommittedEntries).Index);
        Assert.False(third.MustSync);
        node.Advance(third);
        Assert.False(node.HasReady());
    }

    [Fact]
    public void Propose_AfterElection_EntryIsCommittedAndApplied()
    {
        (RawNode node, MemoryStorage storage) = SingleNode();
        node.Campaign();
        while (node.HasReady())
        {
            Ready rd = node.GetReady();
            Persist(storage, rd);
            node.Advance(rd);
        }

        node.Propose(ByteString.CopyFromUtf8("foo"));
        Ready ready = node.GetReady();
        Assert.Equal("foo", Assert.Single(ready.Entries).Data.ToStringUtf8());
        Persist(storage, ready);
        node.Advance(ready);
        Ready committed = node.GetReady();
        Assert.Equal("foo", Assert.Single(committed.CommittedEntries).Data.ToStringUtf8());
        node.Advance(committed);
        Assert.Equal(2UL, node.BasicStatus().Applied);
    }

    [Fact]
    public void GetReady_TwiceWithoutAdvance_Throws()
    {
        (RawNode node, _) = SingleNode();
        node.Campaign();
        node.GetReady();
        Assert.Throws<InvalidOperationException>(() => node.GetReady());
    }

    [Fact]
    public void HasReady_FreshNode_IsFalse()
    {
        (RawNode node, _) = SingleNode();
        Assert.False(node.HasReady());
        node.Tick();
        Assert.False(node.HasReady());
    }

    [Fact]
    public void Step_LocalMessageType_ThrowsStepLocalMessage()
    {
        (RawNode node, _) = SingleNode();
        Assert.Throws<StepLocalMessageException>(() => node.Step(new Message { Type = MessageType.MsgHup, From = 2 }));
        Assert.Throws<StepLocalMessageException>(() => node.Step(new Message { Type = MessageType.MsgStorageAppendResp, From = 2 }));
    }

    [Fact]
    public void Step_ResponseFromUnknownPeer_ThrowsPeerNotFound()
    {
        (RawNode node, _) = SingleNode();
        Assert.Throws<StepPeerNotFoundException>(() => node.Step(new Message { Type = MessageType.MsgAppResp, From = 7, Term = 1 }));
    }

    [Fact]
    public void Bootstrap_EmptyStorage_CommitsConfChangesForPeers()
    {
        var storage = new MemoryStorage();
        var node = new RawNode(Config(1, 10, 1, storage));
        node.Bootstrap([1, 2, 3]);
        Ready ready = node.GetReady();
        Assert.Equal(3, ready.Entries.Count);
        Assert.All(ready.Entries, e => Assert.Equal(EntryType.EntryConfChange, e.Type));
        Assert.Equal(new HardState { Term = 1, Commit = 3 }, ready.HardState);
        Assert.Equal(3, ready.CommittedEntries.Count);
        Assert.Equal(new ulong[] { 1, 2, 3 }, node.Status().Config.Voters);
    }

    [Fact]
    public void Bootstrap_NonEmptyStorage_Throws()
    {
        (RawNode node, MemoryStorage storage) = SingleNode();
        storage.Append([Entry(1, 1)]);
        Assert.Throws<InvalidOperationException>(() => node.Bootstrap([1]));
        Assert.Throws<ArgumentException>(() => new RawNode(Config(1, 10, 1, new MemoryStorage())).Bootstrap([]));
    }

    [Fact]
    public void Restart_FromStorage_RecoversStateAndSkipsApplied()
    {
        MemoryStorage storage = NewStorage(1);
        storage.Append(EntriesFrom(1, 1, 1, 1));
        storage.SetHardState(new HardState { Term = 1, Commit = 3 });
        var node = new RawNode(Config(1, 10, 1, storage, applied: 1));
        Ready ready = node.GetReady();
        Assert.Null(ready.HardState);
        Assert.Equal(new ulong[] { 2, 3 }, ready.CommittedEntries.Select(e => e.Index));
        Assert.False(ready.MustSync);
    }

    [Fact]
    public void MustSync_VoteChange_IsTrue()
    {
        MemoryStorage storage = NewStorage(1, 2);
        var node = new RawNode(Config(1, 10, 1, storage));
        node.Campaign();
        Ready ready = node.GetReady();
        Assert.True(ready.MustSync);
        Assert.Equal(1UL, ready.HardState!.Vote);
        Assert.Empty(ready.Entries);
    }

    [Fact]
    public void ApplyConfChangeV1_AddNode_ReturnsNewConfState()
    {
        (RawNode node, _) = SingleNode();
        ConfState confState = node.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 2 });
        Assert.Equal(new ulong[] { 1, 2 }, confState.Voters);
        confState = node.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddLearnerNode, NodeId = 3 });
        Assert.Equal(new ulong[] { 3 }, confState.Learners);
    }

    [Fact]
    public void ProposeConfChangeV2_AutoLeave_LeaderLeavesJointConfigOnItsOwn()
    {
        var cluster = new RawNodeCluster(1);
        RawNodePeer peer = cluster[1];
        peer.Node.Campaign();
        cluster.Stabilize();
        peer.Node.ProposeConfChange(ConfChangeTestExtensions.V2("l2 l3"));
        cluster.Stabilize();

        // Entered joint (several changes), applied, then the empty V2 was proposed and applied.
        ConfState confState = peer.Node.Status().Config;
        Assert.Equal(new ulong[] { 1 }, confState.Voters);
        Assert.Equal(new ulong[] { 2, 3 }, confState.Learners);
        Assert.Empty(confState.VotersOutgoing);
        Assert.False(confState.AutoLeave);
        Assert.Contains(peer.Applied, e => e.Type == EntryType.EntryConfChangeV2 && e.Data.IsEmpty);
    }

    [Fact]
    public void ProposeConfChangeV2_ExplicitLeave_StaysJointUntilEmptyChange()
    {
        var cluster = new RawNodeCluster(1);
        RawNodePeer peer = cluster[1];
        peer.Node.Campaign();
        cluster.Stabilize();
        peer.Node.ProposeConfChange(ConfChangeTestExtensions.V2("l2", ConfChangeTransition.JointExplicit));
        cluster.Stabilize();
        ConfState joint = peer.Node.Status().Config;
        Assert.Equal(new ulong[] { 1 }, joint.VotersOutgoing);
        Assert.Equal(new ulong[] { 2 }, joint.Learners);

        peer.Node.ProposeConfChange(new ConfChangeV2());
        cluster.Stabilize();
        Assert.Empty(peer.Node.Status().Config.VotersOutgoing);
    }

    [Fact]
    public void Status_Leader_IncludesProgressOfEveryPeer()
    {
        var cluster = new RawNodeCluster(3);
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        RaftStatus status = cluster[1].Node.Status();
        Assert.Equal(StateType.Leader, status.SoftState.RaftState);
        Assert.Equal(new ulong[] { 1, 2, 3 }, status.Progress.Keys.Order());
        Assert.All(status.Progress.Values, p => Assert.Equal(1UL, p.Match));
        Assert.Empty(cluster[2].Node.Status().Progress);
        Assert.Equal(1UL, cluster[2].Node.BasicStatus().SoftState.Lead);
    }

    [Fact]
    public void ReadIndex_ThroughRawNode_AppearsInReady()
    {
        var cluster = new RawNodeCluster(3);
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        var readStates = new List<ReadState>();
        cluster[2].OnReady = ready => readStates.AddRange(ready.ReadStates);
        cluster[2].Node.ReadIndex(ByteString.CopyFromUtf8("req"));
        cluster.Stabilize();
        ReadState readState = Assert.Single(readStates);
        Assert.Equal("req", readState.RequestContext.ToStringUtf8());
        Assert.Equal(1UL, readState.Index);
    }

    [Fact]
    public void MaxCommittedBytesPerReady_LimitsCommittedEntriesPerReady()
    {
        ulong entryBytes = (ulong)Entry(2, 1, "aaaa").CalculateSize();
        var cluster = new RawNodeCluster(1, (id, s) => Config(id, 10, 1, s, maxCommittedBytesPerReady: 2 * entryBytes));
        RawNodePeer peer = cluster[1];
        peer.Node.Campaign();
        cluster.Stabilize();
        int maxCommitted = 0;
        peer.OnReady = ready => maxCommitted = Math.Max(maxCommitted, ready.CommittedEntries.Count);
        peer.Node.ProposeBatch([.. Enumerable.Range(0, 10).Select(_ => ByteString.CopyFromUtf8("aaaa"))]);
        cluster.Stabilize();
        Assert.Equal(11, peer.Applied.Count);
        Assert.True(maxCommitted <= 2, $"a Ready carried {maxCommitted} committed entries");
    }

    [Fact]
    public void AsyncStorageWrites_ReadyCarriesStorageMessagesAndAdvanceThrows()
    {
        (RawNode node, _) = SingleNode(s => Config(1, 10, 1, s, asyncStorageWrites: true));
        node.Campaign();
        Ready ready = node.GetReady();
        Message append = Assert.Single(ready.Messages, m => m.To == RaftConstants.LocalAppendThread);
        Assert.Equal(MessageType.MsgStorageAppend, append.Type);
        Assert.Equal(1UL, append.Term);
        Assert.Equal(1UL, append.Vote);

        // The vote response to ourselves is delivered by the append thread once the vote is durable.
        Message vote = Assert.Single(append.Responses);
        Assert.Equal(MessageType.MsgVoteResp, vote.Type);
        Assert.Equal(1UL, vote.To);
        Assert.Throws<InvalidOperationException>(() => node.Advance(ready));

        node.Step(vote);
        Ready elected = node.GetReady();
        Message entries = Assert.Single(elected.Messages, m => m.To == RaftConstants.LocalAppendThread);
        Assert.Single(entries.Entries);
        Assert.Contains(entries.Responses, r => r.Type == MessageType.MsgAppResp && r.To == 1);
        Assert.Equal(MessageType.MsgStorageAppendResp, entries.Responses[^1].Type);
    }

    [Fact]
    public void AsyncStorageWrites_EntriesCommitOnlyAfterAppendThreadResponds()
    {
        var cluster = new RawNodeCluster(1, (id, s) => Config(id, 10, 1, s, asyncStorageWrites: true));
        RawNodePeer peer = cluster[1];
        peer.Node.Campaign();
        cluster.Stabilize();
        Assert.Single(peer.Applied);

        peer.Node.Propose(ByteString.CopyFromUtf8("x"));
        cluster.Deliver(peer.HandleReady());
        Assert.Single(peer.AppendThread);
        Assert.Equal(1UL, peer.Node.BasicStatus().HardState.Commit);

        // The write completes: only now does the entry commit and go to the apply thread.
        cluster.Deliver(peer.RunAppendThread());
        Assert.Equal(2UL, peer.Node.BasicStatus().HardState.Commit);
        cluster.Stabilize();
        Assert.Equal(2, peer.Applied.Count);
        Assert.Equal(2UL, peer.Node.BasicStatus().Applied);
    }

    [Fact]
    public void AsyncStorageWrites_ThreeNodes_ReplicateAndApplyEverywhere()
    {
        var cluster = new RawNodeCluster(3, (id, s) => Config(id, 10, 1, s, asyncStorageWrites: true));
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        for (int i = 0; i < 5; i++)
        {
            cluster[1].Node.Propose(ByteString.CopyFromUtf8($"v{i}"));
        }

        cluster.Stabilize();
        foreach (RawNodePeer peer in cluster.Peers.Values)
        {
            Assert.Equal(6, peer.Applied.Count);
            Assert.Equal(6UL, peer.Storage.LastIndex());
        }
    }

    [Fact]
    public void TransferLeader_ThroughRawNode_MovesLeadership()
    {
        var cluster = new RawNodeCluster(3);
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        cluster[1].Node.TransferLeader(3);
        cluster.Stabilize();
        Assert.Equal(StateType.Leader, cluster[3].Node.BasicStatus().SoftState.RaftState);
    }

    [Fact]
    public void ReportSnapshotAndUnreachable_OnFollower_AreHarmless()
    {
        (RawNode node, _) = SingleNode();
        node.ReportUnreachable(2);
        node.ReportSnapshot(2, SnapshotStatus.Failure);
        Assert.False(node.HasReady());
    }

    [Fact]
    public void Constructor_InvalidConfig_ThrowsWithEtcdMessage()
    {
        var storage = new MemoryStorage();
        Assert.Equal("cannot use none as id", Assert.Throws<ArgumentException>(() => new RawNode(Config(0, 10, 1, storage))).Message);
        Assert.Equal("election tick must be greater than heartbeat tick", Assert.Throws<ArgumentException>(() => new RawNode(Config(1, 1, 1, storage))).Message);
        Assert.Equal(
            "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased",
            Assert.Throws<ArgumentException>(() => new RawNode(Config(1, 10, 1, storage, readOnly: ReadOnlyOption.LeaseBased))).Message);
        Assert.Equal("max inflight bytes must be >= max message size", Assert.Throws<ArgumentException>(() => new RawNode(Config(1, 10, 1, storage, maxMessageBytes: 100, maxInflightBytes: 10))).Message);
    }

    [Fact]
    public void DescribeReady_ElectedLeader_IsStableText()
    {
        (RawNode node, _) = SingleNode();
        node.Campaign();
        node.Advance(node.GetReady());
        string text = RaftDescribe.DescribeReady(node.GetReady());
        Assert.Equal("Ready MustSync=true:\nLead:1 State:StateLeader\nEntries:\n1/1 EntryNormal \"\"\n", text);
    }

    [Fact]
    public void DescribeMessage_AppendWithEntry_MatchesEtcdFormat()
    {
        var m = new Message { From = 1, To = 2, Type = MessageType.MsgApp, Term = 1, LogTerm = 1, Index = 10, Commit = 10 };
        m.Entries.Add(Entry(11, 1, "foo"));
        Assert.Equal("1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal \"foo\"]", RaftDescribe.DescribeMessage(m));
        var cc = new Entry { Index = 12, Term = 1, Type = EntryType.EntryConfChangeV2, Data = ConfChangeTestExtensions.V2("v2 l3").ToByteString() };
        Assert.Equal("1/12 EntryConfChangeV2 v2 l3", RaftDescribe.DescribeEntry(cc));
        var reject = new Message { From = 2, To = RaftConstants.LocalAppendThread, Type = MessageType.MsgAppResp, Term = 2, Reject = true, RejectHint = 5 };
        Assert.Equal("2->AppendThread MsgAppResp Term:2 Log:0/0 Rejected (Hint: 5)", RaftDescribe.DescribeMessage(reject));
    }
}
