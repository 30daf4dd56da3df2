using Google.Protobuf;
using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft;

/// <summary>
/// The Raft state machine (etcd's raft struct): follower, pre-candidate, candidate or leader.
/// Pure and deterministic: inputs are <see cref="Step"/> and <see cref="Tick"/>; outputs
/// accumulate in <see cref="Messages"/> (send now), <see cref="MessagesAfterAppend"/> (send once
/// the unstable state is durable), the log's unstable part and <see cref="ReadStates"/>, which
/// <see cref="RawNode"/> packs into Readys. Not thread-safe.
/// </summary>
internal sealed partial class Raft
{
    private readonly IRaftLogger _logger;
    private readonly Random _random;
    private readonly ulong _maxMessageBytes;
    private readonly ulong _maxUncommittedBytes;
    private readonly int _heartbeatTimeout;
    private readonly int _electionTimeout;
    private readonly bool _checkQuorum;
    private readonly bool _preVote;
    private readonly bool _disableProposalForwarding;
    private readonly bool _disableConfChangeValidation;
    private readonly bool _stepDownOnRemoval;

    // Estimated payload bytes of the uncommitted tail (leader only; reset on term change).
    private ulong _uncommittedBytes;
    private ReadOnly _readOnly;

    public Raft(RaftConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Id = config.Id;
        _logger = config.Logger ?? NullRaftLogger.Instance;
        _random = config.Random ?? new Random();
        Log = new RaftLog(config.Storage, _logger, config.EffectiveMaxCommittedBytesPerReady);
        (HardState hardState, ConfState confState) = config.Storage.InitialState();

        _maxMessageBytes = config.MaxMessageBytes;
        _maxUncommittedBytes = config.EffectiveMaxUncommittedEntriesBytes;
        Tracker = new ProgressTracker(config.MaxInflightMessages, config.EffectiveMaxInflightBytes);
        _electionTimeout = config.ElectionTicks;
        _heartbeatTimeout = config.HeartbeatTicks;
        _checkQuorum = config.CheckQuorum;
        _preVote = config.PreVote;
        _readOnly = new ReadOnly(config.ReadOnlyOption);
        _disableProposalForwarding = config.DisableProposalForwarding;
        _disableConfChangeValidation = config.DisableConfChangeValidation;
        _stepDownOnRemoval = config.StepDownOnRemoval;

        (TrackerConfig trackerConfig, ProgressMap progress) = ConfChangeRestore.Restore(new Changer(Tracker, Log.LastIndex()), confState);
        AssertConfStatesEquivalent(confState, SwitchToConfig(trackerConfig, progress));

        if (!RaftHelpers.IsEmptyHardState(hardState))
        {
            LoadState(hardState);
        }

        if (config.Applied > 0)
        {
            Log.AppliedTo(config.Applied, 0);
        }

        BecomeFollower(Term, RaftConstants.None);

        (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
        _logger.Info($"newRaft {Id:x} [peers: [{string.Join(',', Tracker.VoterNodes().Select(n => n.ToString("x", System.Globalization.CultureInfo.InvariantCulture)))}], term: {Term}, commit: {Log.Committed}, applied: {Log.Applied}, lastindex: {lastIndex}, lastterm: {lastTerm}]");
    }

    public ulong Id { get; }

    public ulong Term { get; private set; }

    public ulong Vote { get; private set; }

    public RaftLog Log { get; }

    public ProgressTracker Tracker { get; private set; }

    public StateType State { get; private set; }

    /// <summary>Whether this node is a learner in the current configuration.</summary>
    public bool IsLearner { get; private set; }

    /// <summary>The known leader, or None.</summary>
    public ulong Lead { get; private set; }

    /// <summary>The target of a leader transfer in progress (Raft thesis §3.10), or None.</summary>
    public ulong LeadTransferee { get; private set; }

    /// <summary>
    /// At least the index of the latest pending (appended, not applied) configuration change:
    /// a new change may be proposed only once the leader applied past it, so at most one is
    /// pending at a time.
    /// </summary>
    public ulong PendingConfIndex { get; private set; }

    /// <summary>Ticks since the last election timeout (leader, candidate) or since hearing from the leader (follower).</summary>
    public int ElectionElapsed { get; internal set; }

    /// <summary>Ticks since the last heartbeat (leader only).</summary>
    public int HeartbeatElapsed { get; private set; }

    /// <summary>A value in [election, 2 × election), redrawn whenever the node becomes follower or candidate.</summary>
    public int RandomizedElectionTimeout { get; internal set; }

    public ReadOnlyOption ReadOnlyOption => _readOnly.Option;

    /// <summary>Messages to other nodes that may be sent immediately.</summary>
    public List<Message> Messages { get; private set; } = [];

    /// <summary>
    /// Messages (MsgAppResp, MsgVoteResp, MsgPreVoteResp, possibly to this node itself) that may
    /// only be sent once all unstable state so far (term, vote, entries, snapshot) is durable:
    /// votes and append acknowledgements must never precede the write they vouch for.
    /// </summary>
    public List<Message> MessagesAfterAppend { get; private set; } = [];

    /// <summary>ReadIndex answers for the local node, waiting for the next Ready.</summary>
    public List<ReadState> ReadStates { get; private set; } = [];

    public bool HasLeader => Lead != RaftConstants.None;

    public SoftState SoftState => new(Lead, State);

    public HardState HardState => new() { Term = Term, Vote = Vote, Commit = Log.Committed };

    /// <summary>Hands out the immediate messages (the caller owns the list from now on).</summary>
    public List<Message> TakeMessages()
    {
        List<Message> messages = Messages;
        Messages = [];
        return messages;
    }

    /// <summary>Hands out the messages waiting for durability.</summary>
    public List<Message> TakeMessagesAfterAppend()
    {
        List<Message> messages = MessagesAfterAppend;
        MessagesAfterAppend = [];
        return messages;
    }

    public List<ReadState> TakeReadStates()
    {
        List<ReadState> readStates = ReadStates;
        ReadStates = [];
        return readStates;
    }

    /// <summary>Advances the logical clock by one tick.</summary>
    public void Tick()
    {
        if (State == StateType.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }
    }

    /// <summary>
    /// Queues <paramref name="m"/> for sending. Vote messages carry their term explicitly (see
    /// <see cref="Step"/>); every other message gets the current term, except proposals and
    /// read requests, which are forwarded like local messages. Responses that vouch for
    /// unstable state wait in <see cref="MessagesAfterAppend"/>.
    /// </summary>
    private void Send(Message m)
    {
        if (m.From == RaftConstants.None)
        {
            m.From = Id;
        }

        if (m.Type is MessageType.MsgVote or MessageType.MsgVoteResp or MessageType.MsgPreVote or MessageType.MsgPreVoteResp)
        {
            if (m.Term == 0)
            {
                // MsgVote and MsgPreVote carry the term campaigned for, responses the term of the
                // request (for granted pre-votes, a future term): never 0.
                throw new InvalidOperationException($"term should be set when sending {m.Type}");
            }
        }
        else
        {
            if (m.Term != 0)
            {
                throw new InvalidOperationException($"term should not be set when sending {m.Type} (was {m.Term})");
            }

            if (m.Type is not MessageType.MsgProp and not MessageType.MsgReadIndex)
            {
                m.Term = Term;
            }
        }

        if (m.Type is MessageType.MsgAppResp or MessageType.MsgVoteResp or MessageType.MsgPreVoteResp)
        {
            // Raft thesis §3.8: term, vote and entries are persisted before responding, so that a
            // restarted server never votes twice in a term nor forgets entries it acknowledged.
            // Rejections too (they may rest on unstable state; being rare, they take the safe path).
            MessagesAfterAppend.Add(m);
        }
        else
        {
            if (m.To == Id)
            {
                throw new InvalidOperationException($"message should not be self-addressed when sending {m.Type}");
            }

            Messages.Add(m);
        }
    }

    private void Reset(ulong term)
    {
        if (Term != term)
        {
            Term = term;
            Vote = RaftConstants.None;
        }

        Lead = RaftConstants.None;
        ElectionElapsed = 0;
        HeartbeatElapsed = 0;
        ResetRandomizedElectionTimeout();
        AbortLeaderTransfer();
        Tracker.ResetVotes();

        ulong lastIndex = Log.LastIndex();
        foreach (KeyValuePair<ulong, Progress> entry in Tracker.Progress)
        {
            Progress pr = entry.Value;
            pr.ResetState(ProgressState.Probe);
            pr.Match = entry.Key == Id ? lastIndex : 0;
            pr.Next = lastIndex + 1;
            pr.SentCommitIndex = 0;
            pr.RecentActive = false;
        }

        PendingConfIndex = 0;
        _uncommittedBytes = 0;
        _readOnly = new ReadOnly(_readOnly.Option);
    }

    internal void BecomeFollower(ulong term, ulong lead)
    {
        Reset(term);
        Lead = lead;
        State = StateType.Follower;
        _logger.Info($"{Id:x} became follower at term {Term}");
    }

    internal void BecomeCandidate()
    {
        if (State == StateType.Leader)
        {
            throw new InvalidOperationException("invalid transition [leader -> candidate]");
        }

        Reset(Term + 1);
        Vote = Id;
        State = StateType.Candidate;
        _logger.Info($"{Id:x} became candidate at term {Term}");
    }

    internal void BecomePreCandidate()
    {
        if (State == StateType.Leader)
        {
            throw new InvalidOperationException("invalid transition [leader -> pre-candidate]");
        }

        // A pre-candidate changes only its role and votes: not the term, not the vote, so a lost
        // pre-election leaves no trace.
        Tracker.ResetVotes();
        Lead = RaftConstants.None;
        State = StateType.PreCandidate;
        _logger.Info($"{Id:x} became pre-candidate at term {Term}");
    }

    internal void BecomeLeader()
    {
        if (State == StateType.Follower)
        {
            throw new InvalidOperationException("invalid transition [follower -> leader]");
        }

        Reset(Term);
        Lead = Id;
        State = StateType.Leader;

        // The leader trivially replicates to itself (Reset set its Match to the last index), and
        // is always recently active; CheckQuorum preserves that.
        Progress self = Tracker.Progress[Id];
        self.BecomeReplicate();
        self.RecentActive = true;

        // Conservatively treat everything in the log as a possibly pending configuration change:
        // no new change until the whole log is applied (scanning the tail would be expensive).
        PendingConfIndex = Log.LastIndex();

        // The empty entry of the new term: committing it commits everything before (Raft §5.4.2).
        // Its payload is 0 bytes, so it never counts against the uncommitted limit.
        if (!AppendEntries([new Entry()]))
        {
            throw new InvalidOperationException("empty entry was dropped");
        }

        _logger.Info($"{Id:x} became leader at term {Term}");
    }

    private void TickElection()
    {
        ElectionElapsed++;
        if (IsPromotable() && PastElectionTimeout())
        {
            ElectionElapsed = 0;
            StepIgnoringErrors(new Message { From = Id, Type = MessageType.MsgHup });
        }
    }

    private void TickHeartbeat()
    {
        HeartbeatElapsed++;
        ElectionElapsed++;

        if (ElectionElapsed >= _electionTimeout)
        {
            ElectionElapsed = 0;
            if (_checkQuorum)
            {
                StepIgnoringErrors(new Message { From = Id, Type = MessageType.MsgCheckQuorum });
            }

            // A transfer that did not complete within an election timeout is abandoned.
            if (State == StateType.Leader && LeadTransferee != RaftConstants.None)
            {
                AbortLeaderTransfer();
            }
        }

        if (State != StateType.Leader)
        {
            return;
        }

        if (HeartbeatElapsed >= _heartbeatTimeout)
        {
            HeartbeatElapsed = 0;
            StepIgnoringErrors(new Message { From = Id, Type = MessageType.MsgBeat });
        }
    }

    private void StepIgnoringErrors(Message m)
    {
        try
        {
            Step(m);
        }
        catch (RaftException e)
        {
            _logger.Debug($"error occurred during {m.Type}: {e.Message}");
        }
    }

    private bool PastElectionTimeout() => ElectionElapsed >= RandomizedElectionTimeout;

    private void ResetRandomizedElectionTimeout() => RandomizedElectionTimeout = _electionTimeout + _random.Next(_electionTimeout);

    /// <summary>Whether this node may become leader: a voter, not waiting for a snapshot to land.</summary>
    internal bool IsPromotable() =>
        Tracker.Progress.TryGetValue(Id, out Progress? pr) && !pr.IsLearner && !Log.HasNextOrInProgressSnapshot;

    private void LoadState(HardState state)
    {
        if (state.Commit < Log.Committed || state.Commit > Log.LastIndex())
        {
            throw new InvalidOperationException($"{Id:x} state.commit {state.Commit} is out of range [{Log.Committed}, {Log.LastIndex()}]");
        }

        Log.Committed = state.Commit;
        Term = state.Term;
        Vote = state.Vote;
    }

    /// <summary>Test hook: sets term, vote and commit as if loaded from storage.</summary>
    internal void LoadStateForTest(HardState state) => LoadState(state);

    /// <summary>Test hook: etcd's reset(term), resetting progress and timers.</summary>
    internal void ResetForTest(ulong term) => Reset(term);

    /// <summary>Test hook: etcd's bcastAppend.</summary>
    internal void BroadcastAppendForTest() => BroadcastAppend();

    /// <summary>Test hook: etcd's bcastHeartbeat.</summary>
    internal void BroadcastHeartbeatForTest() => BroadcastHeartbeat();

    /// <summary>A shallow copy (entries shared) so that forwarding never mutates the caller's message.</summary>
    private static Message CopyForForwarding(Message m, ulong to)
    {
        var copy = new Message
        {
            Type = m.Type,
            To = to,
            From = m.From,
            Term = m.Term,
            LogTerm = m.LogTerm,
            Index = m.Index,
            Commit = m.Commit,
            Context = m.Context,
        };
        copy.Entries.AddRange(m.Entries);
        return copy;
    }

    private static void AddEntries(Message m, IReadOnlyList<Entry> entries)
    {
        int count = entries.Count;
        if (count == 0)
        {
            return;
        }

        RepeatedFieldCapacity(m, count);
        for (int i = 0; i < count; i++)
        {
            m.Entries.Add(entries[i]);
        }
    }

    private static void RepeatedFieldCapacity(Message m, int count)
    {
        if (m.Entries.Capacity < m.Entries.Count + count)
        {
            m.Entries.Capacity = m.Entries.Count + count;
        }
    }

    private static Message ConfChangeProposal(ByteString data, EntryType type)
    {
        var m = new Message { Type = MessageType.MsgProp };
        m.Entries.Add(new Entry { Type = type, Data = data });
        return m;
    }
}
