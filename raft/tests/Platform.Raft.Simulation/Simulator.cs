using System.Buffers.Binary;
using Google.Protobuf;
using Platform.Raft.ConfChanges;

namespace Platform.Raft.Simulation;

/// <summary>What a finished run did, for reports and for tests that a run exercised something.</summary>
public sealed record SimulationResult(
    ulong Seed,
    int Steps,
    ulong CommittedIndex,
    int Leaders,
    int Crashes,
    int Snapshots,
    int ConfChangesApplied,
    int ReadsServed,
    long MessagesDelivered);

/// <summary>
/// Runs a cluster of <see cref="RawNode"/>s under a seeded schedule of faults: dropped, duplicated,
/// delayed and reordered messages, partitions, crash-restarts that lose unsynced work, snapshots and
/// log compaction, conf changes (voters, learners, joint), leader transfers and ReadIndex reads.
/// After every step the <see cref="InvariantChecker"/> checks election safety, log matching, leader
/// completeness, state-machine safety, monotonic commit and read linearizability; then faults stop
/// and the cluster must converge. Single-threaded and deterministic: a seed replays exactly.
/// </summary>
public sealed partial class Simulator
{
    private readonly SimulationOptions _options;
    private readonly Random _random;
    private readonly SortedDictionary<ulong, SimulatedNode> _nodes = [];
    private readonly List<Envelope> _network = [];
    private readonly InvariantChecker _checker = new();
    private readonly Queue<string> _recent = new();
    private readonly Dictionary<ulong, ulong> _pendingReads = [];
    private HashSet<ulong>? _partition;
    private ulong _nextProposal;
    private ulong _nextRead;
    private int _step;
    private int _crashes;
    private int _snapshots;
    private int _confChangesApplied;
    private int _readsServed;
    private long _delivered;
    private bool _healing;

    public Simulator(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _random = new Random(unchecked((int)options.Seed ^ (int)(options.Seed >> 32) ^ 0x5eed));
    }

    /// <summary>Runs the faulty phase, then the healing phase.</summary>
    /// <exception cref="SimulationFailureException">A property failed; the message replays it.</exception>
    public SimulationResult Run()
    {
        try
        {
            Bootstrap();
            for (_step = 0; _step < _options.Steps; _step++)
            {
                Step();
            }

            Heal();
            ulong committed = _checker.KnownCommittedIndex;
            return new SimulationResult(
                _options.Seed, _options.Steps, committed, _checker.LeaderCount, _crashes, _snapshots, _confChangesApplied, _readsServed, _delivered);
        }
        catch (Exception ex) when (ex is not SimulationFailureException)
        {
            throw Failure($"unexpected {ex}", ex);
        }
    }

