namespace Platform.Raft.Simulation;

/// <summary>
/// Checks the Raft safety properties (Raft paper, Figure 3) on what the simulated nodes do:
/// <list type="bullet">
/// <item>Election safety: at most one leader per term.</item>
/// <item>Log matching: two durable entries with the same index and term have the same content and
/// the same predecessor term, which by induction makes the logs identical up to that index.</item>
/// <item>Leader completeness: a new leader's log holds every entry known to be committed.</item>
/// <item>State-machine safety: no two nodes apply different entries at the same index, and every
/// node applies without gaps.</item>
/// <item>Monotonic commit: a node's commit index never decreases within an incarnation.</item>
/// </list>
/// Each check is O(entries touched), so it runs after every step.
/// </summary>
internal sealed class InvariantChecker
{
    private readonly Dictionary<ulong, ulong> _leaderByTerm = [];
    private readonly Dictionary<(ulong Index, ulong Term), (ulong DataHash, ulong PrevTerm)> _durable = [];
    // Index -> the entry's term and content, and the term of the node that first reported it
    // committed: an upper bound of the term in which it was committed.
    private readonly Dictionary<ulong, (ulong Term, ulong DataHash, ulong CommitTerm)> _committed = [];

    public int LeaderCount => _leaderByTerm.Count;

    /// <summary>The highest index any node has been told is committed.</summary>
    public ulong KnownCommittedIndex { get; private set; }

    /// <summary>The highest index any node has applied: writes a client may have seen acknowledged.</summary>
    public ulong KnownAppliedIndex { get; private set; }

    public ulong? TermOfCommitted(ulong index) => _committed.TryGetValue(index, out (ulong Term, ulong, ulong) c) ? c.Term : null;

    public void OnReady(SimulatedNode node, Ready rd)
    {
        BasicStatus status = node.Raft!.BasicStatus();
        if (rd.HardState is not null)
        {
            if (rd.HardState.Commit < node.LastCommit)
            {
                throw new SimulationFailureException($"node {node.Id} commit went back from {node.LastCommit} to {rd.HardState.Commit}");
            }

            node.LastCommit = rd.HardState.Commit;
        }

        foreach (Entry e in rd.CommittedEntries)
        {
            RecordCommitted(node, e, status.HardState.Term);
        }

        if (rd.SoftState is { RaftState: StateType.Leader })
        {
            ulong term = status.HardState.Term;
            if (_leaderByTerm.TryGetValue(term, out ulong other) && other != node.Id)
            {
                throw new SimulationFailureException($"two leaders in term {term}: {other} and {node.Id}");
            }

            _leaderByTerm[term] = node.Id;
            CheckLeaderCompleteness(node, rd, term);
        }
    }

    public void OnDurableAppend(SimulatedNode node, IReadOnlyList<Entry> entries)
    {
        ulong prevTerm = TermOrZero(node.Disk, entries[0].Index - 1);
        foreach (Entry e in entries)
        {
            (ulong, ulong) value = (Hash(e), prevTerm);
            if (_durable.TryGetValue((e.Index, e.Term), out (ulong DataHash, ulong PrevTerm) seen))
            {
                if (seen.DataHash != value.Item1)
                {
                    throw new SimulationFailureException($"log matching: node {node.Id} stored a different entry at {e.Index}/{e.Term}");
                }

                if (prevTerm != 0 && seen.PrevTerm != 0 && seen.PrevTerm != prevTerm)
                {
                    throw new SimulationFailureException($"log matching: node {node.Id} stored {e.Index}/{e.Term} after term {prevTerm}, another node after term {seen.PrevTerm}");
                }
            }
            else
            {
                _durable[(e.Index, e.Term)] = value;
            }

            prevTerm = e.Term;
        }
    }

    public void OnApply(SimulatedNode node, Entry e)
    {
        RecordCommitted(node, e, node.Raft!.BasicStatus().HardState.Term);
        KnownAppliedIndex = Math.Max(KnownAppliedIndex, e.Index);
    }

    /// <summary>After healing: every running member of the final configuration has the same state.</summary>
    public static void CheckConverged(IEnumerable<SimulatedNode> nodes)
    {
        SimulatedNode[] members = [.. nodes];
        ulong maxApplied = members.Max(n => n.StateMachine.AppliedIndex);
        SimulatedNode[] atMax = [.. members.Where(n => n.StateMachine.AppliedIndex == maxApplied)];
        if (atMax.Select(n => n.StateMachine.StateHash).Distinct().Count() > 1)
        {
            throw new SimulationFailureException(
                $"state machines differ at index {maxApplied}: {string.Join(", ", atMax.Select(n => $"{n.Id}={n.StateMachine.StateHash:x}"))}");
        }
    }

    private void RecordCommitted(SimulatedNode node, Entry e, ulong nodeTerm)
    {
        ulong hash = Hash(e);
        if (_committed.TryGetValue(e.Index, out (ulong Term, ulong DataHash, ulong CommitTerm) c))
        {
            if (c.Term != e.Term || c.DataHash != hash)
            {
                throw new SimulationFailureException(
                    $"state-machine safety: node {node.Id} committed {e.Index}/{e.Term}, but {e.Index}/{c.Term} was committed before with other content");
            }
        }
        else
        {
            _committed[e.Index] = (e.Term, hash, nodeTerm);
        }

        KnownCommittedIndex = Math.Max(KnownCommittedIndex, e.Index);
    }

    private void CheckLeaderCompleteness(SimulatedNode leader, Ready rd, ulong leaderTerm)
    {
        // The leader's log: durable entries, then unsynced appends still queued, then this Ready's.
        var log = new SortedDictionary<ulong, ulong>();
        IEnumerable<IEnumerable<Entry>> pending = leader.PendingAppends.Select(m => (IEnumerable<Entry>)m.Entries).Append(rd.Entries);
        foreach (IEnumerable<Entry> batch in pending)
        {
            foreach (Entry e in batch)
            {
                // A later append replaces the tail from its first index on.
                foreach (ulong stale in log.Keys.Where(k => k >= e.Index).ToList())
                {
                    log.Remove(stale);
                }

                log[e.Index] = e.Term;
            }
        }

        ulong floor = leader.Disk.FirstIndex() - 1;
        for (ulong i = KnownCommittedIndex; i > floor && i > 0; i--)
        {
            // Only entries committed in earlier terms must be there: a later leader may already have
            // committed more while this one's Ready was still unprocessed.
            if (!_committed.TryGetValue(i, out (ulong Term, ulong DataHash, ulong CommitTerm) c) || c.CommitTerm >= leaderTerm)
            {
                continue;
            }

            ulong term = log.TryGetValue(i, out ulong t) ? t : TermOrZero(leader.Disk, i);
            if (term != c.Term)
            {
                throw new SimulationFailureException(
                    $"leader completeness: new leader {leader.Id} has {(term == 0 ? "no entry" : $"term {term}")} at committed index {i} (committed in term {c.Term})");
            }
        }
    }

    private static ulong TermOrZero(MemoryStorage storage, ulong index)
    {
        try
        {
            return index == 0 ? 0 : storage.Term(index);
        }
        catch (RaftStorageException)
        {
            return 0;
        }
    }

    private static ulong Hash(Entry e) =>
        SimulatedStateMachine.Mix((ulong)e.Type * 31 + 17, e.Data.Span);
}
