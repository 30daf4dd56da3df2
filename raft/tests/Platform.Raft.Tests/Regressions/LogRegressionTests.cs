using Google.Protobuf;
using Platform.Raft.Tracker;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Regressions;

/// <summary>Named reproductions of known raft bug classes (reference/raft.md §6, items 3, 4, 6–9, 12–17).</summary>
public class LogRegressionTests
{
    /// <summary>
    /// §6.3 — committing a previous-term entry by counting replicas (Raft Figure 8, logcabin#44;
    /// etcd's TestCannotCommitWithoutNewTermEntry).
    /// </summary>
    [Fact]
    public void PreviousTermEntryReplicatedOnMajority_NotCommittedUntilOwnTermEntryCommits()
    {
        var network = Network.Create(null, null, null, null, null);
        network.Send(Hup(1));
        network.Cut(1, 3);
        network.Cut(1, 4);
        network.Cut(1, 5);
        network.Send(Proposal(1, 1));
        network.Send(Proposal(1, 1));
        Assert.Equal(1UL, network[1].Log.Committed);

        network.Recover();

        // 2 becomes leader at term 2 and replicates the term-1 entries to everyone, but its own
        // empty entry cannot be appended anywhere.
        network.Ignore(MessageType.MsgApp);
        network.Send(Hup(2));
        Assert.Equal(StateType.Leader, network[2].State);
        Assert.Equal(1UL, network[2].Log.Committed);

        network.Recover();
        network.Send(new Message { From = 2, To = 2, Type = MessageType.MsgBeat });
        network.Send(Proposal(2, 2));
        Assert.Equal(5UL, network[2].Log.Committed);
    }