    private void Bootstrap()
    {
        var voters = new List<ulong>();
        for (ulong id = 1; id <= (ulong)_options.InitialVoters; id++)
        {
            voters.Add(id);
        }

        // Every initial member starts from the same snapshot holding the initial configuration,
        // as an operator's bootstrap would write it.
        var cs = new ConfState();
        cs.Voters.AddRange(voters);
        foreach (ulong id in voters)
        {
            var node = new SimulatedNode(id);
            node.Disk.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 1, Term = 1, ConfState = cs.Clone() } });
            _nodes.Add(id, node);
            StartNode(node);
        }
    }

    private void StartNode(SimulatedNode node)
    {
        node.RecoverStateMachine();
        node.Start(new RaftConfig
        {
            Id = node.Id,
            ElectionTicks = 10,
            HeartbeatTicks = 1,
            Storage = node.Disk,
            Applied = node.StateMachine.AppliedIndex,
            PreVote = _options.PreVote,
            CheckQuorum = _options.CheckQuorum,
            AsyncStorageWrites = _options.AsyncStorageWrites,
            MaxMessageBytes = 4096,
            MaxInflightMessages = 64,
            MaxUncommittedEntriesBytes = 1 << 20,
            Random = new Random(unchecked((int)(_options.Seed * 31 + node.Id * 7919 + (ulong)node.Incarnation))),
        });
        node.DurableCommit = node.Disk.InitialState().HardState.Commit;
        CheckConfigAgrees(node);
        Record($"start {node.Id} (incarnation {node.Incarnation}, applied {node.StateMachine.AppliedIndex}) {Describe(node.StateMachine.ConfState)}");
    }

    private void Step()
    {
        InjectFaults();
        GenerateTraffic();
        DeliverMessages(maxCount: 6);
        foreach (SimulatedNode node in LiveNodes())
        {
            if (_random.NextDouble() < 0.7)
            {
                ProcessReady(node);
            }

            if (_options.AsyncStorageWrites && _random.NextDouble() < 0.6)
            {
                ProcessLocalWork(node, all: false);
            }
        }

        if (_random.NextDouble() < 0.25)
        {
            foreach (SimulatedNode node in LiveNodes())
            {
                node.Raft?.Tick();
            }
        }
    }

    private void Heal()
    {
        _healing = true;
        _partition = null;
        foreach (SimulatedNode node in _nodes.Values.Where(n => !n.IsUp && !n.Removed).ToList())
        {
            StartNode(node);
        }

        // No faults now: deliver everything, tick steadily, and wait for one leader whose whole
        // configuration has applied its log and agrees on the state.
        for (int tick = 0; tick < _options.HealingTicks; tick++)
        {
            for (int round = 0; round < 20 && (_network.Count > 0 || LiveNodes().Any(n => n.Raft!.HasReady() || n.HasLocalWork)); round++)
            {
                DeliverMessages(maxCount: int.MaxValue);
                foreach (SimulatedNode node in LiveNodes())
                {
                    ProcessReady(node);
                    ProcessLocalWork(node, all: true);
                }
            }

            if (tick % 50 == 25)
            {
                // etcd snapshots every --snapshot-count entries; a member added after the newest
                // snapshot can only catch up from a newer one (raft ignores a snapshot whose
                // configuration does not contain the recipient).
                foreach (SimulatedNode node in LiveNodes())
                {
                    TakeSnapshot(node);
                }
            }

            if (tick % 10 == 5)
            {
                ProposeTo(LiveNodes().FirstOrDefault(n => n.Raft!.BasicStatus().SoftState.RaftState == StateType.Leader));
            }

            if (Converged(out _))
            {
                InvariantChecker.CheckConverged(_nodes.Values.Where(n => n.IsUp));
                return;
            }

            foreach (SimulatedNode node in LiveNodes())
            {
                node.Raft?.Tick();
            }

            _step++;
        }

        Converged(out string why);
        throw Failure($"the healed cluster did not converge within {_options.HealingTicks} ticks: {why}");
    }

    private bool Converged(out string why)
    {
        SimulatedNode? leader = LiveNodes().FirstOrDefault(n => n.Raft!.BasicStatus().SoftState.RaftState == StateType.Leader);
        if (leader is null)
        {
            why = "no leader";
            return false;
        }

        BasicStatus leaderStatus = leader.Raft!.BasicStatus();
        ConfState config = leader.StateMachine.ConfState;
        ulong commit = leaderStatus.HardState.Commit;
        if (_checker.TermOfCommitted(commit) != leaderStatus.HardState.Term)
        {
            why = $"leader {leader.Id} has not committed an entry of its term {leaderStatus.HardState.Term}";
            return false;
        }

        foreach (ulong id in config.Voters.Concat(config.VotersOutgoing).Concat(config.Learners).Distinct())
        {
            if (!_nodes.TryGetValue(id, out SimulatedNode? member) || !member.IsUp)
            {
                why = $"member {id} of the leader's configuration is not running";
                return false;
            }

            BasicStatus status = member.Raft!.BasicStatus();
            if (status.SoftState.Lead != leader.Id || member.StateMachine.AppliedIndex != commit)
            {
                why = $"member {id} follows {status.SoftState.Lead} and applied {member.StateMachine.AppliedIndex}; leader {leader.Id} committed {commit}";
                return false;
            }
        }

        why = string.Empty;
        return true;
    }

    // A copy: applying a conf change may add nodes while the caller iterates.
    private List<SimulatedNode> LiveNodes() => [.. _nodes.Values.Where(n => n.IsUp)];

    private void ProcessReady(SimulatedNode node)
    {
        // The node may have been shut down earlier in the caller's loop (it applied its removal).
        RawNode? raft = node.Raft;
        if (raft is null || !raft.HasReady())
        {
            return;
        }

        Ready rd = raft.GetReady();
        _checker.OnReady(node, rd);
        foreach (ReadState rs in rd.ReadStates)
        {
            OnReadState(node, rs);
        }

        if (rd.SoftState is { RaftState: StateType.Leader })
        {
            Record($"{node.Id} became leader at term {raft.BasicStatus().HardState.Term}");
        }
        if (_options.AsyncStorageWrites)
        {
            foreach (Message m in rd.Messages)
            {
                if (m.To == RaftConstants.LocalAppendThread)
                {
                    node.EnqueueAppend(m);
                }
                else if (m.To == RaftConstants.LocalApplyThread)
                {
                    node.EnqueueApply(m);
                }
                else
                {
                    Send(m);
                }
            }

            return;
        }

        // The Ready contract: persist snapshot, entries and hard state; then send; then apply.
        Persist(node, rd.Snapshot, rd.Entries, rd.HardState);
        foreach (Message m in rd.Messages)
        {
            Send(m);
        }

        Apply(node, rd.CommittedEntries);
        if (node.IsUp)
        {
            raft.Advance(rd);
        }
    }

    private void ProcessLocalWork(SimulatedNode node, bool all)
    {
        if (!node.IsUp)
        {
            return;
        }

        do
        {
            bool did = false;
            if (node.TryDequeueAppend(out Message append))
            {
                HardState? hs = append.Term != 0 || append.Vote != 0 || append.Commit != 0
                    ? new HardState { Term = append.Term, Vote = append.Vote, Commit = append.Commit }
                    : null;
                Persist(node, append.Snapshot, append.Entries, hs);
                DeliverResponses(node, append.Responses);
                did = true;
            }

            if (node.IsUp && node.TryDequeueApply(out Message apply))
            {
                Apply(node, apply.Entries);
                DeliverResponses(node, apply.Responses);
                did = true;
            }

            if (!did || !node.IsUp)
            {
                return;
            }
        }
        while (all);
    }

    private void DeliverResponses(SimulatedNode node, IEnumerable<Message> responses)
    {
        foreach (Message response in responses)
        {
            if (response.To == node.Id)
            {
                // Local responses (MsgStorageAppendResp, MsgStorageApplyResp) are never lost.
                if (node.IsUp)
                {
                    node.Raft!.Step(response);
                }
            }
            else
            {
                Send(response);
            }
        }
    }

    private void Persist(SimulatedNode node, Snapshot? snapshot, IReadOnlyList<Entry> entries, HardState? hardState)
    {
        if (snapshot is not null && snapshot.Metadata is not null && snapshot.Metadata.Index > 0)
        {
            node.Disk.ApplySnapshot(snapshot);
            node.StateMachine.Restore(snapshot);
            Record($"{node.Id} installed snapshot at {snapshot.Metadata.Index}/{snapshot.Metadata.Term}");
        }

        if (entries.Count > 0)
        {
            _checker.OnDurableAppend(node, entries);
            node.Disk.Append(entries);
        }

        if (hardState is not null)
        {
            if (hardState.Commit < node.DurableCommit)
            {
                throw Failure($"node {node.Id} persisted commit {hardState.Commit} below its durable commit {node.DurableCommit}");
            }

            node.DurableCommit = hardState.Commit;
            node.Disk.SetHardState(hardState);
        }
    }

    private void Apply(SimulatedNode node, IReadOnlyList<Entry> entries)
    {
        foreach (Entry entry in entries)
        {
            if (entry.Index <= node.StateMachine.AppliedIndex)
            {
                // Covered by a snapshot installed after this entry was handed out.
                continue;
            }

            _checker.OnApply(node, entry);
            node.StateMachine.Apply(entry);
            if (entry.Type is EntryType.EntryConfChange or EntryType.EntryConfChangeV2)
            {
                ApplyConfChange(node, entry);
                if (!node.IsUp)
                {
                    return;
                }
            }
        }
    }

    private void ApplyConfChange(SimulatedNode node, Entry entry)
    {
        ConfChangeV2 cc = entry.Type == EntryType.EntryConfChange
            ? ConfChange.Parser.ParseFrom(entry.Data).AsV2()
            : ConfChangeV2.Parser.ParseFrom(entry.Data);
        ConfState before = node.StateMachine.ConfState;
        try
        {
            node.StateMachine.ConfState = node.Raft!.ApplyConfChange(cc);
        }
        catch (ConfChangeException ex)
        {
            throw Failure($"node {node.Id} could not apply the committed conf change at {entry.Index} ({RaftDescribe.DescribeConfChanges(cc)}) to {Describe(before)}: {ex.Message}", ex);
        }

        _confChangesApplied++;
        CheckConfigAgrees(node);
        Record($"{node.Id} applied conf change at {entry.Index}: {ConfChangeExtensions.FormatConfChanges(cc.Changes)} -> {Describe(node.StateMachine.ConfState)}");
        HashSet<ulong> members = Members(node.StateMachine.ConfState);
        foreach (ulong id in members.Where(id => !_nodes.ContainsKey(id)))
        {
            // The operator starts a new member with an empty disk once its addition commits.
            var joiner = new SimulatedNode(id);
            _nodes.Add(id, joiner);
            StartNode(joiner);
        }

        foreach (ulong id in Members(before).Where(id => !members.Contains(id)))
        {
            if (_nodes.TryGetValue(id, out SimulatedNode? removed) && !removed.Removed)
            {
                // As etcd does, a member is shut down for good once its removal is in effect
                // (for a joint change: once the joint configuration is left).
                removed.Removed = true;
                removed.Crash();
                Record($"shut down removed member {removed.Id}");
            }
        }
    }

    private void Send(Message m)
    {
        if (!_healing && _random.NextDouble() < _options.DropProbability)
        {
            Record($"drop {RaftDescribe.DescribeMessage(m)}");
            ReportDropped(m);
            return;
        }

        int delay = !_healing && _random.NextDouble() < _options.DelayProbability ? _random.Next(1, 30) : 0;
        _network.Add(new Envelope(m, _step + delay));
        if (!_healing && _random.NextDouble() < _options.DuplicateProbability)
        {
            _network.Add(new Envelope(m.Clone(), _step + _random.Next(0, 30)));
        }
    }

    private void ReportDropped(Message m)
    {
        if (m.Type == MessageType.MsgSnap && _nodes.TryGetValue(m.From, out SimulatedNode? sender) && sender.IsUp)
        {
            sender.Raft!.ReportSnapshot(m.To, SnapshotStatus.Failure);
        }
    }

    private void DeliverMessages(int maxCount)
    {
        for (int n = 0; n < maxCount && _network.Count > 0; n++)
        {
            int i = _healing ? 0 : _random.Next(_network.Count);
            Envelope envelope = _network[i];
            if (!_healing && envelope.DeliverAtStep > _step)
            {
                continue;
            }

            _network.RemoveAt(i);
            Message m = envelope.Message;
            if (!_nodes.TryGetValue(m.To, out SimulatedNode? target) || !target.IsUp || Partitioned(m.From, m.To))
            {
                ReportDropped(m);
                continue;
            }

            _delivered++;
            Record($"deliver {RaftDescribe.DescribeMessage(m)}");
            try
            {
                target.Raft!.Step(m);
            }
            catch (StepPeerNotFoundException)
            {
                // A response from a peer this node no longer tracks: etcd's transport ignores it too.
            }
            catch (ProposalDroppedException)
            {
                // A forwarded proposal reached a node without a leader: the client would retry.
            }

            if (m.Type == MessageType.MsgSnap && _nodes.TryGetValue(m.From, out SimulatedNode? sender) && sender.IsUp)
            {
                sender.Raft!.ReportSnapshot(m.To, SnapshotStatus.Finish);
            }
        }
    }

    private bool Partitioned(ulong a, ulong b) =>
        _partition is not null && _partition.Contains(a) != _partition.Contains(b);

    private void Record(string line)
    {
        string entry = $"[{_step}] {line}";
        _options.Trace?.WriteLine(entry);
        _recent.Enqueue(entry);
        if (_recent.Count > 60)
        {
            _recent.Dequeue();
        }
    }

    private SimulationFailureException Failure(string what, Exception? inner = null)
    {
        string message =
            $"raft simulation failed (seed {_options.Seed}, step {_step}; {_options.InitialVoters} voters, prevote={_options.PreVote}, " +
            $"checkquorum={_options.CheckQuorum}, async={_options.AsyncStorageWrites}): {what}\n" +
            $"replay: dotnet run -c Release --project raft/tests/Platform.Raft.Simulation -- --seed {_options.Seed} --steps {_options.Steps} --trace\n" +
            "last events:\n" + string.Join('\n', _recent);
        return inner is null ? new SimulationFailureException(message) : new SimulationFailureException(message, inner);
    }

    // What the application tracks from applied conf changes and snapshots must equal what raft uses.
    private void CheckConfigAgrees(SimulatedNode node)
    {
        ConfState app = node.StateMachine.ConfState;
        ConfState raft = node.Raft!.Status().Config;
        if (Describe(app) != Describe(raft))
        {
            throw Failure($"node {node.Id}: the application's configuration {Describe(app)} differs from raft's {Describe(raft)}");
        }
    }

    private static HashSet<ulong> Members(ConfState cs) => [.. cs.Voters, .. cs.VotersOutgoing, .. cs.Learners, .. cs.LearnersNext];

    private static string Describe(ConfState cs) =>
        $"voters=({string.Join(' ', cs.Voters)})" +
        (cs.VotersOutgoing.Count > 0 ? $"&&({string.Join(' ', cs.VotersOutgoing)})" : string.Empty) +
        (cs.Learners.Count > 0 ? $" learners=({string.Join(' ', cs.Learners)})" : string.Empty);

    private static ByteString ProposalData(ulong n)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, n);
        return ByteString.CopyFrom(data);
    }

    private readonly record struct Envelope(Message Message, int DeliverAtStep);
}
