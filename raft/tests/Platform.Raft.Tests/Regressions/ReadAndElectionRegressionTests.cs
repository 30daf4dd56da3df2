using Google.Protobuf;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Regressions;

/// <summary>Named reproductions of known raft bug classes (reference/raft.md §6, items 1, 2, 5, 10, 11).</summary>
public class ReadAndElectionRegressionTests
{
    private static Message ReadIndex(ulong id, string context) => new()
    {
        From = id,
        To = id,
        Type = MessageType.MsgReadIndex,
        Entries = { new Entry { Data = ByteString.CopyFromUtf8(context) } },
    };

    /// <summary>
    /// §6.1 — a new leader's commit index lags until its first entry commits (etcd-io/etcd#7331,
    /// etcd's TestReadOnlyForNewLeader): a ReadIndex must wait for a commit in the leader's term.
    /// </summary>
    [Fact]
    public void StaleReadIndexAfterLeaderChange_ReadWaitsForOwnTermCommit()
    {
        // Node 1 only knows commit 1; 2 and 3 know commit 2. None lost anything.
        var peers = new object?[3];
        foreach ((ulong id, ulong committed) in new[] { (1UL, 1UL), (2UL, 2UL), (3UL, 2UL) })
        {
            MemoryStorage storage = NewStorage(1, 2, 3);
            storage.Append(EntriesFrom(1, 1, 1));
            storage.SetHardState(new HardState { Term = 1, Commit = committed });
            peers[id - 1] = new Raft(Config(id, 10, 1, storage, applied: committed));
        }

        var network = Network.Create(peers);

        // Keep the new leader from committing an entry of its term.
        network.Ignore(MessageType.MsgApp);
        network.Send(Hup(1));
        Raft leader = network[1];
        Assert.Equal(StateType.Leader, leader.State);
        network.Send(ReadIndex(1, "ctx"));
        Assert.Empty(leader.ReadStates);
        Assert.Equal(1, leader.PendingReadIndexMessageCount);

        network.Recover();
        leader.TickTimes(1);
        network.Send(Proposal(1, 1, string.Empty));
        Assert.Equal(4UL, leader.Log.Committed);

        // The postponed read is answered with the commit index of the leader's own term.
        ReadState readState = Assert.Single(leader.TakeReadStates());
        Assert.Equal(4UL, readState.Index);
        Assert.Equal("ctx", readState.RequestContext.ToStringUtf8());

        network.Send(ReadIndex(1, "ctx2"));
        Assert.Equal(4UL, Assert.Single(leader.TakeReadStates()).Index);
    }

