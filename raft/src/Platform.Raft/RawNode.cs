using Google.Protobuf;
using Google.Protobuf.Collections;
using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft;

/// <summary>
/// A raft node driven by its caller (etcd's RawNode): the caller feeds ticks, proposals and
/// messages, collects work with <see cref="HasReady"/>/<see cref="GetReady"/>, and after handling
/// a Ready calls <see cref="Advance"/> (see <see cref="Ready"/> for the contract). Pure: no I/O, no
/// clock, no threads, randomness only from <see cref="RaftConfig.Random"/>.
/// </summary>
/// <remarks>
/// Not thread-safe: the caller serialises all calls. Exceptions: <see cref="ProposalDroppedException"/>
/// from proposals, <see cref="StepLocalMessageException"/>/<see cref="StepPeerNotFoundException"/>
/// from <see cref="Step"/>; any other exception (a storage failure, a violated invariant such as
/// a corrupted log) leaves the node unusable: discard it and restart from storage.
/// </remarks>
public sealed class RawNode
{
    private readonly Raft _raft;
    private readonly bool _asyncStorageWrites;
    private SoftState _previousSoftState;
    private HardState _previousHardState;

    // Synchronous mode: what Advance does for the accepted Ready, computed when it was accepted.
    private List<Message> _stepsOnAdvance = [];
    private bool _applyOnAdvance;
    private ulong _applyIndex;
    private ulong _applyEncodedBytes;
    private ulong _applyPayloadBytes;

