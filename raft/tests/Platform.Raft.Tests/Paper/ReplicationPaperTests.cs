using Google.Protobuf;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Paper;

/// <summary>The log replication and safety rules of the Raft paper (§5.3, §5.4), one test per rule.</summary>
public class ReplicationPaperTests
{
    private static (Raft Raft, MemoryStorage Storage) NewLeader(int size = 3)
    {
        MemoryStorage storage = NewStorage(Ids(size));
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeCandidate();
        r.BecomeLeader();
        CommitNoopEntry(r, storage);
        return (r, storage);
    }

    /// <summary>
    /// §5.3: "The leader appends the command to its log as a new entry, then issues
    /// AppendEntries RPCs in parallel to each of the other servers to replicate the entry." The
    /// entry is not committed yet.
    /// </summary>
    [Fact]
    public void LeaderProposal_AppendsAndReplicatesToAllFollowers()
    {
        (Raft r, _) = NewLeader();
        ulong last = r.Log.LastIndex();
        r.Step(Proposal(1, 1, "some data"));
        Assert.Equal(last + 1, r.Log.LastIndex());
        Assert.Equal(last, r.Log.Committed);
        List<Message> messages = r.ReadMessages().OrderBy(m => m.To).ToList();
        Assert.Equal(new ulong[] { 2, 3 }, messages.Select(m => m.To));
        Assert.All(messages, m =>
        {
            Assert.Equal(MessageType.MsgApp, m.Type);
            Assert.Equal(last, m.Index);
            Assert.Equal(1UL, m.LogTerm);
            Assert.Equal(last, m.Commit);
            Entry entry = Assert.Single(m.Entries);
            Assert.Equal(last + 1, entry.Index);
            Assert.Equal("some data", entry.Data.ToStringUtf8());
        });
        Assert.Equal(new ulong[] { last + 1 }, r.Log.NextUnstableEntries().Select(e => e.Index));
    }

    /// <summary>
    /// §5.3: "When the entry has been safely replicated, the leader applies the entry to its
    /// state machine and returns the result of that execution to the client." Followers then
    /// learn the new commit index.
    /// </summary>
    [Fact]
    public void ReplicatedEntry_IsCommittedAndCommitIsPropagated()
    {
        (Raft r, _) = NewLeader();
        ulong last = r.Log.LastIndex();
        r.Step(Proposal(1, 1, "some data"));
        foreach (Message m in r.ReadMessages())
        {
            r.Step(AcceptAndReply(m));
        }

        Assert.Equal(last + 1, r.Log.Committed);
        Entry committed = Assert.Single(r.Log.NextCommittedEntries(true));
        Assert.Equal("some data", committed.Data.ToStringUtf8());
        List<Message> messages = r.ReadMessages().OrderBy(m => m.To).ToList();
        Assert.Equal(new ulong[] { 2, 3 }, messages.Select(m => m.To));
        Assert.All(messages, m =>
        {
            Assert.Equal(MessageType.MsgApp, m.Type);
            Assert.Equal(last + 1, m.Commit);
        });
    }

    /// <summary>
    /// §5.3: "A log entry is committed once the leader that created the entry has replicated it
    /// on a majority of the servers."
    /// </summary>
    [Theory]
    [InlineData(1, new ulong[] { }, true)]
    [InlineData(3, new ulong[] { }, false)]
    [InlineData(3, new ulong[] { 2 }, true)]
    [InlineData(3, new ulong[] { 2, 3 }, true)]
    [InlineData(5, new ulong[] { }, false)]
    [InlineData(5, new ulong[] { 2 }, false)]
    [InlineData(5, new ulong[] { 2, 3 }, true)]
    [InlineData(5, new ulong[] { 2, 3, 4 }, true)]
    [InlineData(5, new ulong[] { 2, 3, 4, 5 }, true)]
    public void Entry_IsCommittedOnceOnAMajority(int size, ulong[] acceptors, bool expectCommitted)
    {
        (Raft r, _) = NewLeader(size);
        ulong last = r.Log.LastIndex();
        r.Step(Proposal(1, 1, "some data"));
        r.AdvanceMessagesAfterAppend();
        foreach (Message m in r.TakeMessages())
        {
            if (acceptors.Contains(m.To))
            {
                r.Step(AcceptAndReply(m));
            }
        }

        Assert.Equal(expectCommitted, r.Log.Committed > last);
    }