    /// <summary>§6.1 (tikv#9239) — after a leader transfer, the new leader also waits for its own-term commit before answering reads.</summary>
    [Fact]
    public void StaleReadIndexAfterLeaderTransfer_NewLeaderWaitsForOwnTermCommit()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network.Send(Proposal(1, 1));
        network.Ignore(MessageType.MsgAppResp);
        network.Send(new Message { From = 2, To = 1, Type = MessageType.MsgTransferLeader });
        Raft leader = network[2];
        Assert.Equal(StateType.Leader, leader.State);
        Assert.False(leader.CommittedEntryInCurrentTerm());
        network.Send(ReadIndex(2, "ctx"));
        Assert.Empty(leader.ReadStates);
        network.Recover();
        network.Send(new Message { From = 2, To = 2, Type = MessageType.MsgBeat });
        Assert.True(leader.CommittedEntryInCurrentTerm());
        Assert.Equal(leader.Log.Committed, Assert.Single(leader.ReadStates).Index);
    }

    /// <summary>
    /// §6.2 — lease reads on a partitioned or paused old leader (consul#54, sofa-jraft#25): lease
    /// reads require CheckQuorum, and a leader that lost its quorum stops being leader within an
    /// election timeout, after which it answers no reads.
    /// </summary>
    [Fact]
    public void LeaseReadOnPartitionedLeader_RequiresCheckQuorumAndStopsAfterStepDown()
    {
        Assert.Throws<ArgumentException>(() => new Raft(Config(1, 10, 1, NewStorage(1, 2, 3), readOnly: ReadOnlyOption.LeaseBased)));

        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, checkQuorum: true, readOnly: ReadOnlyOption.LeaseBased), null, null, null);
        network.Send(Hup(1));
        Raft oldLeader = network[1];
        network.Isolate(1);
        oldLeader.TickTimes(2 * 10);
        Assert.Equal(StateType.Follower, oldLeader.State);
        oldLeader.ReadMessages();
        oldLeader.Step(ReadIndex(1, "ctx"));
        Assert.Empty(oldLeader.ReadStates);
        Assert.Empty(oldLeader.ReadMessages());
    }

    /// <summary>§6.5 — a vote must never be cleared within a term (etcd PR #2461, camunda#5356, nebula#3415).</summary>
    [Fact]
    public void VoteClearedInSameTerm_SecondCandidateIsRejected()
    {
        MemoryStorage storage = NewStorage(1, 2, 3);
        Raft r = NewRaft(1, 10, 1, storage);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgVote, Term = 2 });
        Assert.False(Assert.Single(r.ReadMessages()).Reject);

        // Stepping down within the same term keeps the vote.
        r.BecomeFollower(2, RaftConstants.None);
        r.Step(new Message { From = 3, To = 1, Type = MessageType.MsgVote, Term = 2 });
        Assert.True(Assert.Single(r.ReadMessages()).Reject);

        // So does a restart from the persisted HardState.
        storage.SetHardState(r.HardState);
        Raft restarted = NewRaft(1, 10, 1, storage);
        restarted.Step(new Message { From = 3, To = 1, Type = MessageType.MsgVote, Term = 2 });
        Assert.True(Assert.Single(restarted.ReadMessages()).Reject);
    }

    /// <summary>§6.5 — the vote response must not leave before the vote is persisted (CCF#8094).</summary>
    [Fact]
    public void VoteNotPersistedBeforeReply_ResponseTravelsWithTheHardStateToSync()
    {
        MemoryStorage storage = NewStorage(1, 2, 3);
        var node = new RawNode(Config(1, 10, 1, storage));
        node.Step(new Message { From = 2, To = 1, Type = MessageType.MsgVote, Term = 2 });

        // The Raft core holds the response until the vote is durable...
        Assert.Empty(node.Raft.Messages);
        Assert.Single(node.Raft.MessagesAfterAppend);

        // ...and the Ready that carries it also carries the vote, marked for fsync.
        Ready ready = node.GetReady();
        Assert.Contains(ready.Messages, m => m.Type == MessageType.MsgVoteResp && !m.Reject);
        Assert.Equal(2UL, ready.HardState!.Vote);
        Assert.True(ready.MustSync);

        // In async mode the response is inside the MsgStorageAppend, delivered after the write.
        var asyncNode = new RawNode(Config(1, 10, 1, NewStorage(1, 2, 3), asyncStorageWrites: true));
        asyncNode.Step(new Message { From = 2, To = 1, Type = MessageType.MsgVote, Term = 2 });
        Ready asyncReady = asyncNode.GetReady();
        Assert.DoesNotContain(asyncReady.Messages, m => m.Type == MessageType.MsgVoteResp);
        Message append = Assert.Single(asyncReady.Messages);
        Assert.Equal(2UL, append.Vote);
        Assert.Contains(append.Responses, m => m.Type == MessageType.MsgVoteResp);
    }

    /// <summary>
    /// §6.10 — a learner that a newer configuration made a voter must vote when asked
    /// (campaign_learner_must_vote.txt); otherwise the only electable node could never win.
    /// </summary>
    [Fact]
    public void LearnerPromotedInNewerConfig_MustVoteForCandidate()
    {
        // 2 and 3 are voters that learned of 1's promotion; 1 has not applied it yet.
        Raft learner = NewRaft(1, 10, 1, NewStorage([2, 3], [1]));
        Raft candidate = NewRaft(3, 10, 1, NewStorage(1, 2, 3));
        var network = Network.Create(learner, Network.BlackHole, candidate);
        network.Send(Hup(3));
        Assert.Equal(StateType.Leader, candidate.State);
        Assert.Equal(1UL, candidate.Tracker.Progress[1].Match);
    }

    /// <summary>§6.10 — replacing the leader (confchange_v2_replace_leader_stepdown.txt): it steps down and the rest elect a new one.</summary>
    [Fact]
    public void LeaderRemovedFromConfig_StepsDownAndRemainingNodesElectNewLeader()
    {
        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, stepDownOnRemoval: true), null, null, null);
        network.Send(Hup(1));
        foreach (Raft r in network.Peers.Values.Select(p => p!))
        {
            r.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = 1 }.AsV2Change());
        }

        Assert.Equal(StateType.Follower, network[1].State);
        network.Send(Hup(2));
        Assert.Equal(StateType.Leader, network[2].State);
        Assert.Equal(new ulong[] { 2, 3 }, network[2].Tracker.VoterNodes());
    }

    /// <summary>
    /// §6.11 — mixed PreVote rollout deadlock (etcd#8501): a node at a higher term must reject a
    /// stale pre-vote explicitly, so the pre-candidate learns the term and the cluster recovers.
    /// </summary>
    [Fact]
    public void PreVoteMixedRollout_HigherTermNodeRejectsStalePreVote_ClusterRecovers()
    {
        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, preVote: true), null, null, null);
        network.Send(Hup(1));

        // Node 3 (as if it ran without PreVote) campaigned alone up to a higher term.
        network.Isolate(3);
        network[3].BecomeCandidate();
        network[3].BecomeCandidate();
        network.Recover();
        ulong highTerm = network[3].Term;

        // A pre-vote from a lower-term node gets an explicit rejection carrying the higher term.
        network.Isolate(1);
        network.Send(Hup(2));
        Assert.True(network[2].Term >= highTerm || network[2].State == StateType.Leader || network[3].State == StateType.Leader);
        network.Recover();
        for (int round = 0; round < 5 && !network.Peers.Values.Any(p => p!.State == StateType.Leader && p.Term >= highTerm); round++)
        {
            network.Send(Hup((ulong)((round % 3) + 1)));
        }

        Assert.Contains(network.Peers.Values, p => p!.State == StateType.Leader && p.Term >= highTerm);
    }

    /// <summary>
    /// §6.11 — PreVote + CheckQuorum unavailability (cockroach#107060,
    /// forget_leader_prevote_checkquorum.txt): followers that still honour a dead leader's lease
    /// block elections until ForgetLeader.
    /// </summary>
    [Fact]
    public void PreVoteCheckQuorumLeaderGone_ForgetLeaderLetsElectionSucceedAtOnce()
    {
        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, preVote: true, checkQuorum: true), null, null, null);
        network.Send(Hup(1));
        network.Isolate(1);
        network.Send(Hup(2));
        Assert.NotEqual(StateType.Leader, network[2].State);
        network[3].Step(new Message { Type = MessageType.MsgForgetLeader });
        network.Send(Hup(2));
        Assert.Equal(StateType.Leader, network[2].State);
    }
}
