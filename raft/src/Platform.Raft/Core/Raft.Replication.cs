using Google.Protobuf;
using Google.Protobuf.Collections;
using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;

namespace Platform.Raft;

internal sealed partial class Raft
{
    /// <summary>Sends an append (entries if any, else just the commit index) to <paramref name="to"/> unless paused.</summary>
    private void SendAppend(ulong to) => MaybeSendAppend(to, sendIfEmpty: true);

    /// <summary>
    /// Sends an append with the next entries for <paramref name="to"/>, or a snapshot when they
    /// are compacted. Empty appends (commit index only) are sent only if
    /// <paramref name="sendIfEmpty"/>: they are useful alone, wasteful in a batch.
    /// </summary>
    /// <returns>Whether a message was sent.</returns>
    private bool MaybeSendAppend(ulong to, bool sendIfEmpty)
    {
        Progress pr = Tracker.Progress[to];
        if (pr.IsPaused())
        {
            return false;
        }

        ulong prevIndex = pr.Next - 1;
        if (!Log.TryTerm(prevIndex, out ulong prevTerm))
        {
            // The log was compacted past what the follower has: only a snapshot can catch it up.
            return MaybeSendSnapshot(to, pr);
        }

        IReadOnlyList<Entry> entries = [];
        bool available = true;

        // With a full window in Replicate, send only empty appends: if every in-flight append was
        // lost, an empty one (prompted by heartbeat responses) still gets acked or rejected and
        // drains the window, instead of replication stalling.
        if (pr.State != ProgressState.Replicate || !pr.Inflights.Full)
        {
            available = Log.TryEntries(pr.Next, _maxMessageBytes, out entries);
        }

        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        if (!available)
        {
            return MaybeSendSnapshot(to, pr);
        }

        var m = new Message { To = to, Type = MessageType.MsgApp, Index = prevIndex, LogTerm = prevTerm, Commit = Log.Committed };
        AddEntries(m, entries);
        Send(m);
        pr.SentEntries(entries.Count, EntrySizes.PayloadBytes(entries));
        pr.SentCommit(Log.Committed);
        return true;
    }

    /// <summary>Sends the latest snapshot to <paramref name="to"/> if it is recently active and the snapshot is available.</summary>
    private bool MaybeSendSnapshot(ulong to, Progress pr)
    {
        if (!pr.RecentActive)
        {
            _logger.Debug($"ignore sending snapshot to {to:x} since it is not recently active");
            return false;
        }

        Snapshot snapshot;
        try
        {
            snapshot = Log.GetSnapshot();
        }
        catch (SnapshotTemporarilyUnavailableException)
        {
            _logger.Debug($"{Id:x} failed to send snapshot to {to:x} because snapshot is temporarily unavailable");
            return false;
        }

        if (RaftHelpers.IsEmptySnapshot(snapshot))
        {
            throw new InvalidOperationException("need non-empty snapshot");
        }

        ulong snapshotIndex = snapshot.Metadata.Index;
        _logger.Debug($"{Id:x} [firstindex: {Log.FirstIndex()}, commit: {Log.Committed}] sent snapshot[index: {snapshotIndex}, term: {snapshot.Metadata.Term}] to {to:x} [{pr}]");
        pr.BecomeSnapshot(snapshotIndex);
        Send(new Message { To = to, Type = MessageType.MsgSnap, Snapshot = snapshot });
        return true;
    }

    private void SendHeartbeat(ulong to, ByteString context)
    {
        Progress pr = Tracker.Progress[to];

        // Never commit a follower past what it is known to match: it may not have those entries
        // (or may have different ones), and would have to panic (etcd-io/raft#197).
        ulong commit = Math.Min(pr.Match, Log.Committed);
        Send(new Message { To = to, Type = MessageType.MsgHeartbeat, Commit = commit, Context = context });
        pr.SentCommit(commit);
    }