    /// <summary>
    /// §5.3: "When the leader commits a log entry, it also commits all preceding entries in the
    /// leader's log, including entries created by previous leaders."
    /// </summary>
    [Theory]
    [InlineData(new ulong[] { })]
    [InlineData(new ulong[] { 2 })]
    [InlineData(new ulong[] { 1, 2 })]
    [InlineData(new ulong[] { 1 })]
    public void Commit_IncludesPrecedingEntriesOfPreviousLeaders(ulong[] terms)
    {
        MemoryStorage storage = NewStorage(1, 2, 3);
        storage.Append(EntriesFrom(1, terms));
        Raft r = NewRaft(1, 10, 1, storage);
        r.LoadStateForTest(new HardState { Term = 2 });
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Step(Proposal(1, 1, "some data"));
        foreach (Message m in r.ReadMessages())
        {
            r.Step(AcceptAndReply(m));
        }

        IReadOnlyList<Entry> committed = r.Log.NextCommittedEntries(true);
        ulong[] expectedTerms = [.. terms, 3, 3];
        Assert.Equal(expectedTerms, committed.Select(e => e.Term));
        Assert.Equal("some data", committed[^1].Data.ToStringUtf8());
    }

    /// <summary>
    /// §5.3: "Once a follower learns that a log entry is committed, it applies the entry to its
    /// local state machine (in log order)."
    /// </summary>
    [Theory]
    [InlineData(1, 1UL)]
    [InlineData(2, 2UL)]
    [InlineData(2, 1UL)]
    public void Follower_AppliesEntriesItLearnsAreCommitted(int count, ulong commit)
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.BecomeFollower(1, 2);
        var append = new Message { From = 2, To = 1, Type = MessageType.MsgApp, Term = 1, Commit = commit };
        for (int i = 1; i <= count; i++)
        {
            append.Entries.Add(Entry((ulong)i, 1, $"data{i}"));
        }

