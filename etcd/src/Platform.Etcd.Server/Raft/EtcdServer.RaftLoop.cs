using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Raft;
using Platform.Raft;

using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer : IRaftMessageSink
{
    // One loop iteration takes at most this many inputs, so ticks and Readys are not starved by
    // a flood of proposals (4,096 × ~300-byte puts ≈ 1.2 MB per MsgProp).
    private const int MaxInputsPerIteration = 4096;

    // A ReadIndex without an answer for 5 ticks (500 ms by default) is reissued: the leader may
    // have changed, and raft drops the request silently then.
    private const long ReadIndexRetryTicks = 5;

    // AllowSynchronousContinuations: a write to an idle loop wakes its thread directly (the only
    // continuation is the loop's blocked wait). Without it every wake-up was a thread-pool work item
    // queued behind the gRPC work of hundreds of clients, a delay added to each batch.
    private readonly Channel<LoopInput> _inputs = Channel.CreateUnbounded<LoopInput>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly ReadIndexBatcher _readBatcher = new();
    private readonly TaskCompletionSource _loopReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _loopStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IRaftTransport _transport = NullRaftTransport.Instance;
    private Thread? _loopThread;
    private ApplyQueue? _applyQueue;

    // The last index handed to the apply thread (or applied on the loop): snapshots are triggered from it.
    private ulong _handedIndex;
    private ITimer? _ticker;
    private ulong _leaderId;
    private ulong _term;
    private ulong _committedIndex;
    private long _tickCount;
    private bool _campaignChecked;
    private long _leaderChangedAt;

    /// <summary>Set when the raft loop died (a storage failure): every request fails from then on.</summary>
    private Exception? _loopFault;

    public void Receive(Message message) => Post(new StepInput(message));

    public void ReportUnreachable(ulong memberId) => Post(new UnreachableInput(memberId));

    internal bool IsLeader => Leader == MemberId;

    internal void Post(LoopInput input)
    {
        if (!_inputs.Writer.TryWrite(input))
        {
            throw EtcdErrors.Stopped;
        }
    }

    private void StartRaftLoop()
    {
        _transport = _options.Transport ?? NullRaftTransport.Instance;
        _transport.Start(this);
        _applyQueue = new ApplyQueue($"etcd-apply-{_membership.LocalId:x}", ApplyEntries, OnApplyFault);
        _loopThread = new Thread(RunLoop) { IsBackground = true, Name = $"etcd-raft-{_membership.LocalId:x}" };
        _loopThread.Start();
        _ticker = _time.CreateTimer(_ => OnTick(), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
    }

    /// <summary>Timer thread, every heartbeat: a tick for raft, and the proposals past their request timeout fail.</summary>
    private void OnTick()
    {
        _inputs.Writer.TryWrite(TickInput.Instance);
        _waits.ExpireDue(_time.GetTimestamp());
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        Task done = await Task.WhenAny(_loopReady.Task, _loopStopped.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        await done.ConfigureAwait(false);
        if (_loopFault is not null)
        {
            throw new EtcdException("etcdserver: raft loop failed: " + _loopFault.Message, _loopFault);
        }
    }

    private async Task StopRaftLoopAsync()
    {
        if (_ticker is not null)
        {
            await _ticker.DisposeAsync().ConfigureAwait(false);
        }

        _inputs.Writer.TryComplete();
        if (_loopThread is not null)
        {
            await _loopStopped.Task.ConfigureAwait(false);
        }
    }

    private void RunLoop()
    {
        var proposals = new List<ByteString>();
        var proposalIds = new List<ulong>();
        try
        {
            ProcessReadys();
            while (true)
            {
                if (!_inputs.Reader.TryRead(out LoopInput? input))
                {
                    if (!_inputs.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    {
                        break;
                    }

                    continue;
                }

                int taken = 0;
                do
                {
                    Handle(input, proposals, proposalIds);
                }
                while (++taken < MaxInputsPerIteration && _inputs.Reader.TryRead(out input));

                FlushProposals(proposals, proposalIds);
                IssueReadIndex();
                ProcessReadys();
                if (ShouldStopAsRemoved())
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            _loopFault = e;
            _logger.LogCritical(e, "etcdserver: raft loop failed; the member stops serving");
            _waits.FailAll(new EtcdException("etcdserver: raft loop failed: " + e.Message, e));
            _readBatcher.FailAll(EtcdErrors.Stopped);
            _appliedWaiter.FailAll(EtcdErrors.Stopped);
            _terminated.TrySetResult("raft loop failed: " + e.Message);
        }
        finally
        {
            // Entries handed over are durable and committed: they are applied before the store closes.
            _applyQueue!.CompleteAndJoin();
            if (_removedReason is not null)
            {
                _waits.FailAll(EtcdErrors.Stopped);
                _readBatcher.FailAll(EtcdErrors.Stopped);
                _appliedWaiter.FailAll(EtcdErrors.Stopped);
                _terminated.TrySetResult(_removedReason);
            }

            _loopStopped.TrySetResult();
        }
    }

    private void Handle(LoopInput input, List<ByteString> proposals, List<ulong> proposalIds)
    {
        switch (input)
        {
            case ProposeInput p:
                proposals.Add(p.Data);
                proposalIds.Add(p.RequestId);
                break;
            case TickInput:
                _tickCount++;
                _node.Tick();
                ByteString? retry = _readBatcher.RetryIfStale(_tickCount, ReadIndexRetryTicks);
                if (retry is not null)
                {
                    _node.ReadIndex(retry);
                }

                break;
            case ReadIndexInput:
                break;
            case ConfChangeInput c:
                FlushProposals(proposals, proposalIds);
                try
                {
                    _node.ProposeConfChange(c.Change);
                }
                catch (ProposalDroppedException)
                {
                    _waits.Trigger(c.RequestId, new ApplyResult(null, _leaderId == 0 ? EtcdErrors.NoLeader : EtcdErrors.Timeout));
                }

                break;
            case StepInput s:
                try
                {
                    _node.Step(s.Message);
                }
                catch (RaftException e)
                {
                    _logger.LogDebug(e, "etcdserver: dropped raft message {Type} from {From:x}", s.Message.Type, s.Message.From);
                }

                break;
            case UnreachableInput u:
                _node.ReportUnreachable(u.MemberId);
                break;
            case ActionInput a:
                a.Action(_node);
                break;
            default:
                throw new UnreachableException($"unknown loop input {input}");
        }
    }

    private void FlushProposals(List<ByteString> proposals, List<ulong> proposalIds)
    {
        if (proposals.Count == 0)
        {
            return;
        }

        try
        {
            _node.ProposeBatch(proposals);
            ServerMetrics.ProposalsPending.Inc(proposals.Count);
        }
        catch (ProposalDroppedException)
        {
            EtcdException error = _leaderId == 0 ? EtcdErrors.NoLeader : EtcdErrors.Timeout;
            foreach (ulong id in proposalIds)
            {
                _waits.Trigger(id, new ApplyResult(null, error));
            }

            ServerMetrics.ProposalsFailed.Inc(proposals.Count);
        }

        proposals.Clear();
        proposalIds.Clear();
    }

    /// <summary>Apply thread: an apply failed; the loop fails the member as for a storage failure.</summary>
    private void OnApplyFault(Exception e) =>
        _inputs.Writer.TryWrite(new ActionInput(_ => throw new EtcdException("etcdserver: applying committed entries failed: " + e.Message, e)));

    private void IssueReadIndex()
    {
        ByteString? context = _readBatcher.TryIssue(_tickCount);
        if (context is not null)
        {
            _node.ReadIndex(context);
        }
    }

    private void ProcessReadys()
    {
        while (_node.HasReady())
        {
            HandleReady(_node.GetReady());
            IssueReadIndex();
        }

        if (!_campaignChecked)
        {
            // Startup only: the recovered log must be applied before the check below.
            _applyQueue!.WaitIdle();
        }

        if (!_campaignChecked && _appliedWaiter.Applied >= _raftStorage.InitialState().HardState.Commit)
        {
            // The recovered log is applied, so raft knows the configuration: a sole voter need
            // not wait out an election timeout (etcd fast-forwards its ticks for the same reason).
            _campaignChecked = true;
            IReadOnlyList<ulong> voters = _membership.VoterIds();
            if (voters.Count == 1 && voters[0] == _membership.LocalId && _leaderId == 0)
            {
                _node.Campaign();
                ProcessReadys();
                return;
            }

            if (voters.Count > 1)
            {
                _loopReady.TrySetResult();
            }
        }
    }

    private void HandleReady(Ready ready)
    {
        if (ready.SoftState is SoftState soft)
        {
            OnSoftState(soft);
        }

        if (ready.HardState is HardState hard)
        {
            Volatile.Write(ref _term, hard.Term);
            Volatile.Write(ref _committedIndex, hard.Commit);
        }

        foreach (ReadState rs in ready.ReadStates)
        {
            _readBatcher.Complete(rs.RequestContext, rs.Index);
        }

        // Committed entries that earlier Readys already made durable here (always the case for a
        // leader: raft counts its own vote for an entry only after its write) go to the apply thread
        // now, so applying them overlaps this Ready's WAL write. A follower may be told an entry is
        // committed in the Ready that brings it: those wait for the write below. Conf changes are
        // applied on this thread (RawNode.ApplyConfChange), after everything handed over before them.
        IReadOnlyList<Entry> committed = ready.CommittedEntries;
        bool confChange = committed.Count > 0 && HasConfChange(committed);
        bool handedOver = false;
        if (committed.Count > 0 && !confChange && (ready.Entries.Count == 0 || committed[^1].Index < ready.Entries[0].Index))
        {
            HandOver(committed);
            handedOver = true;
        }

        // A leader sends before its own write (Raft thesis §10.2.1; etcd's raft loop does the same),
        // so the followers' WAL fsyncs overlap its own instead of following it: one fsync of latency
        // per commit instead of two. Safe because raft counts the leader's own acknowledgement only
        // once its write is durable (a self-addressed MsgAppResp stepped on Advance).
        IReadOnlyList<Message> afterSave = ready.Messages;
        if (IsLeader && ready.Messages.Count > 0)
        {
            (IReadOnlyList<Message> now, afterSave) = SplitForLeader(ready.Messages);
            if (now.Count > 0)
            {
                _transport.Send(now);
            }
        }

        if (ready.Snapshot is Snapshot snapshot)
        {
            // A leader sent us its snapshot (never happens to a single member).
            _snapshotter.SaveSnap(snapshot);
        }

        if (ready.Entries.Count > 0 || ready.HardState is not null)
        {
            long start = Stopwatch.GetTimestamp();
            _wal!.Save(ready.HardState ?? new HardState(), ready.Entries);
            if (ready.MustSync)
            {
                ServerMetrics.WalFsyncSeconds.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }

#if PLATFORM_FAILPOINTS
        Storage.Failpoints.Failpoint.Evaluate(Storage.Failpoints.Failpoint.RaftAfterSave);
#endif

        if (ready.Snapshot is Snapshot installed)
        {
            _wal!.SaveSnapshot(new Storage.Wal.WalSnapshot(installed.Metadata.Index, installed.Metadata.Term, installed.Metadata.ConfState));
            _raftStorage.ApplySnapshot(installed);

            // Saved first (etcd's apply goroutine waits for the raft loop's save the same way), and
            // after every entry handed over before it: it replaces the state they were applied to.
            _applyQueue!.WaitIdle();
            ApplySnapshot(installed);
            _handedIndex = installed.Metadata.Index;
        }

        if (ready.HardState is HardState state)
        {
            _raftStorage.SetHardState(state);
        }

        _raftStorage.Append(ready.Entries);
        if (afterSave.Count > 0)
        {
            _transport.Send(afterSave);
        }

        if (committed.Count > 0 && !handedOver)
        {
            if (confChange)
            {
                _applyQueue!.WaitIdle();
                ApplyEntries(committed);
                _handedIndex = committed[^1].Index;
            }
            else
            {
                HandOver(committed);
            }
        }

        _node.Advance(ready);
        MaybeTriggerSnapshot();
    }

    /// <summary>Hands committed entries to the apply thread (a copy: raft's lists are views of its log).</summary>
    private void HandOver(IReadOnlyList<Entry> committed)
    {
        var batch = new Entry[committed.Count];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = committed[i];
        }

        _applyQueue!.Enqueue(batch);
        _handedIndex = batch[^1].Index;
    }

    private static bool HasConfChange(IReadOnlyList<Entry> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Type is EntryType.EntryConfChange or EntryType.EntryConfChangeV2)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A leader's Ready messages split into those it may send before its WAL write (appends,
    /// heartbeats, snapshots, read-index answers: they promise nothing about its durable state) and
    /// those that must wait for it (append and vote responses), each in the Ready's order.
    /// </summary>
    internal static (IReadOnlyList<Message> Now, IReadOnlyList<Message> AfterSave) SplitForLeader(IReadOnlyList<Message> messages)
    {
        int held = 0;
        foreach (Message m in messages)
        {
            if (NeedsDurableState(m.Type))
            {
                held++;
            }
        }

        if (held == 0 || held == messages.Count)
        {
            return held == 0 ? (messages, []) : ([], messages);
        }

        var now = new List<Message>(messages.Count - held);
        var afterSave = new List<Message>(held);
        foreach (Message m in messages)
        {
            (NeedsDurableState(m.Type) ? afterSave : now).Add(m);
        }

        return (now, afterSave);

        static bool NeedsDurableState(MessageType type) =>
            type is MessageType.MsgAppResp or MessageType.MsgVoteResp or MessageType.MsgPreVoteResp;
    }

    private void OnSoftState(SoftState soft)
    {
        ulong previous = _leaderId;
        Volatile.Write(ref _leaderId, soft.Lead);
        ServerMetrics.HasLeader.Set(soft.Lead == 0 ? 0 : 1);
        ServerMetrics.IsLeader.Set(soft.RaftState == StateType.Leader ? 1 : 0);
        if (soft.Lead != previous)
        {
            if (soft.Lead != 0)
            {
                ServerMetrics.LeaderChanges.Inc();
            }

            if (previous != 0)
            {
                // A read index asked of the old leader may never be answered: fail it now (etcd's
                // ErrLeaderChanged) rather than let it wait out the request timeout.
                Volatile.Write(ref _leaderChangedAt, _time.GetTimestamp());
                _readBatcher.FailAll(EtcdErrors.LeaderChanged);
            }

            _logger.LogInformation("etcdserver: raft leader is now {Leader:x} (member {MemberId:x}, state {State})", soft.Lead, _membership.LocalId, soft.RaftState);
            if (soft.RaftState == StateType.Leader)
            {
                // etcd 3.4 without checkpoints: every lease gets its full TTL again under a new leader.
                _lessor.Promote(_options.ElectionTimeout);
            }
            else if (previous == _membership.LocalId)
            {
                _lessor.Demote();
            }
        }

        if (soft.Lead != 0)
        {
            _loopReady.TrySetResult();
        }
    }
}
