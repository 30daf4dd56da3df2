using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Paper;

/// <summary>The election rules of the Raft paper (§5.1, §5.2), one test per rule (etcd's raft_paper_test.go).</summary>
public class ElectionPaperTests
{
    /// <summary>
    /// §5.1: "If one server's current term is smaller than the other's, then it updates its
    /// current term to the larger value. If a candidate or leader discovers that its term is out
    /// of date, it immediately reverts to follower state."
    /// </summary>
    [Theory]
    [InlineData(StateType.Follower)]
    [InlineData(StateType.Candidate)]
    [InlineData(StateType.Leader)]
    public void HigherTermMessage_UpdatesTermAndRevertsToFollower(StateType state)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        switch (state)
        {
            case StateType.Follower:
                r.BecomeFollower(1, 2);
                break;
            case StateType.Candidate:
                r.BecomeCandidate();
                break;
            case StateType.Leader:
                r.BecomeCandidate();
                r.BecomeLeader();
                break;
        }

        r.Step(new Message { Type = MessageType.MsgApp, From = 2, To = 1, Term = 2 });
        Assert.Equal(2UL, r.Term);
        Assert.Equal(StateType.Follower, r.State);
        Assert.Equal(2UL, r.Lead);
    }

    /// <summary>§5.1: "If a server receives a request with a stale term number, it rejects the request."</summary>
    [Fact]
    public void StaleTermMessage_IsIgnored()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.LoadStateForTest(new HardState { Term = 2 });
        ulong committedBefore = r.Log.Committed;
        r.Step(new Message { Type = MessageType.MsgApp, From = 2, To = 1, Term = 1, Commit = 0 });
        Assert.Equal(2UL, r.Term);
        Assert.Equal(committedBefore, r.Log.Committed);
        Assert.Empty(r.ReadMessages());
    }

    /// <summary>§5.2: "When servers start up, they begin as followers."</summary>
    [Fact]
    public void StartUp_BeginsAsFollower()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        Assert.Equal(StateType.Follower, r.State);
    }

    /// <summary>
    /// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to
    /// all followers in order to maintain their authority."
    /// </summary>
    [Fact]
    public void Leader_SendsHeartbeatsEveryHeartbeatInterval()
    {
        const int heartbeat = 1;
        Raft r = NewRaft(1, 10, heartbeat, NewStorage(1, 2, 3));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        r.TickTimes(heartbeat);
        List<Message> messages = r.ReadMessages();
        Assert.Equal(new ulong[] { 2, 3 }, messages.Select(m => m.To).Order());
        Assert.All(messages, m =>
        {
            Assert.Equal(MessageType.MsgHeartbeat, m.Type);
            Assert.Equal(1UL, m.Term);
            Assert.Empty(m.Entries);
        });
    }

    /// <summary>
    /// §5.2: "If a follower receives no communication over a period of time called the election
    /// timeout, then it assumes there is no viable leader and begins an election: it increments
    /// its current term and transitions to candidate state. It then votes for itself and issues
    /// RequestVote RPCs in parallel to each of the other servers."
    /// </summary>
    [Theory]
    [InlineData(StateType.Follower)]
    [InlineData(StateType.Candidate)]
    public void ElectionTimeout_StartsNewElection(StateType state)
    {
        const int election = 10;
        Raft r = NewRaft(1, election, 1, NewStorage(1, 2, 3));
        if (state == StateType.Follower)
        {
            r.BecomeFollower(1, 2);
        }
        else
        {
            r.BecomeCandidate();
        }

        r.ReadMessages();
        r.TickTimes(2 * election);
        Assert.Equal(2UL, r.Term);
        Assert.Equal(StateType.Candidate, r.State);
        List<Message> messages = r.ReadMessages().OrderBy(m => m.To).ToList();

        // The self-vote counts once the vote is durable (ReadMessages delivered it).
        Assert.True(r.Tracker.Votes[1]);
        Assert.Equal(new ulong[] { 2, 3 }, messages.Select(m => m.To));
        Assert.All(messages, m =>
        {
            Assert.Equal(MessageType.MsgVote, m.Type);
            Assert.Equal(2UL, m.Term);
        });
    }

    /// <summary>
    /// §5.2: "A candidate ... (a) wins the election, (b) another server establishes itself as
    /// leader, or (c) a period of time goes by with no winner." A candidate wins with votes from a
    /// majority and loses once a majority rejected it.
    /// </summary>
    [Theory]
    [InlineData(1, new ulong[] { }, new ulong[] { }, StateType.Leader)]
    [InlineData(3, new ulong[] { 2, 3 }, new ulong[] { }, StateType.Leader)]
    [InlineData(3, new ulong[] { 2 }, new ulong[] { }, StateType.Leader)]
    [InlineData(5, new ulong[] { 2, 3, 4, 5 }, new ulong[] { }, StateType.Leader)]
    [InlineData(5, new ulong[] { 2, 3, 4 }, new ulong[] { }, StateType.Leader)]
    [InlineData(5, new ulong[] { 2, 3 }, new ulong[] { }, StateType.Leader)]
    [InlineData(3, new ulong[] { }, new ulong[] { 2, 3 }, StateType.Follower)]
    [InlineData(5, new ulong[] { 2 }, new ulong[] { 3, 4, 5 }, StateType.Follower)]
    [InlineData(3, new ulong[] { }, new ulong[] { }, StateType.Candidate)]
    [InlineData(5, new ulong[] { 2 }, new ulong[] { }, StateType.Candidate)]
    [InlineData(5, new ulong[] { 2 }, new ulong[] { 3 }, StateType.Candidate)]
    public void VotesInOneRound_DecideTheElection(int size, ulong[] granted, ulong[] rejected, StateType expected)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(Ids(size)));
        r.Step(Hup(1));
        r.AdvanceMessagesAfterAppend();
        foreach (ulong id in granted)
        {
            r.Step(new Message { From = id, To = 1, Term = r.Term, Type = MessageType.MsgVoteResp });
        }

        foreach (ulong id in rejected)
        {
            r.Step(new Message { From = id, To = 1, Term = r.Term, Type = MessageType.MsgVoteResp, Reject = true });
        }

        Assert.Equal(expected, r.State);
        Assert.Equal(1UL, r.Term);
    }

    /// <summary>
    /// §5.2: "Each server will vote for at most one candidate in a given term, on a
    /// first-come-first-served basis."
    /// </summary>
    [Theory]
    [InlineData(0UL, 2UL, false)]
    [InlineData(0UL, 3UL, false)]
    [InlineData(2UL, 2UL, false)]
    [InlineData(3UL, 3UL, false)]
    [InlineData(2UL, 3UL, true)]
    [InlineData(3UL, 2UL, true)]
    public void Follower_VotesForAtMostOneCandidatePerTerm(ulong vote, ulong candidate, bool expectReject)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.LoadStateForTest(new HardState { Term = 1, Vote = vote });
        r.Step(new Message { From = candidate, To = 1, Term = 1, Type = MessageType.MsgVote });
        Message response = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgVoteResp, response.Type);
        Assert.Equal(candidate, response.To);
        Assert.Equal(expectReject, response.Reject);
    }

    /// <summary>
    /// §5.2: "While waiting for votes, a candidate may receive an AppendEntries RPC from another
    /// server claiming to be leader. If the leader's term is at least as large as the candidate's
    /// current term, then the candidate recognizes the leader as legitimate and returns to
    /// follower state."
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public void Candidate_FallsBackOnAppendFromLegitimateLeader(ulong term)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.Step(Hup(1));
        Assert.Equal(StateType.Candidate, r.State);
        r.Step(new Message { From = 2, To = 1, Term = term, Type = MessageType.MsgApp });
        Assert.Equal(StateType.Follower, r.State);
        Assert.Equal(term, r.Term);
    }

    /// <summary>
    /// §5.2: "Raft uses randomized election timeouts ... election timeouts are chosen randomly
    /// from a fixed interval" — here [election, 2 × election).
    /// </summary>
    [Theory]
    [InlineData(StateType.Follower)]
    [InlineData(StateType.Candidate)]
    public void ElectionTimeout_IsRandomizedInOneToTwoTimeouts(StateType state)
    {
        const int election = 10;
        Raft r = NewRaft(1, election, 1, NewStorage(1, 2, 3));
        var timeouts = new HashSet<int>();
        for (int round = 0; round < 50 * election; round++)
        {
            if (state == StateType.Follower)
            {
                r.BecomeFollower(r.Term + 1, 2);
            }
            else
            {
                r.BecomeCandidate();
            }

            int time = 0;
            while (r.ReadMessages().Count == 0)
            {
                r.Tick();
                time++;
            }

            timeouts.Add(time);
        }

        for (int d = election + 1; d < 2 * election; d++)
        {
            Assert.Contains(d, timeouts);
        }

        Assert.All(timeouts, t => Assert.InRange(t, election, 2 * election));
    }

    /// <summary>
    /// §5.2: "...in most cases only a single server (follower or candidate) will time out" —
    /// randomization spreads timeouts so that usually one server times out first.
    /// </summary>
    [Theory]
    [InlineData(StateType.Follower)]
    [InlineData(StateType.Candidate)]
    public void ElectionTimeouts_RarelyConflict(StateType state)
    {
        const int election = 10;
        const int size = 5;
        var rafts = Ids(size).Select(id => NewRaft(id, election, 1, NewStorage(Ids(size)))).ToArray();
        var random = new Random(Seed);
        int conflicts = 0;
        for (int round = 0; round < 1000; round++)
        {
            foreach (Raft r in rafts)
            {
                if (state == StateType.Follower)
                {
                    r.BecomeFollower(r.Term + 1, RaftConstants.None);
                }
                else
                {
                    r.BecomeCandidate();
                }

                r.RandomizedElectionTimeout = election + random.Next(election);
            }

            int timedOut = 0;
            while (timedOut == 0)
            {
                foreach (Raft r in rafts)
                {
                    r.Tick();
                    if (r.ReadMessages().Count > 0)
                    {
                        timedOut++;
                    }
                }
            }

            if (timedOut > 1)
            {
                conflicts++;
            }
        }

        // etcd's bound: a conflict probability of at most 0.3 with 5 nodes.
        Assert.True(conflicts / 1000.0 <= 0.3, $"{conflicts} conflicts in 1000 rounds");
    }

    /// <summary>
    /// §5.4.1: "The RequestVote RPC ... includes information about the candidate's log" and goes
    /// to all other servers.
    /// </summary>
    [Theory]
    [InlineData(new ulong[] { 1 }, 2UL)]
    [InlineData(new ulong[] { 1, 2 }, 3UL)]
    public void VoteRequest_CarriesLastLogIndexAndTermToAllPeers(ulong[] terms, ulong expectedTerm)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        var append = new Message { From = 2, To = 1, Type = MessageType.MsgApp, Term = expectedTerm - 1 };
        append.Entries.AddRange(EntriesFrom(1, terms));
        r.Step(append);
        r.ReadMessages();
        r.TickTimes(2 * 10);
        List<Message> messages = r.ReadMessages().OrderBy(m => m.To).ToList();
        Assert.Equal(new ulong[] { 2, 3 }, messages.Select(m => m.To));
        Assert.All(messages, m =>
        {
            Assert.Equal(MessageType.MsgVote, m.Type);
            Assert.Equal(expectedTerm, m.Term);
            Assert.Equal((ulong)terms.Length, m.Index);
            Assert.Equal(terms[^1], m.LogTerm);
        });
    }

    /// <summary>
    /// §5.4.1: "The voter denies its vote if its own log is more up-to-date than that of the
    /// candidate ... If the logs have last entries with different terms, then the log with the
    /// later term is more up-to-date. If the logs end with the same term, then whichever log is
    /// longer is more up-to-date."
    /// </summary>
    [Theory]
    [InlineData(new ulong[] { 1 }, 1UL, 1UL, false)]
    [InlineData(new ulong[] { 1 }, 1UL, 2UL, false)]
    [InlineData(new ulong[] { 1, 1 }, 1UL, 1UL, true)]
    [InlineData(new ulong[] { 1 }, 2UL, 1UL, false)]
    [InlineData(new ulong[] { 1 }, 2UL, 2UL, false)]
    [InlineData(new ulong[] { 1, 1 }, 2UL, 1UL, false)]
    [InlineData(new ulong[] { 2 }, 1UL, 1UL, true)]
    [InlineData(new ulong[] { 2 }, 1UL, 2UL, true)]
    [InlineData(new ulong[] { 2, 2 }, 1UL, 1UL, true)]
    public void Voter_DeniesVoteToCandidateWithOlderLog(ulong[] terms, ulong logTerm, ulong index, bool expectReject)
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, terms));
        Raft r = NewRaft(1, 10, 1, storage);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgVote, Term = 3, LogTerm = logTerm, Index = index });
        Message response = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgVoteResp, response.Type);
        Assert.Equal(expectReject, response.Reject);
    }
}