    /// <summary>Sends appends to every peer that is not up to date and not paused.</summary>
    private void BroadcastAppend()
    {
        foreach (KeyValuePair<ulong, Progress> entry in Tracker.Progress)
        {
            if (entry.Key != Id)
            {
                SendAppend(entry.Key);
            }
        }
    }

    /// <summary>Heartbeats to every peer, carrying the context that confirms all pending reads.</summary>
    private void BroadcastHeartbeat()
    {
        ByteString context = _readOnly.HeartbeatContext();
        foreach (KeyValuePair<ulong, Progress> entry in Tracker.Progress)
        {
            if (entry.Key != Id)
            {
                SendHeartbeat(entry.Key, context);
            }
        }
    }

    /// <summary>
    /// Appends new entries at the current term (assigning terms and indexes in place). The leader
    /// acknowledges them to itself once durable, through a self-addressed MsgAppResp that waits
    /// for the write like any acknowledgement.
    /// </summary>
    /// <returns>False when the uncommitted-bytes limit refused them.</returns>
    private bool AppendEntries(RepeatedField<Entry> entries)
    {
        ulong lastIndex = Log.LastIndex();
        for (int i = 0; i < entries.Count; i++)
        {
            entries[i].Term = Term;
            entries[i].Index = lastIndex + 1 + (ulong)i;
        }

        if (!IncreaseUncommittedBytes(entries))
        {
            _logger.Warning($"{Id:x} appending new entries to log would exceed uncommitted entry size limit; dropping proposal");
            return false;
        }

        lastIndex = Log.Append(entries);
        Send(new Message { To = Id, Type = MessageType.MsgAppResp, Index = lastIndex });
        return true;
    }

    private void HandleProposal(Message m)
    {
        if (m.Entries.Count == 0)
        {
            throw new InvalidOperationException($"{Id:x} stepped empty MsgProp");
        }

        if (!Tracker.Progress.ContainsKey(Id))
        {
            // Removed from the configuration while leader: accept nothing new.
            throw new ProposalDroppedException($"{Id:x} is not a member of the configuration; dropping proposal");
        }

        if (LeadTransferee != RaftConstants.None)
        {
            _logger.Debug($"{Id:x} [term {Term}] transfer leadership to {LeadTransferee:x} is in progress; dropping proposal");
            throw new ProposalDroppedException($"{Id:x} [term {Term}] transfer leadership to {LeadTransferee:x} is in progress; dropping proposal");
        }

        for (int i = 0; i < m.Entries.Count; i++)
        {
            Entry entry = m.Entries[i];
            ConfChangeV2? change = entry.Type switch
            {
                EntryType.EntryConfChange => ConfChange.Parser.ParseFrom(entry.Data).AsV2(),
                EntryType.EntryConfChangeV2 => ConfChangeV2.Parser.ParseFrom(entry.Data),
                _ => null,
            };
            if (change is null)
            {
                continue;
            }

            bool alreadyPending = PendingConfIndex > Log.Applied;
            bool alreadyJoint = Tracker.Config.Voters.IsJoint;
            bool wantsLeaveJoint = change.Changes.Count == 0;

            string? failedCheck = null;
            if (alreadyPending)
            {
                failedCheck = $"possible unapplied conf change at index {PendingConfIndex} (applied to {Log.Applied})";
            }
            else if (alreadyJoint && !wantsLeaveJoint)
            {
                failedCheck = "must transition out of joint config first";
            }
            else if (!alreadyJoint && wantsLeaveJoint)
            {
                failedCheck = "not in joint state; refusing empty conf change";
            }

            if (failedCheck is not null && !_disableConfChangeValidation)
            {
                // The change becomes an empty normal entry: the proposal keeps its position, and
                // the application sees it fail when nothing is applied for it.
                _logger.Info($"{Id:x} ignoring conf change {RaftDescribe.DescribeConfChanges(change)} at config {Tracker.Config}: {failedCheck}");
                m.Entries[i] = new Entry { Type = EntryType.EntryNormal };
            }
            else
            {
                PendingConfIndex = Log.LastIndex() + (ulong)i + 1;
            }
        }

        if (!AppendEntries(m.Entries))
        {
            throw new ProposalDroppedException($"{Id:x} appending new entries to log would exceed uncommitted entry size limit; dropping proposal");
        }

        BroadcastAppend();
    }

