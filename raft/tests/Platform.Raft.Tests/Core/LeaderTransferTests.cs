using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>Leader transfer (etcd's TestLeaderTransfer*; Raft thesis §3.10).</summary>
public class LeaderTransferTests
{
    private static Message Transfer(ulong transferee, ulong to) => new() { From = transferee, To = to, Type = MessageType.MsgTransferLeader };

    private static Network ElectedCluster()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        return network;
    }

    [Fact]
    public void TransferLeader_ToUpToDateFollower_TransfersAtOnce()
    {
        Network network = ElectedCluster();
        network.Send(Transfer(2, 1));
        Assert.Equal(StateType.Follower, network[1].State);
        Assert.Equal(StateType.Leader, network[2].State);
        Assert.Equal(2UL, network[1].Lead);
        Assert.Equal(RaftConstants.None, network[2].LeadTransferee);
    }

    [Fact]
    public void TransferLeader_RequestedOnFollower_IsForwardedToLeader()
    {
        Network network = ElectedCluster();
        network.Send(Transfer(2, 2));
        Assert.Equal(StateType.Leader, network[2].State);
    }

    [Fact]
    public void TransferLeader_ToSlowFollower_CatchesItUpFirst()
    {
        Network network = ElectedCluster();
        network.Isolate(3);
        network.Send(Proposal(1, 1));
        network.Recover();
        Assert.Equal(1UL, network[1].Tracker.Progress[3].Match);
        network.Send(Transfer(3, 1));
        Assert.Equal(StateType.Leader, network[3].State);
        Assert.Equal(StateType.Follower, network[1].State);
    }

    [Fact]
    public void TransferLeader_TransfereeUnreachable_AbortsAfterElectionTimeout()
    {
        Network network = ElectedCluster();
        network.Isolate(3);
        Raft leader = network[1];
        network.Send(Transfer(3, 1));
        Assert.Equal(3UL, leader.LeadTransferee);
        for (int i = 0; i < 10; i++)
        {
            leader.Tick();
            leader.ReadMessages();
        }

        Assert.Equal(RaftConstants.None, leader.LeadTransferee);
        Assert.Equal(StateType.Leader, leader.State);
    }

    [Fact]
    public void TransferLeader_InProgress_DropsProposals()
    {
        Network network = ElectedCluster();
        network.Isolate(3);
        network.Send(Transfer(3, 1));
        Assert.Throws<ProposalDroppedException>(() => network[1].Step(Proposal(1, 1)));
        Assert.Equal(1UL, network[1].Tracker.Progress[1].Match);
    }

    [Fact]
    public void TransferLeader_ToSelf_IsIgnored()
    {
        Network network = ElectedCluster();
        network.Send(Transfer(1, 1));
        Assert.Equal(StateType.Leader, network[1].State);
        Assert.Equal(RaftConstants.None, network[1].LeadTransferee);
    }

    [Fact]
    public void TransferLeader_ToUnknownNode_IsIgnored()
    {
        Network network = ElectedCluster();
        network.Send(Transfer(4, 1));
        Assert.Equal(StateType.Leader, network[1].State);
        Assert.Equal(RaftConstants.None, network[1].LeadTransferee);
    }

    [Fact]
    public void TransferLeader_SecondRequestToOtherNode_ReplacesFirst()
    {
        Network network = ElectedCluster();
        network.Isolate(3);
        network.Send(Transfer(3, 1));
        Assert.Equal(3UL, network[1].LeadTransferee);
        network.Send(Transfer(2, 1));
        Assert.Equal(StateType.Leader, network[2].State);
    }

    [Fact]
    public void TransferLeader_TransfereeRemovedFromConfig_AbortsTransfer()
    {
        Network network = ElectedCluster();
        network.Isolate(3);
        network.Send(Transfer(3, 1));
        network[1].ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = 3 }.AsV2Change());
        Assert.Equal(RaftConstants.None, network[1].LeadTransferee);
    }

    [Fact]
    public void TimeoutNow_OnCandidate_IsIgnored()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.BecomeCandidate();
        ulong term = r.Term;
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgTimeoutNow, Term = term });
        Assert.Equal(term, r.Term);
        Assert.Equal(StateType.Candidate, r.State);
    }
}
