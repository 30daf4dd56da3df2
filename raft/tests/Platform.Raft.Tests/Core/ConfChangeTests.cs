using Google.Protobuf;
using Platform.Raft.ConfChanges;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>Membership changes, learners and StepDownOnRemoval (etcd's TestAddNode, TestStepConfig, TestLearner*...).</summary>
public class ConfChangeTests
{
    private static Message ConfChangeProposal(ConfChange change)
    {
        var m = new Message { From = 1, To = 1, Type = MessageType.MsgProp };
        m.Entries.Add(new Entry { Type = EntryType.EntryConfChange, Data = change.ToByteString() });
        return m;
    }

    [Fact]
    public void ProposeConfChange_OnLeader_SetsPendingConfIndex()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.BecomeCandidate();
        r.BecomeLeader();
        ulong index = r.Log.LastIndex();
        r.Step(ConfChangeProposal(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 }));
        Assert.Equal(index + 1, r.Log.LastIndex());
        Assert.Equal(index + 1, r.PendingConfIndex);
    }

    [Fact]
    public void ProposeConfChange_WhileOneIsPending_BecomesEmptyNormalEntry()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Step(ConfChangeProposal(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 }));
        r.Step(ConfChangeProposal(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 4 }));
        Entry last = r.Log.Entries(r.Log.LastIndex(), ulong.MaxValue)[0];
        Assert.Equal(EntryType.EntryNormal, last.Type);
        Assert.True(last.Data.IsEmpty);
    }

    [Fact]
    public void ProposeConfChange_ValidationDisabled_KeepsSecondChange()
    {
        Raft r = new(Config(1, 10, 1, NewStorage(1, 2), disableConfChangeValidation: true));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Step(ConfChangeProposal(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 }));
        r.Step(ConfChangeProposal(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 4 }));
        Assert.Equal(EntryType.EntryConfChange, r.Log.Entries(r.Log.LastIndex(), ulong.MaxValue)[0].Type);
    }

    [Theory]
    [InlineData("", false)] // leaving joint while not joint
    [InlineData("v3", true)]
    public void ProposeConfChangeV2_JointStateChecks_RefuseInvalidTransitions(string changes, bool expectKept)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.NextEntries((MemoryStorage)r.Log.Storage);
        var m = new Message { From = 1, To = 1, Type = MessageType.MsgProp };
        m.Entries.Add(new Entry { Type = EntryType.EntryConfChangeV2, Data = ConfChangeTestExtensions.V2(changes).ToByteString() });
        r.Step(m);
        Assert.Equal(expectKept ? EntryType.EntryConfChangeV2 : EntryType.EntryNormal, r.Log.Entries(r.Log.LastIndex(), ulong.MaxValue)[0].Type);
    }

    [Fact]
    public void AddNode_ThenRemove_UpdatesVoters()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1));
        r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 2 }.AsV2());
        Assert.Equal(new ulong[] { 1, 2 }, r.Tracker.VoterNodes());
        r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = 2 }.AsV2());
        Assert.Equal(new ulong[] { 1 }, r.Tracker.VoterNodes());
    }

    [Fact]
    public void RemoveNode_QuorumShrinks_CommitsPendingEntry()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        ulong committed = r.Log.Committed;
        r.Step(Proposal(1, 1));
        r.ReadMessages();
        Assert.Equal(committed, r.Log.Committed);

        // Node 2 never acked: removing it leaves 1 alone, which commits everything.
        r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = 2 }.AsV2());
        Assert.Equal(r.Log.LastIndex(), r.Log.Committed);
    }

    [Fact]
    public void AddLearner_Leader_ReplicatesButDoesNotCountTowardsQuorum()
    {
        var network = Network.Create(
            NewRaft(1, 10, 1, NewStorage([1], [2])),
            NewRaft(2, 10, 1, NewStorage([1], [2])));
        network.Send(Hup(1));
        Assert.Equal(StateType.Leader, network[1].State);
        network.Send(Proposal(1, 1));
        Assert.Equal(network[1].Log.Committed, network[2].Log.Committed);
        Assert.True(network[1].Tracker.Progress[2].IsLearner);
        Assert.True(network[2].IsLearner);

        // Promote the learner: it can then campaign.
        foreach (Raft r in new[] { network[1], network[2] })
        {
            r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 2 }.AsV2());
        }

        Assert.False(network[2].IsLearner);
        network.Send(Hup(2));
        Assert.Equal(StateType.Leader, network[2].State);
    }

    [Theory]
    [InlineData(true, StateType.Follower)]
    [InlineData(false, StateType.Leader)]
    public void RemoveLeader_StepDownOnRemoval_DecidesWhetherLeaderStepsDown(bool stepDown, StateType expected)
    {
        Raft r = new(Config(1, 10, 1, NewStorage(1, 2), stepDownOnRemoval: stepDown));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = 1 }.AsV2());
        Assert.Equal(expected, r.State);
        if (!stepDown)
        {
            // A removed leader accepts no more proposals.
            Assert.Throws<ProposalDroppedException>(() => r.Step(Proposal(1, 1)));
        }
    }

    [Fact]
    public void DemoteLeaderToLearner_StepDownOnRemoval_StepsDown()
    {
        Raft r = new(Config(1, 10, 1, NewStorage(1, 2), stepDownOnRemoval: true));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ApplyConfChange(ConfChangeTestExtensions.V2("l1", ConfChangeTransition.JointExplicit));
        r.ApplyConfChange(new ConfChangeV2());
        Assert.Equal(StateType.Follower, r.State);
        Assert.True(r.IsLearner);
    }

    [Fact]
    public void NewLeader_PendingConfIndex_IsItsLastIndex()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1));
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeCandidate();
        r.BecomeLeader();
        Assert.Equal(3UL, r.PendingConfIndex);
    }

    [Fact]
    public void Campaign_UnappliedCommittedConfChange_IsRefused()
    {
        MemoryStorage storage = NewStorage(1, 2);
        var change = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 };
        storage.Append([new Entry { Index = 1, Term = 1, Type = EntryType.EntryConfChange, Data = change.ToByteString() }]);
        storage.SetHardState(new HardState { Term = 1, Commit = 1 });
        Raft r = NewRaft(1, 10, 1, storage);
        r.Step(Hup(1));
        Assert.Equal(StateType.Follower, r.State);
        r.Log.AppliedTo(1, 0);
        r.Step(Hup(1));
        Assert.Equal(StateType.Candidate, r.State);
    }

    [Fact]
    public void ApplyConfChange_Invalid_ThrowsConfChangeException()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        Assert.Throws<ConfChangeException>(() => r.ApplyConfChange(new ConfChangeV2()));
    }
}