    private void HandleAppendEntries(Message m)
    {
        if (m.Index < Log.Committed)
        {
            // Everything up to our commit index is already known to match: just say where we are.
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.Committed });
            return;
        }

        if (Log.TryAppend(m.Index, m.LogTerm, m.Entries, m.Commit, out ulong lastNewIndex))
        {
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = lastNewIndex });
            return;
        }

        _logger.Debug($"{Id:x} [logterm: {Log.ZeroTermOnOutOfBounds(m.Index)}, index: {m.Index}] rejected MsgApp [logterm: {m.LogTerm}, index: {m.Index}] from {m.From:x}");

        // Hint where the logs may match: the largest (index, term) with index <= m.Index and
        // term <= m.LogTerm, which skips our whole divergent tail of higher terms at once (see
        // HandleAppendResponse for the leader's half of this). m.Index >= Committed here, and so
        // is LastIndex, so the hint is at or above our commit index.
        ulong hintIndex = Math.Min(m.Index, Log.LastIndex());
        (hintIndex, ulong hintTerm) = Log.FindConflictByTerm(hintIndex, m.LogTerm);
        Send(new Message
        {
            To = m.From,
            Type = MessageType.MsgAppResp,
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            LogTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        Log.CommitTo(m.Commit);
        Send(new Message { To = m.From, Type = MessageType.MsgHeartbeatResp, Context = m.Context });
    }

    private void HandleAppendResponse(Message m, Progress pr)
    {
        // Also reached from the leader's own, self-addressed acknowledgements.
        pr.RecentActive = true;

        if (m.Reject)
        {
            // RejectHint is the next base index to try (we try RejectHint+1), LogTerm the
            // follower's term there (0 from old versions or an empty log). When the follower's
            // log is a prefix of ours, the first probe finds its end and the next succeeds. With
            // a divergent tail, probing one index per round trip could take hours; instead skip
            // every index where our term exceeds the follower's term at the hint: a match there
            // is impossible since terms only grow along a log. This probes at most once per term.
            _logger.Debug($"{Id:x} received MsgAppResp(rejected, hint: (index {m.RejectHint}, term {m.LogTerm})) from {m.From:x} for index {m.Index}");
            ulong nextProbeIndex = m.RejectHint;
            if (m.LogTerm > 0)
            {
                nextProbeIndex = Log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            }

            if (pr.MaybeDecrTo(m.Index, nextProbeIndex))
            {
                _logger.Debug($"{Id:x} decreased progress of {m.From:x} to [{pr}]");
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }

                SendAppend(m.From);
            }

            return;
        }

        // Update on a higher match, and also when the response lets a probing peer return to
        // Replicate (an empty append acked at Match: heartbeat_resp_recovers_from_probing). Not
        // for Snapshot: an ack at Match says nothing new, and PendingSnapshot would block it anyway.
        if (!pr.MaybeUpdate(m.Index) && !(pr.Match == m.Index && pr.State == ProgressState.Probe))
        {
            return;
        }

        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match + 1 >= Log.FirstIndex():
                // Whatever index the snapshot actually landed at, the follower can now catch up
                // from the log. Go through Probe so the snapshot is accounted for, then straight
                // to Replicate so the status is not misleading until the next round of appends.
                _logger.Debug($"{Id:x} recovered from needing snapshot, resumed sending replication messages to {m.From:x} [{pr}]");
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                break;
        }

        if (MaybeCommit())
        {
            // The commit index moved in our term: pending reads can be answered now.
            ReleasePendingReadIndexMessages();
            BroadcastAppend();
        }
        else if (m.From != Id && pr.CanBumpCommit(Log.Committed))
        {
            // The peer may miss the latest commit index; an append now beats the next heartbeat.
            SendAppend(m.From);
        }

        // The window may have opened for several messages (Probe to Replicate, or several freed
        // in flight): send as many as allowed, without empty ones.
        if (m.From != Id)
        {
            while (MaybeSendAppend(m.From, sendIfEmpty: false))
            {
            }
        }

        if (m.From == LeadTransferee && pr.Match == Log.LastIndex())
        {
            _logger.Info($"{Id:x} sent MsgTimeoutNow to {m.From:x} after received MsgAppResp");
            SendTimeoutNow(m.From);
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        pr.MsgAppFlowPaused = false;

        // A lagging or probing peer gets an append (empty if its window is full): this recovers
        // from a window filled by messages that were all lost, and lets a caught-up peer in Probe
        // (after ReportUnreachable) return to Replicate. In Snapshot, IsPaused makes it a no-op.
        if (pr.Match < Log.LastIndex() || pr.State == ProgressState.Probe)
        {
            SendAppend(m.From);
        }

        if (_readOnly.Option != ReadOnlyOption.Safe || m.Context.IsEmpty)
        {
            return;
        }

        _readOnly.ReceiveAck(m.From, m.Context);
        List<ReadIndexRequest>? confirmed = _readOnly.MaybeAdvance(Tracker.Config.Voters);
        if (confirmed is null)
        {
            return;
        }

        foreach (ReadIndexRequest request in confirmed)
        {
            RespondToReadIndex(request.Request, request.Index);
        }
    }

    /// <summary>Tries to advance the commit index to what a quorum has; leader only.</summary>
    private bool MaybeCommit() => Log.MaybeCommit(Tracker.Committed(), Term);

    /// <summary>
    /// Records a proposal's payload bytes against the uncommitted limit. Refuses when over it,
    /// except that anything is accepted while the uncommitted tail is empty and empty payloads
    /// are never refused (a new leader's entry, leaving a joint configuration).
    /// </summary>
    private bool IncreaseUncommittedBytes(IReadOnlyList<Entry> entries)
    {
        ulong bytes = EntrySizes.PayloadBytes(entries);
        if (_uncommittedBytes > 0 && bytes > 0 && _uncommittedBytes + bytes > _maxUncommittedBytes)
        {
            return false;
        }

        _uncommittedBytes += bytes;
        return true;
    }

    private void ReduceUncommittedBytes(ulong bytes)
    {
        // The estimate may undercount (it is reset on term changes) but never overcounts:
        // saturate at 0.
        _uncommittedBytes = bytes > _uncommittedBytes ? 0 : _uncommittedBytes - bytes;
    }

    /// <summary>The application applied entries up to <paramref name="index"/>.</summary>
    internal void OnEntriesApplied(ulong index, ulong encodedBytes, ulong payloadBytes)
    {
        AppliedTo(index, encodedBytes);
        ReduceUncommittedBytes(payloadBytes);
    }

    private void AppliedTo(ulong index, ulong encodedBytes)
    {
        ulong newApplied = Math.Max(index, Log.Applied);
        Log.AppliedTo(newApplied, encodedBytes);

        if (Tracker.Config.AutoLeave && newApplied >= PendingConfIndex && State == StateType.Leader)
        {
            // The joint configuration is applied and to be left automatically: propose the empty
            // ConfChangeV2. Its payload is empty so the size limit never refuses it, but a leader
            // transfer may; this is retried on every later apply until it goes through (or the
            // new leader leaves the joint configuration itself).
            try
            {
                Step(ConfChangeProposal(ByteString.Empty, EntryType.EntryConfChangeV2));
                _logger.Info($"initiating automatic transition out of joint configuration {Tracker.Config}");
            }
            catch (RaftException e)
            {
                _logger.Debug($"not initiating automatic transition out of joint configuration {Tracker.Config}: {e.Message}");
            }
        }
    }
}