        r.Step(append);
        Assert.Equal(commit, r.Log.Committed);
        Assert.Equal(Enumerable.Range(1, (int)commit).Select(i => $"data{i}"), r.Log.NextCommittedEntries(true).Select(e => e.Data.ToStringUtf8()));
    }

    /// <summary>
    /// §5.3: "If the follower does not find an entry in its log with the same index and term, then
    /// it refuses the new entries." Otherwise it accepts them.
    /// </summary>
    [Theory]
    [InlineData(0UL, 0UL, 1UL, false, 0UL, 0UL)] // matches committed entries
    [InlineData(1UL, 1UL, 1UL, false, 0UL, 0UL)]
    [InlineData(2UL, 2UL, 2UL, false, 0UL, 0UL)] // matches an uncommitted entry
    [InlineData(1UL, 2UL, 2UL, true, 1UL, 1UL)]  // term mismatch at an existing index
    [InlineData(3UL, 3UL, 3UL, true, 2UL, 2UL)]  // index past the end
    public void Follower_ChecksPreviousEntryOfAppend(ulong logTerm, ulong index, ulong expectedIndex, bool expectReject, ulong expectedHint, ulong expectedHintTerm)
    {
        MemoryStorage storage = NewStorage(1, 2, 3);
        storage.Append(EntriesFrom(1, 1, 2));
        Raft r = NewRaft(1, 10, 1, storage);
        r.LoadStateForTest(new HardState { Commit = 1 });
        r.BecomeFollower(2, 2);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgApp, Term = 2, LogTerm = logTerm, Index = index });
        Message response = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgAppResp, response.Type);
        Assert.Equal(2UL, response.To);
        Assert.Equal(2UL, response.Term);
        Assert.Equal(expectedIndex, response.Index);
        Assert.Equal(expectReject, response.Reject);
        Assert.Equal(expectedHint, response.RejectHint);
        Assert.Equal(expectReject ? expectedHintTerm : 0, response.LogTerm);
    }

    /// <summary>
    /// §5.3: "If an existing entry conflicts with a new one (same index but different terms),
    /// delete the existing entry and all that follow it; append any new entries not already in
    /// the log."
    /// </summary>
    [Theory]
    [InlineData(2UL, 2UL, new ulong[] { 3, 3 }, new ulong[] { 1, 2, 3 }, new ulong[] { 3 })]
    [InlineData(1UL, 1UL, new ulong[] { 2, 3, 4 }, new ulong[] { 1, 3, 4 }, new ulong[] { 3, 4 })]
    [InlineData(0UL, 0UL, new ulong[] { 1, 1 }, new ulong[] { 1, 2 }, new ulong[] { })]
    [InlineData(0UL, 0UL, new ulong[] { 1, 3 }, new ulong[] { 3 }, new ulong[] { 3 })]
    public void Follower_DeletesConflictsAndAppendsNewEntries(ulong index, ulong logTerm, ulong[] firstAndTerms, ulong[] expectedTerms, ulong[] expectedUnstableTerms)
    {
        MemoryStorage storage = NewStorage(1, 2, 3);
        storage.Append(EntriesFrom(1, 1, 2));
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeFollower(2, 2);
        var append = new Message { From = 2, To = 1, Type = MessageType.MsgApp, Term = 2, LogTerm = logTerm, Index = index };
        append.Entries.AddRange(EntriesFrom(firstAndTerms[0], firstAndTerms[1..]));
        r.Step(append);
        Assert.Equal(expectedTerms, r.Log.AllEntries().Select(e => e.Term));
        Assert.Equal(expectedUnstableTerms, r.Log.NextUnstableEntries().Select(e => e.Term));
    }

    /// <summary>
    /// §5.3, Figure 7: "the leader handles inconsistencies by forcing the followers' logs to
    /// duplicate its own" — whatever the follower's log, after replication it equals the leader's.
    /// </summary>
    [Theory]
    [InlineData(new ulong[] { 1, 1, 1, 4, 4, 5, 5, 6, 6 })]
    [InlineData(new ulong[] { 1, 1, 1, 4 })]
    [InlineData(new ulong[] { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6 })]
    [InlineData(new ulong[] { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7 })]
    [InlineData(new ulong[] { 1, 1, 1, 4, 4, 4, 4 })]
    [InlineData(new ulong[] { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 })]
    public void Leader_BringsFollowerLogIntoConsistency(ulong[] followerTerms)
    {
        const ulong term = 8;
        MemoryStorage leaderStorage = NewStorage(1, 2, 3);
        leaderStorage.Append(EntriesFrom(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6));
        Raft leader = NewRaft(1, 10, 1, leaderStorage);
        leader.LoadStateForTest(new HardState { Commit = leader.Log.LastIndex(), Term = term });
        MemoryStorage followerStorage = NewStorage(1, 2, 3);
        followerStorage.Append(EntriesFrom(1, followerTerms));
        Raft follower = NewRaft(2, 10, 1, followerStorage);
        follower.LoadStateForTest(new HardState { Term = term - 1 });

        // Three nodes: the follower may have the longer log, so the leader needs node 3's vote.
        var network = Network.Create(leader, follower, Network.BlackHole);
        network.Send(Hup(1));
        network.Send(new Message { From = 3, To = 1, Type = MessageType.MsgVoteResp, Term = term + 1 });
        network.Send(Proposal(1, 1, string.Empty));

        Assert.Equal(StateType.Leader, leader.State);
        Assert.Equal(Describe(leader), Describe(follower));
    }

    /// <summary>
    /// §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
    /// entries from the leader's current term are committed by counting replicas."
    /// </summary>
    [Theory]
    [InlineData(1UL, 0UL)]
    [InlineData(2UL, 0UL)]
    [InlineData(3UL, 3UL)]
    public void Leader_CommitsOnlyCurrentTermEntriesByCounting(ulong ackedIndex, ulong expectedCommit)
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 2));
        Raft r = NewRaft(1, 10, 1, storage);
        r.LoadStateForTest(new HardState { Term = 2 });
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry() } });
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = ackedIndex });
        r.AdvanceMessagesAfterAppend();
        Assert.Equal(expectedCommit, r.Log.Committed);
    }

    private static string Describe(Raft r) =>
        $"committed: {r.Log.Committed}\n" + RaftDescribe.DescribeEntries(r.Log.AllEntries(), _ => string.Empty);

    [Fact]
    public void Describe_FormatterOverride_IsUsed()
    {
        Assert.Equal("1/2 EntryNormal x", RaftDescribe.DescribeEntry(Entry(2, 1, "data"), _ => "x"));
        Assert.Equal("1/2 EntryNormal \"data\"", RaftDescribe.DescribeEntry(new Entry { Index = 2, Term = 1, Data = ByteString.CopyFromUtf8("data") }));
    }
}
