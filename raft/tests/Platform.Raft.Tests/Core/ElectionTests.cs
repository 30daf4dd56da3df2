using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>Elections, PreVote, CheckQuorum and ForgetLeader through the in-memory network (etcd's raft_test.go).</summary>
public class ElectionTests
{
    private static Func<ulong, MemoryStorage, RaftConfig> Configure(bool preVote = false, bool checkQuorum = false, ReadOnlyOption readOnly = ReadOnlyOption.Safe) =>
        (id, storage) => Config(id, 10, 1, storage, preVote: preVote, checkQuorum: checkQuorum, readOnly: readOnly);

    public static TheoryData<bool, int, int, StateType, ulong> ElectionCases() => new()
    {
        // preVote, size, black holes (highest ids), expected state of node 1, expected term.
        { false, 3, 0, StateType.Leader, 1 },
        { false, 3, 1, StateType.Leader, 1 },
        { false, 3, 2, StateType.Candidate, 1 },
        { false, 4, 2, StateType.Candidate, 1 },
        { false, 5, 2, StateType.Leader, 1 },
        { true, 3, 0, StateType.Leader, 1 },
        { true, 3, 1, StateType.Leader, 1 },
        { true, 3, 2, StateType.PreCandidate, 0 },
        { true, 5, 3, StateType.PreCandidate, 0 },
    };

    [Theory]
    [MemberData(nameof(ElectionCases))]
    public void Campaign_WithUnreachableVoters_WinsOnlyWithQuorum(bool preVote, int size, int blackHoles, StateType expectedState, ulong expectedTerm)
    {
        object?[] peers = new object?[size];
        for (int i = size - blackHoles; i < size; i++)
        {
            peers[i] = Network.BlackHole;
        }

        var network = Network.CreateWithConfig(Configure(preVote: preVote), peers);
        network.Send(Hup(1));
        Assert.Equal(expectedState, network[1].State);
        Assert.Equal(expectedTerm, network[1].Term);
    }

    [Fact]
    public void Campaign_EachNodeInTurn_BecomesLeaderAndOthersFollow()
    {
        var network = Network.Create(null, null, null);
        for (ulong campaigner = 1; campaigner <= 3; campaigner++)
        {
            network.Send(Hup(campaigner));
            foreach ((ulong id, Raft? r) in network.Peers)
            {
                Assert.Equal(id == campaigner ? StateType.Leader : StateType.Follower, r!.State);
                Assert.Equal(campaigner, r.Lead);
            }
        }
    }

    [Fact]
    public void Campaign_SingleNode_BecomesLeaderAtOnce()
    {
        var network = Network.Create(new object?[] { null });
        network.Send(Hup(1));
        Assert.Equal(StateType.Leader, network[1].State);
    }

    [Fact]
    public void DuellingCandidates_PartitionHeals_LogIsAuthoritative()
    {
        Raft a = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        Raft b = NewRaft(2, 10, 1, NewStorage(1, 2, 3));
        Raft c = NewRaft(3, 10, 1, NewStorage(1, 2, 3));
        var network = Network.Create(a, b, c);
        network.Cut(1, 3);
        network.Send(Hup(1));
        network.Send(Hup(3));

        // 1 wins with 2's vote; 3 stays candidate.
        Assert.Equal(StateType.Leader, a.State);
        Assert.Equal(StateType.Candidate, c.State);

        network.Recover();

        // 3 campaigns at term 2 but its log (no entries) is behind 1's and 2's (the empty entry).
        network.Send(Hup(3));
        Assert.Equal(StateType.Follower, a.State);
        Assert.Equal(StateType.Follower, b.State);
        Assert.Equal(StateType.Follower, c.State);
        Assert.Equal(2UL, c.Term);
        Assert.Equal(1UL, a.Log.Committed);
        Assert.Equal(0UL, c.Log.Committed);
    }

    [Fact]
    public void Candidate_ConcedesToHigherTermLeader()
    {
        var network = Network.Create(null, null, null);
        network.Isolate(1);
        network.Send(Hup(2));
        network.Send(Hup(1));
        Assert.Equal(StateType.Leader, network[2].State);
        Assert.Equal(StateType.Candidate, network[1].State);
        network.Recover();
        network.Send(new Message { From = 2, To = 2, Type = MessageType.MsgBeat });
        Assert.Equal(StateType.Follower, network[1].State);
        Assert.Equal(2UL, network[1].Lead);
    }

    [Fact]
    public void PreVote_IsolatedNodeRejoins_DoesNotDisruptLeader()
    {
        var network = Network.CreateWithConfig(Configure(preVote: true), null, null, null);
        network.Send(Hup(1));
        network.Isolate(3);
        for (int i = 0; i < 5; i++)
        {
            network.Send(Hup(3));
        }

        Assert.Equal(StateType.PreCandidate, network[3].State);
        Assert.Equal(1UL, network[3].Term);
        network.Recover();
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal(StateType.Leader, network[1].State);
        Assert.Equal(1UL, network[1].Term);
        Assert.Equal(StateType.Follower, network[3].State);
    }

    [Fact]
    public void WithoutPreVote_IsolatedNodeRejoins_ForcesNewElection()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network.Isolate(3);
        network.Send(Hup(3));
        network.Send(Hup(3));
        Assert.Equal(3UL, network[3].Term);
        network.Recover();

        // Its next campaign, at an even higher term, deposes the healthy leader.
        network.Send(Hup(3));
        Assert.NotEqual(StateType.Leader, network[1].State);
        Assert.Equal(4UL, network[1].Term);
        Assert.Equal(StateType.Leader, network[3].State);
    }

    [Fact]
    public void PreVote_GrantedResponse_KeepsTermUntilQuorum()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        var withPreVote = new Raft(Config(1, 10, 1, NewStorage(1, 2, 3), preVote: true));
        withPreVote.Step(Hup(1));
        Assert.Equal(StateType.PreCandidate, withPreVote.State);
        Assert.Equal(0UL, withPreVote.Term);
        List<Message> requests = withPreVote.ReadMessages();
        Assert.All(requests, m =>
        {
            Assert.Equal(MessageType.MsgPreVote, m.Type);
            Assert.Equal(1UL, m.Term);
        });
        withPreVote.Step(new Message { From = 2, To = 1, Type = MessageType.MsgPreVoteResp, Term = 1 });
        Assert.Equal(StateType.Candidate, withPreVote.State);
        Assert.Equal(1UL, withPreVote.Term);
        _ = r;
    }

    [Fact]
    public void PreVote_FromLowerTermCandidate_IsRejectedExplicitly()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.BecomeFollower(5, RaftConstants.None);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgPreVote, Term = 3, LogTerm = 1, Index = 10 });
        Message response = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgPreVoteResp, response.Type);
        Assert.True(response.Reject);
        Assert.Equal(5UL, response.Term);
    }

    [Fact]
    public void PreVote_ForFutureTerm_DoesNotChangeVoterTermOrVote()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.BecomeFollower(2, RaftConstants.None);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgPreVote, Term = 3 });
        Message response = Assert.Single(r.ReadMessages());
        Assert.False(response.Reject);
        Assert.Equal(3UL, response.Term);
        Assert.Equal(2UL, r.Term);
        Assert.Equal(RaftConstants.None, r.Vote);
    }

    [Fact]
    public void CheckQuorum_LeaderLosesQuorum_StepsDownAfterElectionTimeout()
    {
        var network = Network.CreateWithConfig(Configure(checkQuorum: true), null, null, null);
        network.Send(Hup(1));
        Raft leader = network[1];
        Assert.Equal(StateType.Leader, leader.State);
        network.Isolate(1);
        for (int i = 0; i < 2 * 10; i++)
        {
            leader.Tick();
            leader.ReadMessages();
        }

        Assert.Equal(StateType.Follower, leader.State);
    }

    [Fact]
    public void CheckQuorum_LeaderHearsFromQuorum_StaysLeader()
    {
        var network = Network.CreateWithConfig(Configure(checkQuorum: true), null, null, null);
        network.Send(Hup(1));
        for (int i = 0; i < 3 * 10; i++)
        {
            network[1].Tick();
            network.Send(network[1].ReadMessages().ToArray());
        }

        Assert.Equal(StateType.Leader, network[1].State);
    }

    [Fact]
    public void CheckQuorum_FollowerInLease_IgnoresVoteRequest()
    {
        var network = Network.CreateWithConfig(Configure(checkQuorum: true), null, null, null);
        network.Send(Hup(1));
        Raft follower = network[2];

        // 3 campaigns at a higher term while 2 still hears from its leader: 2 neither bumps its
        // term nor votes.
        follower.Step(new Message { From = 3, To = 2, Type = MessageType.MsgVote, Term = 5, LogTerm = 1, Index = 1 });
        Assert.Equal(1UL, follower.Term);
        Assert.Empty(follower.ReadMessages());

        // A transfer campaign overrides the lease.
        follower.Step(new Message { From = 3, To = 2, Type = MessageType.MsgVote, Term = 5, LogTerm = 1, Index = 1, Context = Raft.CampaignTransferContext });
        Assert.Equal(5UL, follower.Term);
        Assert.False(Assert.Single(follower.ReadMessages()).Reject);
    }

    [Fact]
    public void CheckQuorum_StaleLeaderMessage_AnsweredWithCurrentTerm()
    {
        Raft r = new(Config(1, 10, 1, NewStorage(1, 2, 3), checkQuorum: true));
        r.BecomeFollower(5, RaftConstants.None);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgHeartbeat, Term = 3 });
        Message response = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgAppResp, response.Type);
        Assert.Equal(5UL, response.Term);
        Assert.Equal(2UL, response.To);
    }

    [Fact]
    public void ForgetLeader_PreVoteAndCheckQuorum_GrantsPreVoteWithoutWaitingForLease()
    {
        var network = Network.CreateWithConfig(Configure(preVote: true, checkQuorum: true), null, null, null);
        network.Send(Hup(1));
        network.Isolate(1);

        // 2 still honours 1's lease and ignores 3's pre-vote: 3 cannot win.
        network.Send(Hup(3));
        Assert.Equal(StateType.PreCandidate, network[3].State);
        Assert.Equal(1UL, network[3].Term);

        // Once 2 forgets the leader, the pre-vote (and the vote) succeed at once.
        network[2].Step(new Message { Type = MessageType.MsgForgetLeader });
        Assert.Equal(RaftConstants.None, network[2].Lead);
        network.Send(Hup(3));
        Assert.Equal(StateType.Leader, network[3].State);
    }

    [Fact]
    public void ForgetLeader_LeaseBasedReads_IsIgnored()
    {
        var network = Network.CreateWithConfig(Configure(checkQuorum: true, readOnly: ReadOnlyOption.LeaseBased), null, null, null);
        network.Send(Hup(1));
        network[2].Step(new Message { Type = MessageType.MsgForgetLeader });
        Assert.Equal(1UL, network[2].Lead);
    }

    [Fact]
    public void Learner_ElectionTimeout_DoesNotCampaign()
    {
        Raft learner = NewRaft(2, 10, 1, NewStorage([1], [2]));
        learner.TickTimes(3 * 10);
        Assert.Equal(StateType.Follower, learner.State);
        Assert.Empty(learner.ReadMessages());
        learner.Step(Hup(2));
        Assert.Equal(StateType.Follower, learner.State);
    }

    [Fact]
    public void Learner_AskedToVote_VotesLikeAVoter()
    {
        // A learner promoted by a change it has not seen yet may be needed to elect a leader.
        Raft learner = NewRaft(2, 10, 1, NewStorage([1], [2]));
        learner.Step(new Message { From = 1, To = 2, Type = MessageType.MsgVote, Term = 2, LogTerm = 0, Index = 0 });
        Message response = Assert.Single(learner.ReadMessages());
        Assert.Equal(MessageType.MsgVoteResp, response.Type);
        Assert.False(response.Reject);
    }
}