    /// <summary>Creates a node from <paramref name="config"/>, recovering state from its storage.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public RawNode(RaftConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _raft = new Raft(config);
        _asyncStorageWrites = config.AsyncStorageWrites;
        _previousSoftState = _raft.SoftState;
        _previousHardState = _raft.HardState;
    }

    /// <summary>The state machine, for tests, the simulator and benchmarks in this repository.</summary>
    internal Raft Raft => _raft;

    /// <summary>
    /// Initialises a brand-new cluster member: appends one ConfChangeAddNode entry per peer at
    /// term 1, commits them and applies them, so that the node can campaign at once. The entries
    /// come out in the first Ready (to persist and, as committed entries, to apply — the
    /// application calls ApplyConfChange for them as for any other). Prefer, where possible,
    /// a storage that already holds the initial ConfState in its snapshot.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="peers"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The storage is not empty.</exception>
    public void Bootstrap(IReadOnlyList<ulong> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        if (peers.Count == 0)
        {
            throw new ArgumentException("must provide at least one peer to Bootstrap", nameof(peers));
        }

        if (_raft.Log.Storage.LastIndex() != 0)
        {
            throw new InvalidOperationException("can't bootstrap a nonempty Storage");
        }

        // Nothing is persisted yet: the first Ready must carry the HardState.
        _previousHardState = new HardState();
        _raft.BecomeFollower(1, RaftConstants.None);
        var entries = new Entry[peers.Count];
        for (int i = 0; i < peers.Count; i++)
        {
            var change = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = peers[i] };
            entries[i] = new Entry { Type = EntryType.EntryConfChange, Term = 1, Index = (ulong)i + 1, Data = change.ToByteString() };
        }

        _raft.Log.Append(entries);

        // Committed right away and applied to the tracker now, not through Log.Applied, so the
        // application still sees (and applies) them as committed entries. Applying them twice
        // is harmless: adding a node that exists is a no-op.
        _raft.Log.Committed = (ulong)entries.Length;
        foreach (ulong peer in peers)
        {
            _raft.ApplyConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = peer }.AsV2());
        }
    }

    /// <summary>Advances the logical clock by one tick (elections and heartbeats are counted in ticks).</summary>
    public void Tick() => _raft.Tick();

    /// <summary>Starts an election now (a pre-election first when PreVote is on).</summary>
    public void Campaign() => _raft.Step(new Message { Type = MessageType.MsgHup });

    /// <summary>Proposes <paramref name="data"/> for appending to the log.</summary>
    /// <exception cref="ProposalDroppedException">No leader, transfer in progress, forwarding disabled, or over the uncommitted limit.</exception>
    public void Propose(ByteString data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var m = new Message { Type = MessageType.MsgProp, From = _raft.Id };
        m.Entries.Add(new Entry { Data = data });
        _raft.Step(m);
    }

    /// <summary>
    /// Proposes several payloads in one message, appended as consecutive entries (one batch for
    /// the uncommitted limit). The entries are owned by raft from now on.
    /// </summary>
    /// <exception cref="ProposalDroppedException">As <see cref="Propose"/>.</exception>
    public void ProposeBatch(IReadOnlyList<ByteString> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            return;
        }

        var m = new Message { Type = MessageType.MsgProp, From = _raft.Id };
        RepeatedField<Entry> entries = m.Entries;
        entries.Capacity = data.Count;
        for (int i = 0; i < data.Count; i++)
        {
            entries.Add(new Entry { Data = data[i] });
        }

        _raft.Step(m);
    }

    /// <summary>
    /// Proposes a single-step configuration change. It takes effect when the application applies
    /// the committed entry with <see cref="ApplyConfChange(ConfChange)"/>. A change proposed while
    /// another is pending is turned into an empty normal entry (it never takes effect).
    /// </summary>
    /// <exception cref="ProposalDroppedException">As <see cref="Propose"/>.</exception>
    public void ProposeConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _raft.Step(ConfChangeMessage(EntryType.EntryConfChange, change.ToByteString()));
    }

    /// <summary>Proposes a configuration change, possibly joint (see <see cref="ConfChangeTransition"/>); an empty change leaves a joint configuration.</summary>
    /// <exception cref="ProposalDroppedException">As <see cref="Propose"/>.</exception>
    public void ProposeConfChange(ConfChangeV2 change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _raft.Step(ConfChangeMessage(EntryType.EntryConfChangeV2, change.ToByteString()));
    }

    /// <summary>
    /// Applies a committed configuration change to this node; the application calls it when it
    /// applies the entry (unless it rejects the change, then it must not call it).
    /// </summary>
    /// <returns>The new configuration, to store with the next snapshot.</returns>
    /// <exception cref="ConfChangeException">The change is invalid in the current configuration.</exception>
    public ConfState ApplyConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return _raft.ApplyConfChange(change.AsV2());
    }

    /// <inheritdoc cref="ApplyConfChange(ConfChange)"/>
    public ConfState ApplyConfChange(ConfChangeV2 change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return _raft.ApplyConfChange(change);
    }

    /// <summary>
    /// Advances the state machine with a message from another node (or, in async-writes mode,
    /// a response from a local storage thread).
    /// </summary>
    /// <exception cref="StepLocalMessageException">The type is local-only and the sender is not a local thread.</exception>
    /// <exception cref="StepPeerNotFoundException">A response from a node without progress in the configuration.</exception>
    /// <exception cref="ProposalDroppedException">A forwarded proposal was dropped.</exception>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (MessageTypes.IsLocal(message.Type) && !MessageTypes.IsLocalTarget(message.From))
        {
            throw new StepLocalMessageException();
        }

        if (MessageTypes.IsResponse(message.Type) && !MessageTypes.IsLocalTarget(message.From) && !_raft.Tracker.Progress.ContainsKey(message.From))
        {
            throw new StepPeerNotFoundException();
        }

        _raft.Step(message);
    }

    /// <summary>Whether <see cref="GetReady"/> has anything to return.</summary>
    public bool HasReady()
    {
        Raft r = _raft;

        // Field comparisons: HasReady runs once per loop iteration and must not allocate.
        if (r.Lead != _previousSoftState.Lead || r.State != _previousSoftState.RaftState)
        {
            return true;
        }

        if ((r.Term != _previousHardState.Term || r.Vote != _previousHardState.Vote || r.Log.Committed != _previousHardState.Commit)
            && !(r.Term == 0 && r.Vote == 0 && r.Log.Committed == 0))
        {
            return true;
        }

        return r.Log.HasNextUnstableSnapshot
            || r.Messages.Count > 0
            || r.MessagesAfterAppend.Count > 0
            || r.Log.HasNextUnstableEntries
            || r.Log.HasNextCommittedEntries(ApplyUnstableEntries)
            || r.ReadStates.Count > 0;
    }

    /// <summary>
    /// The outstanding work: what to persist, send and apply (see <see cref="Ready"/>). The Ready
    /// is accepted: it must be handled, then (synchronous mode) passed to <see cref="Advance"/>
    /// before the next GetReady.
    /// </summary>
    /// <exception cref="InvalidOperationException">Two Readys accepted without Advance in between (synchronous mode).</exception>
    public Ready GetReady()
    {
        Raft r = _raft;
        if (!_asyncStorageWrites && (_stepsOnAdvance.Count != 0 || _applyOnAdvance))
        {
            throw new InvalidOperationException("two accepted Ready structs without call to Advance");
        }

        var ready = new Ready();
        ArraySegment<Entry> entries = r.Log.NextUnstableEntries();
        ready.Entries = entries;
        ready.CommittedEntries = r.Log.NextCommittedEntries(ApplyUnstableEntries);

        SoftState softState = r.SoftState;
        if (!softState.Equals(_previousSoftState))
        {
            ready.SoftState = softState;
        }

        HardState hardState = r.HardState;
        if (!hardState.Equals(_previousHardState))
        {
            ready.HardState = hardState;
        }

        ready.Snapshot = r.Log.NextUnstableSnapshot();
        if (r.ReadStates.Count != 0)
        {
            ready.ReadStates = r.TakeReadStates();
        }

        ready.MustSync = RaftHelpers.MustSync(hardState, _previousHardState, entries.Count);

        List<Message> messages = r.TakeMessages();
        List<Message> afterAppend = r.TakeMessagesAfterAppend();
        bool needAppendResponse = r.Log.HasNextOrInProgressUnstableEntries || ready.Snapshot is not null;
        if (_asyncStorageWrites)
        {
            // The append thread persists entries, HardState and snapshot, then delivers the
            // responses that needed that durability, then tells us what became stable.
            if (entries.Count > 0 || ready.HardState is not null || ready.Snapshot is not null || afterAppend.Count > 0)
            {
                Message append = NewStorageAppendMessage(ready, afterAppend, needAppendResponse);
                messages.Add(append);
            }

            if (ready.CommittedEntries.Count > 0)
            {
                messages.Add(NewStorageApplyMessage(ready.CommittedEntries));
            }
        }
        else
        {
            // The Ready contract makes every message wait for the persistence of this Ready, so
            // responses to other nodes go out with the rest; ours are stepped on Advance.
            foreach (Message m in afterAppend)
            {
                if (m.To != r.Id)
                {
                    messages.Add(m);
                }
                else
                {
                    _stepsOnAdvance.Add(m);
                }
            }

            if (needAppendResponse)
            {
                _stepsOnAdvance.Add(NewStorageAppendResponse(ready.Snapshot));
            }
        }

        ready.Messages = messages;

        // Accept the Ready.
        if (ready.SoftState is not null)
        {
            _previousSoftState = ready.SoftState;
        }

        if (ready.HardState is not null)
        {
            _previousHardState = ready.HardState;
        }

        r.Log.AcceptUnstable();
        IReadOnlyList<Entry> committed = ready.CommittedEntries;
        if (committed.Count > 0)
        {
            ulong index = committed[^1].Index;
            ulong encodedBytes = EntrySizes.EncodedBytes(committed);
            r.Log.AcceptApplying(index, encodedBytes, ApplyUnstableEntries);
            if (!_asyncStorageWrites)
            {
                _applyOnAdvance = true;
                _applyIndex = index;
                _applyEncodedBytes = encodedBytes;
                _applyPayloadBytes = EntrySizes.PayloadBytes(committed);
            }
        }

        return ready;
    }

    /// <summary>
    /// Tells the node that the last Ready was handled: its state persisted, messages sent and
    /// committed entries applied. Not used with <see cref="RaftConfig.AsyncStorageWrites"/>.
    /// </summary>
    /// <param name="ready">The Ready handled (kept for symmetry with etcd; the work was recorded when it was accepted).</param>
    /// <exception cref="InvalidOperationException">Called in async-writes mode.</exception>
    public void Advance(Ready ready)
    {
        if (_asyncStorageWrites)
        {
            throw new InvalidOperationException("Advance must not be called when using AsyncStorageWrites");
        }

        // Same order as the responses of the async mode: our own acknowledgements (appends,
        // votes), the append thread's, then the apply thread's.
        List<Message> steps = _stepsOnAdvance;
        _stepsOnAdvance = [];
        foreach (Message m in steps)
        {
            try
            {
                _raft.Step(m);
            }
            catch (RaftException)
            {
                // etcd ignores these errors too: the steps are acknowledgements, never proposals.
            }
        }

        if (_applyOnAdvance)
        {
            _applyOnAdvance = false;
            _raft.OnEntriesApplied(_applyIndex, _applyEncodedBytes, _applyPayloadBytes);
        }
    }

    /// <summary>
    /// Requests a linearizable read point. The answer arrives as a <see cref="ReadState"/> with
    /// the same <paramref name="requestContext"/> in a later Ready (none if there is no leader
    /// or leadership changes meanwhile: retry then, with a unique context).
    /// </summary>
    public void ReadIndex(ByteString requestContext)
    {
        ArgumentNullException.ThrowIfNull(requestContext);
        var m = new Message { Type = MessageType.MsgReadIndex };
        m.Entries.Add(new Entry { Data = requestContext });
        StepIgnoringDrops(m);
    }

    /// <summary>Asks the leader to hand leadership over to <paramref name="transferee"/>.</summary>
    public void TransferLeader(ulong transferee) => StepIgnoringDrops(new Message { Type = MessageType.MsgTransferLeader, From = transferee });

    /// <summary>
    /// Forgets the current leader (follower only), so that with PreVote and CheckQuorum this node
    /// grants pre-votes at once instead of waiting out the lease: used when the application knows
    /// the leader is gone. Ignored under <see cref="ReadOnlyOption.LeaseBased"/>, where it would be unsafe.
    /// </summary>
    public void ForgetLeader() => _raft.Step(new Message { Type = MessageType.MsgForgetLeader });

    /// <summary>Reports that the last message to <paramref name="id"/> could not be sent; the leader probes it again.</summary>
    public void ReportUnreachable(ulong id) => StepIgnoringDrops(new Message { Type = MessageType.MsgUnreachable, From = id });

    /// <summary>Reports the outcome of sending a snapshot to <paramref name="id"/>.</summary>
    public void ReportSnapshot(ulong id, SnapshotStatus status) =>
        StepIgnoringDrops(new Message { Type = MessageType.MsgSnapStatus, From = id, Reject = status == SnapshotStatus.Failure });

    /// <summary>The full status, with every peer's progress on a leader. Allocates.</summary>
    public RaftStatus Status()
    {
        BasicStatus basic = BasicStatus();
        var progress = new Dictionary<ulong, ProgressStatus>();
        if (_raft.State == StateType.Leader)
        {
            foreach (KeyValuePair<ulong, Progress> entry in _raft.Tracker.Progress)
            {
                Progress pr = entry.Value;
                progress[entry.Key] = new ProgressStatus(pr.Match, pr.Next, pr.State, pr.IsLearner, pr.RecentActive, pr.IsPaused(), pr.Inflights.Count, pr.PendingSnapshot);
            }
        }

        return new RaftStatus(basic, _raft.Tracker.ConfState(), _raft.Tracker.Config.ToString(), progress);
    }

    /// <summary>The status without progress: cheap enough to call often.</summary>
    public BasicStatus BasicStatus() => new(_raft.Id, _raft.HardState, _raft.SoftState, _raft.Log.Applied, _raft.LeadTransferee);

    // Committed entries may be applied before they are durable locally only when the Ready
    // contract makes the application persist them first (synchronous mode).
    private bool ApplyUnstableEntries => !_asyncStorageWrites;

    private void StepIgnoringDrops(Message m)
    {
        try
        {
            _raft.Step(m);
        }
        catch (ProposalDroppedException)
        {
            // Fire-and-forget requests, as in etcd: errors are not reported.
        }
    }

    private Message ConfChangeMessage(EntryType type, ByteString data)
    {
        var m = new Message { Type = MessageType.MsgProp, From = _raft.Id };
        m.Entries.Add(new Entry { Type = type, Data = data });
        return m;
    }

    private Message NewStorageAppendMessage(Ready ready, List<Message> afterAppend, bool needAppendResponse)
    {
        var m = new Message { Type = MessageType.MsgStorageAppend, To = RaftConstants.LocalAppendThread, From = _raft.Id };
        m.Entries.AddRange(ready.Entries);
        if (ready.HardState is not null && !RaftHelpers.IsEmptyHardState(ready.HardState))
        {
            // The HardState travels as the message's fields; left unset when unchanged, so that
            // one rebuilt from them is empty.
            m.Term = ready.HardState.Term;
            m.Vote = ready.HardState.Vote;
            m.Commit = ready.HardState.Commit;
        }

        if (ready.Snapshot is not null)
        {
            m.Snapshot = ready.Snapshot;
        }

        // Our own acknowledgements come first so that the leader's MsgAppResp is handled while
        // the entries are still in the unstable log (fast term lookups), then the stability notice.
        m.Responses.AddRange(afterAppend);
        if (needAppendResponse)
        {
            m.Responses.Add(NewStorageAppendResponse(ready.Snapshot));
        }

        return m;
    }

    /// <summary>
    /// The notice that everything handed out for persistence so far is durable. It carries the
    /// current term and the log's last (index, term) even when this Ready has no entries: on
    /// receipt, entries are considered stable only if the term did not change meanwhile (a
    /// term change may have replaced in-flight entries with others at the same indexes: the ABA
    /// race), and attesting the last entry on every notice guarantees the unstable log is
    /// eventually truncated even if earlier notices were ignored.
    /// </summary>
    private Message NewStorageAppendResponse(Snapshot? snapshot)
    {
        var m = new Message { Type = MessageType.MsgStorageAppendResp, To = _raft.Id, From = RaftConstants.LocalAppendThread, Term = _raft.Term };
        if (_raft.Log.HasNextOrInProgressUnstableEntries)
        {
            (ulong index, ulong term) = _raft.Log.LastEntryId();
            m.Index = index;
            m.LogTerm = term;
        }

        if (snapshot is not null)
        {
            m.Snapshot = snapshot;
        }

        return m;
    }

    private Message NewStorageApplyMessage(IReadOnlyList<Entry> committed)
    {
        // Committed entries apply under no particular term: Term 0 on both messages.
        var m = new Message { Type = MessageType.MsgStorageApply, To = RaftConstants.LocalApplyThread, From = _raft.Id };
        m.Entries.AddRange(committed);
        var response = new Message { Type = MessageType.MsgStorageApplyResp, To = _raft.Id, From = RaftConstants.LocalApplyThread };
        response.Entries.AddRange(committed);
        m.Responses.Add(response);
        return m;
    }
}