    /// <summary>
    /// §6.4 — a follower must not advance its commit index past the prefix the append verified
    /// (atomix/copycat#265): the cap is min(leaderCommit, last new index), even for an empty append.
    /// </summary>
    [Fact]
    public void EmptyAppendWithHighLeaderCommit_DoesNotCommitUnverifiedTail()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1));
        Raft follower = NewRaft(2, 10, 1, storage);
        follower.BecomeFollower(2, 1);

        // Entries 2 and 3 may differ from the leader's: only index 1 was verified.
        follower.Step(new Message { From = 1, To = 2, Type = MessageType.MsgApp, Term = 2, Index = 1, LogTerm = 1, Commit = 3 });
        Assert.Equal(1UL, follower.Log.Committed);
    }

    /// <summary>
    /// §6.6 — a single-voter cluster lost a write on crash because the entry was reported
    /// committed before it was persisted (etcd#14370, single_node.txt).
    /// </summary>
    [Fact]
    public void SingleVoterProposal_NotCommittedBeforeItIsPersisted()
    {
        MemoryStorage storage = NewStorage(1);
        var node = new RawNode(Config(1, 10, 1, storage));
        node.Campaign();
        while (node.HasReady())
        {
            Ready rd = node.GetReady();
            storage.Append(rd.Entries);
            node.Advance(rd);
        }

        node.Propose(ByteString.CopyFromUtf8("x"));
        Ready ready = node.GetReady();
        Assert.Single(ready.Entries);

        // The entry to persist is not yet committed, neither in the HardState nor as committed entries.
        Assert.Empty(ready.CommittedEntries);
        Assert.True(ready.HardState is null || ready.HardState.Commit < ready.Entries[0].Index);
        Assert.True(node.BasicStatus().HardState.Commit < ready.Entries[0].Index);

        // "Crash" here: a node restarted from storage without the entry has nothing committed past it.
        var restarted = new RawNode(Config(1, 10, 1, storage));
        Assert.True(restarted.BasicStatus().HardState.Commit <= storage.LastIndex());
    }

    /// <summary>
    /// §6.7 — async writes ABA race (async_storage_writes_append_aba_race.txt): entries replaced
    /// in a later term by identical (index, term) entries must not be marked stable by the
    /// completion of the first, superseded write.
    /// </summary>
    [Fact]
    public void AsyncAppendAbaRace_StaleStabilityNoticeIgnoredAfterTermChange()
    {
        var node = new RawNode(Config(2, 10, 1, NewStorage(1, 2, 3), asyncStorageWrites: true));
        Message Append(ulong from, ulong term, params ulong[] entryTerms)
        {
            var m = new Message { From = from, To = 2, Type = MessageType.MsgApp, Term = term, Index = 0, LogTerm = 0 };
            m.Entries.AddRange(EntriesFrom(1, entryTerms));
            return m;
        }

        // Term 1: entries 1/1, 1/2 written asynchronously (write #1 in flight).
        node.Step(Append(1, 1, 1, 1));
        Message write1 = Assert.Single(node.GetReady().Messages, m => m.Type == MessageType.MsgStorageAppend);

        // Term 2: another leader replaces index 1 (write #2 in flight).
        node.Step(Append(3, 2, 2));
        Assert.Single(node.GetReady().Messages, m => m.Type == MessageType.MsgStorageAppend);

        // Term 3: the first leader's entries come back, identical to write #1's (write #3).
        node.Step(Append(1, 3, 1, 1));
        Message write3 = Assert.Single(node.GetReady().Messages, m => m.Type == MessageType.MsgStorageAppend);

        // Write #1 completes: its notice matches (2, 1) in the unstable log, but write #2 could
        // still overwrite storage: the notice is from an older term and must be ignored.
        Message staleNotice = write1.Responses.Single(r => r.Type == MessageType.MsgStorageAppendResp);
        node.Step(staleNotice);
        Assert.Equal(1UL, node.Raft.Log.Unstable.Offset);

        // Write #3's notice, at the current term, stabilises the entries.
        node.Step(write3.Responses.Single(r => r.Type == MessageType.MsgStorageAppendResp));
        Assert.Equal(3UL, node.Raft.Log.Unstable.Offset);
    }

    /// <summary>
    /// §6.8 — a new leader must commit an entry of its term before any configuration change
    /// (Ongaro's single-server membership bug; etcd's TestNewLeaderPendingConfig).
    /// </summary>
    [Fact]
    public void NewLeaderConfChangeBeforeOwnEntryApplied_IsRefused()
    {
        // The previous leader left an entry the new leader has not applied yet.
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1));
        Raft r = NewRaft(1, 10, 1, storage);
        r.BecomeCandidate();
        r.BecomeLeader();
        Assert.Equal(1UL, r.PendingConfIndex);
        var change = new Message { From = 1, To = 1, Type = MessageType.MsgProp };
        change.Entries.Add(new Entry { Type = EntryType.EntryConfChange, Data = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 }.ToByteString() });
        r.Step(change);
        Assert.Equal(EntryType.EntryNormal, r.Log.Entries(r.Log.LastIndex(), ulong.MaxValue)[0].Type);

        // Once the leader's entries are committed and applied, the change is accepted.
        r.BroadcastAppendForTest();
        foreach (Message m in r.ReadMessages().Where(m => m.Type == MessageType.MsgApp))
        {
            r.Step(AcceptAndReply(m));
        }

        r.NextEntries(storage);
        Assert.Equal(r.Log.LastIndex(), r.Log.Applied);
        var retry = new Message { From = 1, To = 1, Type = MessageType.MsgProp };
        retry.Entries.Add(new Entry { Type = EntryType.EntryConfChange, Data = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = 3 }.ToByteString() });
        r.Step(retry);
        Assert.Equal(EntryType.EntryConfChange, r.Log.Entries(r.Log.LastIndex(), ulong.MaxValue)[0].Type);
    }

    /// <summary>
    /// §6.9 — the configuration must live in snapshot metadata and be restored exactly
    /// (openraft#1808, canonical/raft#250, raft-rs#269, dragonboat#94, camunda#63163).
    /// </summary>
    [Fact]
    public void ConfStateInSnapshot_RestoredExactlyOnInstallAndRestart()
    {
        var confState = new ConfState { Voters = { 1, 2 }, Learners = { 3 } };
        var snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 10, Term = 2, ConfState = confState } };

        // Installing: a voter in our old config that is a learner in the snapshot becomes a learner.
        Raft follower = NewRaft(3, 10, 1, NewStorage(1, 2, 3));
        follower.Step(new Message { From = 1, To = 3, Type = MessageType.MsgSnap, Term = 2, Snapshot = snapshot });
        Assert.True(follower.IsLearner);
        Assert.Equal(confState, follower.Tracker.ConfState());

        // Restarting from storage holding the snapshot restores the same configuration.
        var storage = new MemoryStorage();
        storage.ApplySnapshot(snapshot);
        var restarted = new RawNode(Config(3, 10, 1, storage));
        Assert.Equal(confState, restarted.Status().Config);

        // An older snapshot never replaces a newer one.
        Assert.Throws<SnapshotOutOfDateException>(() => storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 5, Term = 1, ConfState = new ConfState { Voters = { 1 } } } }));
        Assert.False(follower.Restore(new Snapshot { Metadata = new SnapshotMetadata { Index = 5, Term = 1, ConfState = new ConfState { Voters = { 3 } } } }));
    }

    /// <summary>
    /// §6.12 — replication paused when the inflight window filled and every message was lost
    /// (replicate_pause.txt, etcd PR #14633): heartbeat responses must restart the flow.
    /// </summary>
    [Fact]
    public void InflightWindowFullAndMessagesLost_ReplicationResumesOnHeartbeat()
    {
        var network = Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, maxInflight: 2, maxMessageBytes: 0), null, null, null);
        network.Send(Hup(1));
        network.Send(Proposal(1, 1));
        network.Drop(1, 3, 1.0);
        for (int i = 0; i < 6; i++)
        {
            network.Send(Proposal(1, 1));
        }

        Assert.True(network[1].Tracker.Progress[3].Inflights.Full);
        network.Recover();
        for (int i = 0; i < 10 && network[3].Log.LastIndex() < network[1].Log.LastIndex(); i++)
        {
            network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        }

        Assert.Equal(network[1].Log.LastIndex(), network[3].Log.LastIndex());
    }

    /// <summary>§6.12 — a probe that never recovers (heartbeat_resp_recovers_from_probing.txt).</summary>
    [Fact]
    public void ProbeStateAfterUnreachable_HeartbeatResponseRecoversReplicate()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network[1].Step(new Message { From = 2, To = 1, Type = MessageType.MsgUnreachable });
        Assert.Equal(ProgressState.Probe, network[1].Tracker.Progress[2].State);
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal(ProgressState.Replicate, network[1].Tracker.Progress[2].State);
    }

    /// <summary>§6.12 — Next must never fall below Match + 1 (etcd-io/raft PR #149): a stale rejection is ignored.</summary>
    [Fact]
    public void StaleRejectionAfterAck_NextNeverBelowMatch()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2));
        r.BecomeCandidate();
        r.BecomeLeader();
        for (int i = 0; i < 3; i++)
        {
            r.Step(Proposal(1, 1));
        }

        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = 4 });
        Progress pr = r.Tracker.Progress[2];
        Assert.Equal(4UL, pr.Match);

        // A delayed rejection of an older probe arrives.
        r.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = r.Term, Index = 2, Reject = true, RejectHint = 1 });
        Assert.Equal(4UL, pr.Match);
        Assert.True(pr.Next >= pr.Match + 1);
    }

    /// <summary>
    /// §6.12/§6.13 — a follower far behind a compacted log (raft PR #31, hashicorp/raft#212) gets a
    /// snapshot and then catches up from the log.
    /// </summary>
    [Fact]
    public void FollowerBehindCompactedLog_ReceivesSnapshotThenCatchesUp()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network.Isolate(3);
        for (int i = 0; i < 10; i++)
        {
            network.Send(Proposal(1, 1));
        }

        // The leader persists, snapshots and compacts its log.
        Raft leader = network[1];
        MemoryStorage storage = network.Storage[1];
        leader.NextEntries(storage);
        storage.CreateSnapshot(leader.Log.Applied, leader.Tracker.ConfState(), ByteString.CopyFromUtf8("state"));
        storage.Compact(leader.Log.Applied);

        network.Recover();
        int snapshots = 0;
        network.MessageHook = m =>
        {
            if (m.Type == MessageType.MsgSnap)
            {
                snapshots++;
            }

            return true;
        };
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal(1, snapshots);
        Assert.Equal(leader.Log.Applied, network[3].Log.Committed);

        // The follower's ack of the snapshot moved it straight back to Replicate
        // (snapshot_succeed_via_app_resp); a late success report changes nothing.
        Assert.Equal(ProgressState.Replicate, leader.Tracker.Progress[3].State);
        network.Send(new Message { From = 3, To = 1, Type = MessageType.MsgSnapStatus });
        network.Send(Proposal(1, 1));
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal(leader.Log.LastIndex(), network[3].Log.LastIndex());
        Assert.Equal(ProgressState.Replicate, leader.Tracker.Progress[3].State);
    }

    /// <summary>
    /// §6.13 — a follower that lost its disk (etcd-io/raft#197): a leader that still believes it
    /// matched must not make it commit entries it lacks silently; the node fails loudly, and a
    /// leader of a new term (whose progress starts from Match 0) catches it up safely.
    /// </summary>
    [Fact]
    public void FollowerLostItsLog_NeverCommitsMissingEntriesSilently()
    {
        Raft wiped = NewRaft(2, 10, 1, NewStorage(1, 2, 3));
        wiped.BecomeFollower(1, 1);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            wiped.Step(new Message { From = 1, To = 2, Type = MessageType.MsgHeartbeat, Term = 1, Commit = 5 }));
        Assert.Contains("Was the raft log corrupted, truncated, or lost?", e.Message, StringComparison.Ordinal);

        // With a new leader, heartbeats carry min(Match, commit) = 0 and probing restores the log.
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        for (int i = 0; i < 3; i++)
        {
            network.Send(Proposal(1, 1));
        }

        network.Peers[2] = NewRaft(2, 10, 1, NewStorage(1, 2, 3));
        network.Send(Hup(3));
        network.Send(new Message { From = 3, To = 3, Type = MessageType.MsgBeat });
        Assert.Equal(network[3].Log.LastIndex(), network[2].Log.LastIndex());
        Assert.Equal(network[3].Log.Committed, network[2].Log.Committed);
    }

    /// <summary>
    /// §6.14 — log-truncation cache incoherence (cockroach#63302): after a conflicting append
    /// truncates the tail, reads must see the new entries, never the replaced ones still in
    /// storage, while views handed out earlier stay intact.
    /// </summary>
    [Fact]
    public void TruncatedTail_ReadsSeeReplacementNeverStaleStorageEntries()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1, 1, 1));
        Raft follower = NewRaft(2, 10, 1, storage);
        follower.BecomeFollower(2, 1);
        var append = new Message { From = 1, To = 2, Type = MessageType.MsgApp, Term = 2, Index = 2, LogTerm = 1 };
        append.Entries.AddRange(EntriesFrom(3, 2, 2));
        follower.Step(append);
        ArraySegment<Entry> handedOut = follower.Log.NextUnstableEntries();

        Assert.Equal(4UL, follower.Log.LastIndex());
        Assert.Equal(2UL, follower.Log.Term(3));
        Assert.Equal(new ulong[] { 1, 1, 2, 2 }, follower.Log.AllEntries().Select(e => e.Term));

        // A second conflicting append replaces the unstable tail again: the first view is unchanged.
        var second = new Message { From = 1, To = 2, Type = MessageType.MsgApp, Term = 3, Index = 3, LogTerm = 2 };
        second.Entries.AddRange(EntriesFrom(4, 3));
        follower.Step(second);
        Assert.Equal(new ulong[] { 2, 2 }, handedOut.Select(e => e.Term));
        Assert.Equal(new ulong[] { 1, 1, 2, 3 }, follower.Log.AllEntries().Select(e => e.Term));
    }

    /// <summary>
    /// §6.15 — acknowledging before durability (yugabyte#32875): no MsgAppResp ever covers an
    /// entry that is not persisted by the time the message may be sent, so nothing is reported
    /// committed before a quorum persisted it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AppendAcknowledgement_NeverPrecedesPersistence(bool asyncStorageWrites)
    {
        var cluster = new RawNodeCluster(3, (id, s) => Config(id, 10, 1, s, asyncStorageWrites: asyncStorageWrites));
        int checkedAcks = 0;
        foreach (RawNodePeer peer in cluster.Peers.Values)
        {
            RawNodePeer p = peer;
            p.OnReady = ready =>
            {
                ulong durable = Math.Max(p.Storage.LastIndex(), ready.Entries.Count > 0 ? ready.Entries[^1].Index : 0);
                foreach (Message m in ready.Messages)
                {
                    if (m.Type == MessageType.MsgAppResp && !m.Reject)
                    {
                        // Sync mode: sent after this Ready's entries are written.
                        Assert.False(asyncStorageWrites, "async mode must route acks through the append thread");
                        Assert.True(m.Index <= durable, $"ack of {m.Index} with only {durable} durable");
                        checkedAcks++;
                    }

                    if (m.Type == MessageType.MsgStorageAppend)
                    {
                        ulong last = m.Entries.Count > 0 ? m.Entries[^1].Index : p.Storage.LastIndex();
                        foreach (Message response in m.Responses.Where(r => r.Type == MessageType.MsgAppResp && !r.Reject))
                        {
                            Assert.True(response.Index <= Math.Max(last, p.Storage.LastIndex()));
                            checkedAcks++;
                        }
                    }
                }
            };
        }

        cluster[1].Node.Campaign();
        cluster.Stabilize();
        for (int i = 0; i < 5; i++)
        {
            cluster[1].Node.Propose(ByteString.CopyFromUtf8($"v{i}"));
            cluster.Stabilize();
        }

        Assert.True(checkedAcks > 0);
        Assert.All(cluster.Peers.Values, p => Assert.Equal(6, p.Applied.Count));
        Assert.All(cluster.Peers.Values, p => Assert.True(p.Storage.InitialState().HardState.Commit <= p.Storage.LastIndex()));
    }

    /// <summary>
    /// §6.16 — leader transfer while writes are in flight (hashicorp GH-581,
    /// TestLeaderTransferIgnoreProposal): proposals during the transfer fail explicitly, and
    /// entries proposed before it survive on the new leader.
    /// </summary>
    [Fact]
    public void LeaderTransferWithWritesInFlight_ProposalsFailLoudlyAndEarlierEntriesSurvive()
    {
        var network = Network.Create(null, null, null);
        network.Send(Hup(1));
        network.Isolate(3);
        network.Send(Proposal(1, 1, "before"));
        network.Send(new Message { From = 3, To = 1, Type = MessageType.MsgTransferLeader });
        Assert.Equal(3UL, network[1].LeadTransferee);
        Assert.Throws<ProposalDroppedException>(() => network[1].Step(Proposal(1, 1, "during")));

        network.Recover();
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Raft newLeader = network[3];
        Assert.Equal(StateType.Leader, newLeader.State);
        Assert.Contains(newLeader.Log.AllEntries(), e => e.Data.ToStringUtf8() == "before");
        Assert.DoesNotContain(newLeader.Log.AllEntries(), e => e.Data.ToStringUtf8() == "during");
        network.Send(new Message { From = 3, To = 3, Type = MessageType.MsgBeat });
        Assert.Equal(newLeader.Log.LastIndex(), newLeader.Log.Committed);
    }

    /// <summary>
    /// §6.17 — deleting committed entries when the append's previous entry was purged
    /// (openraft#511): an append anchored below our commit index must not touch the committed log.
    /// </summary>
    [Fact]
    public void AppendAnchoredBelowCommit_DoesNotTruncateCommittedEntries()
    {
        MemoryStorage storage = NewStorage(1, 2);
        storage.Append(EntriesFrom(1, 1, 1, 1, 1, 1));
        storage.SetHardState(new HardState { Term = 1, Commit = 5 });
        storage.CreateSnapshot(3, new ConfState { Voters = { 1, 2 } }, ByteString.Empty);
        storage.Compact(3);
        Raft follower = NewRaft(2, 10, 1, storage);
        follower.BecomeFollower(2, 1);

        // prev index 2 is purged here; the entries conflict with committed ones.
        var append = new Message { From = 1, To = 2, Type = MessageType.MsgApp, Term = 2, Index = 2, LogTerm = 2, Commit = 5 };
        append.Entries.AddRange(EntriesFrom(3, 2, 2, 2));
        follower.Step(append);
        Message response = Assert.Single(follower.ReadMessages());
        Assert.False(response.Reject);
        Assert.Equal(5UL, response.Index);
        Assert.Equal(new ulong[] { 1, 1 }, follower.Log.Entries(4, ulong.MaxValue).Select(e => e.Term));
        Assert.Equal(5UL, follower.Log.Committed);
    }
}
