using Google.Protobuf;
using Platform.Raft.Tracker;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>Snapshot sending, restoring and reporting (etcd's raft_snap_test.go and TestRestore*).</summary>
public class SnapshotTests
{
    private static Snapshot TestSnapshot(ulong index = 11, ulong term = 11, params ulong[] voters) => new()
    {
        Metadata = new SnapshotMetadata { Index = index, Term = term, ConfState = new ConfState { Voters = { voters.Length == 0 ? [1, 2] : voters } } },
    };

    private static Raft LeaderRestoredFrom(Snapshot snapshot)
    {
        MemoryStorage storage = NewStorage(1, 2);
        Raft r = NewRaft(1, 10, 1, storage);
        Assert.True(r.Restore(snapshot));
        r.BecomeCandidate();
        r.BecomeLeader();
        return r;
    }

    [Fact]
    public void SnapshotStatus_Failure_ResetsPendingSnapshotAndProbes()
    {
        Raft r = LeaderRestoredFrom(TestSnapshot());
        Progress pr = r.Tracker.Progress[2];
        pr.Next = 1;
        pr.BecomeSnapshot(11);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgSnapStatus, Reject = true });
        Assert.Equal(0UL, pr.PendingSnapshot);
        Assert.Equal(1UL, pr.Next);
        Assert.True(pr.MsgAppFlowPaused);
        Assert.Equal(ProgressState.Probe, pr.State);
    }

    [Fact]
    public void SnapshotStatus_Success_ProbesFromSnapshot()
    {
        Raft r = LeaderRestoredFrom(TestSnapshot());
        Progress pr = r.Tracker.Progress[2];
        pr.Next = 1;
        pr.BecomeSnapshot(11);
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgSnapStatus });
        Assert.Equal(0UL, pr.PendingSnapshot);
        Assert.Equal(12UL, pr.Next);
        Assert.True(pr.MsgAppFlowPaused);
    }

    [Fact]
    public void PendingSnapshot_PausesReplication()
    {
        Raft r = LeaderRestoredFrom(TestSnapshot());
        r.Tracker.Progress[2].BecomeSnapshot(11);
        r.Step(Proposal(1, 1));
        Assert.DoesNotContain(r.ReadMessages(), m => m.To == 2);
    }

    [Fact]
    public void AppendResponse_AtSnapshotIndex_AbortsSnapshotState()
    {
        Raft r = LeaderRestoredFrom(TestSnapshot());
        Progress pr = r.Tracker.Progress[2];
        pr.Next = 1;
        pr.BecomeSnapshot(11);

        // A follower that caught up by other means (e.g. a newer snapshot) acks past the pending one.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = 11 });
        Assert.Equal(0UL, pr.PendingSnapshot);
        Assert.Equal(ProgressState.Replicate, pr.State);
    }

    [Fact]
    public void CompactedLog_FollowerBehind_LeaderSendsSnapshot()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        storage.CreateSnapshot(10, new ConfState { Voters = { 1, 2 } }, ByteString.CopyFromUtf8("state"));
        storage.Compact(10);
        storage.SetHardState(new HardState { Term = 1, Commit = 10 });
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        Progress pr = r.Tracker.Progress[2];
        pr.RecentActive = true;

        // The follower rejects: it has nothing. Its next probe index is compacted.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = 10, Reject = true, RejectHint = 0 });
        Message snap = Assert.Single(r.ReadMessages(), m => m.To == 2);
        Assert.Equal(MessageType.MsgSnap, snap.Type);
        Assert.Equal(10UL, snap.Snapshot.Metadata.Index);
        Assert.Equal(ProgressState.Snapshot, pr.State);
        Assert.Equal(10UL, pr.PendingSnapshot);
    }

    [Fact]
    public void CompactedLog_FollowerNotRecentlyActive_NoSnapshotSent()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1));
        storage.CreateSnapshot(3, new ConfState { Voters = { 1, 2 } }, ByteString.Empty);
        storage.Compact(3);
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeCandidate();
        r.BecomeLeader();
        r.ReadMessages();
        r.Tracker.Progress[2].RecentActive = false;
        r.Tracker.Progress[2].Next = 1;
        r.BroadcastAppendForTest();
        Assert.DoesNotContain(r.ReadMessages(), m => m.Type == MessageType.MsgSnap);
    }

    [Fact]
    public void Restore_NewerSnapshot_ReplacesLogAndConfig()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        Snapshot snapshot = TestSnapshot(11, 11, 1, 2, 3);
        Assert.True(r.Restore(snapshot));
        Assert.Equal(11UL, r.Log.LastIndex());
        Assert.Equal(11UL, r.Log.Term(11));
        Assert.Equal(new ulong[] { 1, 2, 3 }, r.Tracker.VoterNodes());
        Assert.False(r.Restore(snapshot));

        // Not promotable while the snapshot is not persisted.
        r.TickTimes(100);
        Assert.Equal(StateType.Follower, r.State);
    }

    [Fact]
    public void Restore_SnapshotAlreadyInLog_OnlyFastForwardsCommit()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1));
        Raft r = NewRaft(1, 10, 1, storage);
        r.Log.CommitTo(1);
        Assert.False(r.Restore(TestSnapshot(2, 1)));
        Assert.Equal(2UL, r.Log.Committed);
        Assert.Equal(3UL, r.Log.LastIndex());
    }

    [Fact]
    public void Restore_NotInConfState_IsIgnored()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        Assert.False(r.Restore(TestSnapshot(11, 11, 2, 3)));
        Assert.Equal(0UL, r.Log.LastIndex());
    }

    [Fact]
    public void Restore_VoterInSnapshotAsLearner_BecomesLearner()
    {
        Raft r = NewRaft(3, 10, 1, NewStorage(1, 2, 3));
        var snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 11, Term = 11, ConfState = new ConfState { Voters = { 1, 2 }, Learners = { 3 } } } };
        Assert.True(r.Restore(snapshot));
        Assert.True(r.IsLearner);
        Assert.False(r.IsPromotable());
    }

    [Fact]
    public void Restore_LearnerInSnapshotAsVoter_IsPromoted()
    {
        Raft r = NewRaft(3, 10, 1, NewStorage([1, 2], [3]));
        Assert.True(r.IsLearner);
        Assert.True(r.Restore(TestSnapshot(11, 11, 1, 2, 3)));
        Assert.False(r.IsLearner);
    }

    [Fact]
    public void MsgSnap_OnFollower_RestoresAndAcks()
    {
        Raft r = NewRaft(2, 10, 1, NewStorage(1, 2));
        r.Step(new Message { From = 1, To = 2, Type = MessageType.MsgSnap, Term = 2, Snapshot = TestSnapshot() });
        Assert.Equal(11UL, r.Log.Committed);
        Message ack = Assert.Single(r.ReadMessages());
        Assert.Equal(MessageType.MsgAppResp, ack.Type);
        Assert.Equal(11UL, ack.Index);
        Assert.Equal(1UL, r.Lead);
    }
}
