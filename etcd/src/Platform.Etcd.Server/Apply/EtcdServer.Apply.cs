using System.Diagnostics;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Storage.Mvcc;
using Platform.Etcd.Storage.Wal;
using Platform.Raft;

using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    private bool _stateDirty;

    /// <summary>
    /// Applies committed entries in order, in one MVCC batch (one backend commit), then saves the
    /// server state if it changed, publishes the applied index and answers the waiters: a client
    /// hears of its write only once a read would see it. Runs on the apply thread, or on the raft
    /// loop (conf changes) while the apply thread is idle: never two at once.
    /// </summary>
    private void ApplyEntries(IReadOnlyList<Entry> entries)
    {
        var results = new List<(ulong Id, ApplyResult Result)>(entries.Count);
        Entry last = entries[^1];
        bool backend = last.Index > _backendAppliedIndex;
        long start = Stopwatch.GetTimestamp();
        using (backend ? _kv.BeginBatch() : null)
        {
            foreach (Entry e in entries)
            {
                switch (e.Type)
                {
                    case EntryType.EntryNormal:
                        ApplyNormal(e, results);
                        break;
                    case EntryType.EntryConfChange:
                        ApplyConfChangeEntry(e, results);
                        break;
                    case EntryType.EntryConfChangeV2:
                        // Never proposed by this server; raft must still see it applied.
                        _confState = _node.ApplyConfChange(ConfChangeV2.Parser.ParseFrom(e.Data));
                        break;
                    default:
                        break;
                }
            }

            if (backend)
            {
                if (_stateDirty)
                {
                    SaveServerState();
                }

                _kv.SetConsistentIndex(new RaftPosition(last.Index, last.Term));
            }
        }

        if (backend)
        {
            ServerMetrics.BackendCommitSeconds.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            _backendAppliedIndex = last.Index;
        }

        _appliedWaiter.Advance(last.Index);
        ServerMetrics.ProposalsCommitted.IncTo(Volatile.Read(ref _committedIndex));
        ServerMetrics.ProposalsApplied.IncTo(last.Index);
        foreach ((ulong id, ApplyResult result) in results)
        {
            _waits.Trigger(id, result);
        }

        ServerMetrics.ProposalsPending.Dec(Math.Min(results.Count, ServerMetrics.ProposalsPending.Value));
        ServerMetrics.UpdateStore(_kv);
    }

    /// <summary>Writes the changed lease/auth/alarm state into the open batch (atomic with it).</summary>
    private void SaveServerState()
    {
        var state = new PersistedServerState();
        _lessor.SaveTo(state.Leases);
        _auth.SaveTo(state);
        state.Alarms.AddRange(_alarms.List());
        _stateStore.Save(state);
        _stateDirty = false;
    }

    private void ApplyNormal(Entry e, List<(ulong Id, ApplyResult Result)> results)
    {
        if (e.Data.IsEmpty)
        {
            // A new leader's empty entry.
            return;
        }

        InternalRaftRequest request = InternalRaftRequest.Parser.ParseFrom(e.Data);
        ulong id = request.Header?.ID ?? request.ID;
        ApplyResult result;
        if (request.V2 is not null)
        {
            // The v2 store is memory-only: every entry after the snapshot is applied again.
            result = ApplyV2(request.V2);
        }
        else if (request.ClusterMemberAttrSet is not null)
        {
            // Membership is re-derived from the snapshot on restart: always applied.
            _membership.SetAttributes(request.ClusterMemberAttrSet.MemberID, request.ClusterMemberAttrSet.MemberAttributes);
            result = new ApplyResult(new EmptyResponse(), null);
        }
        else
        {
            // Key space and server tables commit together: one rule for both.
            bool backend = e.Index > _backendAppliedIndex;
            bool state = backend;
            if (!backend)
            {
                return;
            }

            try
            {
                result = ApplyV3(request, backend, state);
            }
            catch (EtcdException error)
            {
                if (error.Code == EtcdErrorCode.ResourceExhausted)
                {
                    // The backend refused a put over the quota: raise NOSPACE as etcd's quota check would.
                    RaiseNoSpaceAlarm();
                }

                result = new ApplyResult(null, error);
            }
            catch (MvccException error)
            {
                if (error.Error == MvccError.NoSpace)
                {
                    RaiseNoSpaceAlarm();
                }

                result = new ApplyResult(null, KvOps.Translate(error));
            }
        }

        if (id != 0)
        {
            results.Add((id, result));
        }
    }

    private void RaiseNoSpaceAlarm()
    {
        if (_alarms.Activate(MemberId, AlarmType.Nospace))
        {
            _stateDirty = true;
            _logger.LogWarning("etcdserver: alarm NOSPACE raised by member {MemberId:x}", MemberId);
        }
    }

    /// <summary>
    /// One v3 request. <paramref name="backend"/>: its MVCC effects are not in the backend yet;
    /// <paramref name="state"/>: its lease/auth/alarm effects are not in the saved server state yet.
    /// </summary>
    private ApplyResult ApplyV3(InternalRaftRequest r, bool backend, bool state)
    {
        if (r.Put is not null || r.DeleteRange is not null || r.Txn is not null || r.Range is not null)
        {
            if (!backend)
            {
                return new ApplyResult(null, null);
            }

            _auth.CheckApplyPermission(r);
        }

        switch (r)
        {
            case { Put: not null }:
                CheckNoSpace();
                using (IWriteTxn txn = _kv.Write())
                {
                    return new ApplyResult(KvOps.Put(txn, r.Put, _lessor), null);
                }

            case { DeleteRange: not null }:
                using (IWriteTxn txn = _kv.Write())
                {
                    return new ApplyResult(KvOps.DeleteRange(txn, r.DeleteRange, _lessor), null);
                }

            case { Txn: not null }:
                if (KvOps.IsReadOnly(r.Txn))
                {
                    using IReadTxn read = _kv.Read();
                    return new ApplyResult(KvOps.Txn(read, r.Txn, _lessor, _kv.CompactedRevision), null);
                }

                if (HasPuts(r.Txn))
                {
                    CheckNoSpace();

                    // The backend checks its quota per put and has no abort: a transaction that
                    // would cross the quota half-way is refused whole, before its first write.
                    CheckTxnFitsQuota(r.Txn);
                }

                using (IWriteTxn txn = _kv.Write())
                {
                    return new ApplyResult(KvOps.Txn(txn, r.Txn, _lessor, _kv.CompactedRevision), null);
                }

            case { Range: not null }:
                using (IReadTxn read = _kv.Read())
                {
                    return new ApplyResult(KvOps.Range(read, r.Range), null);
                }

            case { Compaction: not null }:
                if (!backend)
                {
                    return new ApplyResult(null, null);
                }

                Task physical = KvOps.Call(() => _kv.Compact(r.Compaction.Revision));
                return new ApplyResult(new CompactionResponse { Header = new ResponseHeader { Revision = _kv.CurrentRevision } }, null, physical);

            case { LeaseGrant: not null }:
                CheckNoSpace();
                if (!state)
                {
                    return new ApplyResult(null, null);
                }

                _stateDirty = true;
                Lease.LeaseInfo granted = _lessor.Grant(r.LeaseGrant.ID, r.LeaseGrant.TTL, IsLeader);
                return new ApplyResult(new LeaseGrantResponse { ID = granted.Id, TTL = granted.Ttl }, null);

            case { LeaseRevoke: not null }:
                return ApplyLeaseRevoke(r.LeaseRevoke.ID, backend, state);

            case { Alarm: not null }:
                return state ? ApplyAlarm(r.Alarm) : new ApplyResult(null, null);

            default:
                if (!state)
                {
                    return new ApplyResult(null, null);
                }

                IMessage? auth = _auth.Apply(r, ref _stateDirty);
                return auth is null
                    ? new ApplyResult(null, new EtcdException(EtcdErrorCode.Unknown, "etcdserver: unknown request"))
                    : new ApplyResult(auth, null);
        }
    }

    private ApplyResult ApplyLeaseRevoke(long id, bool backend, bool state)
    {
        if (!state)
        {
            return new ApplyResult(null, null);
        }

        IReadOnlyList<ByteString>? keys = _lessor.Revoke(id) ?? throw EtcdErrors.LeaseNotFound;
        _stateDirty = true;
        if (backend && keys.Count > 0)
        {
            // All the lease's keys go in one revision, as etcd's lessor.Revoke.
            using IWriteTxn txn = _kv.Write();
            foreach (ByteString key in keys.OrderBy(k => k, ByteStringOrder.Instance))
            {
                txn.DeleteRange(key.Span, default);
            }
        }

        // The revision the revoke was applied at (etcd answers with the revision of its deletes),
        // not whatever the store reached by the time the caller reads the answer.
        return new ApplyResult(new LeaseRevokeResponse { Header = new ResponseHeader { Revision = _kv.CurrentRevision } }, null);
    }

    private ApplyResult ApplyAlarm(AlarmRequest a)
    {
        var response = new AlarmResponse();
        switch (a.Action)
        {
            case AlarmRequest.Types.AlarmAction.Get:
                response.Alarms.AddRange(_alarms.List());
                break;
            case AlarmRequest.Types.AlarmAction.Activate:
                if (_alarms.Activate(a.MemberID, a.Alarm))
                {
                    _stateDirty = true;
                    response.Alarms.Add(new AlarmMember { MemberID = a.MemberID, Alarm = a.Alarm });
                }

                break;
            case AlarmRequest.Types.AlarmAction.Deactivate:
                if (_alarms.Deactivate(a.MemberID, a.Alarm))
                {
                    _stateDirty = true;
                    response.Alarms.Add(new AlarmMember { MemberID = a.MemberID, Alarm = a.Alarm });
                    if (a.Alarm == AlarmType.Nospace && !_alarms.Has(AlarmType.Nospace))
                    {
                        _kv.DisarmNoSpaceAlarm();
                    }
                }

                break;
            default:
                break;
        }

        return new ApplyResult(response, null);
    }

    /// <summary>etcd's applierV3Capped: while NOSPACE is raised, only reads, deletes and revokes pass.</summary>
    private void CheckNoSpace()
    {
        if (_alarms.Has(AlarmType.Nospace))
        {
            throw EtcdErrors.NoSpace;
        }
    }

    private void CheckTxnFitsQuota(TxnRequest txn)
    {
        long quota = _options.QuotaBackendBytes == 0 ? MvccOptions.DefaultQuotaBackendBytes : _options.QuotaBackendBytes;
        if (quota >= 0 && _kv.QuotaUsedBytes + QuotaCost.Txn(txn) >= quota)
        {
            throw EtcdErrors.NoSpace;
        }
    }

    private static bool HasPuts(TxnRequest r) =>
        r.Success.Concat(r.Failure).Any(op => op.RequestCase == RequestOp.RequestOneofCase.RequestPut
            || (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn && HasPuts(op.RequestTxn)));

    private void ApplyConfChangeEntry(Entry e, List<(ulong Id, ApplyResult Result)> results)
    {
        ConfChange cc = ConfChange.Parser.ParseFrom(e.Data);
        ApplyResult result;
        try
        {
            _membership.Validate(cc);
            _confState = _node.ApplyConfChange(cc);
            _membership.Apply(cc);
            result = new ApplyResult(new EmptyResponse(), null);
            if (cc.Type == ConfChangeType.ConfChangeRemoveNode && cc.NodeId == _membership.LocalId)
            {
                MarkRemoved("the member has been permanently removed from the cluster");
            }

            _logger.LogInformation("etcdserver: applied conf change {Type} {NodeId:x} at index {Index}", cc.Type, cc.NodeId, e.Index);
        }
        catch (EtcdException error)
        {
            // Rejected: raft must see a no-op change so its pending-change bookkeeping clears.
            _confState = _node.ApplyConfChange(new ConfChange());
            result = new ApplyResult(null, error);
        }

        if (cc.Id != 0)
        {
            results.Add((cc.Id, result));
        }
    }

    /// <summary>
    /// A snapshot from the leader: recovers the v2 store and membership from its data and swaps in
    /// the backend that came with it (at or beyond the snapshot's index: entries after the
    /// snapshot up to the backend's consistent index then skip their v3 effects, as on restart).
    /// </summary>
    private void ApplySnapshot(Snapshot snapshot)
    {
        SnapshotData data = SnapshotData.Parser.ParseFrom(snapshot.Data);
        _v2.Recover(data.V2Store.Span);
        _membership.Restore(data);
        _confState = snapshot.Metadata.ConfState.Clone();
        _snapshotIndex = snapshot.Metadata.Index;
        ReplaceBackend(snapshot.Metadata.Index);
        _appliedWaiter.Advance(snapshot.Metadata.Index);
        ServerMetrics.ProposalsApplied.IncTo(snapshot.Metadata.Index);
        _logger.LogInformation("etcdserver: applied snapshot at index {Index} (term {Term})", snapshot.Metadata.Index, snapshot.Metadata.Term);
        if (_membership.IsRemoved(_membership.LocalId))
        {
            MarkRemoved("the member has been permanently removed from the cluster");
        }
    }

    /// <summary>
    /// Raft loop, every <see cref="EtcdServerOptions.SnapshotCount"/> entries handed over: once the
    /// apply thread has applied them, a raft snapshot (v2 store + membership), the in-memory log
    /// compacted to the last <see cref="EtcdServerOptions.SnapshotCatchUpEntries"/>, old WAL
    /// segments and snap files purged.
    /// </summary>
    private void MaybeTriggerSnapshot()
    {
        if (_handedIndex <= _snapshotIndex || _handedIndex - _snapshotIndex <= (ulong)_options.SnapshotCount)
        {
            return;
        }

        // The snapshot's state must be exactly the applied index's.
        _applyQueue!.WaitIdle();
        ulong applied = _appliedWaiter.Applied;

        var data = new SnapshotData { V2Store = ByteString.CopyFrom(_v2.Save()) };
        _membership.SaveTo(data);
        Snapshot snapshot = _raftStorage.CreateSnapshot(applied, _confState, data.ToByteString());

        // The backend must hold everything up to the snapshot before the WAL below it may go
        // (etcd's ForceCommit); then the snap file, then the WAL marker (never a marker without its file).
        _kv.ForceCommit();
        _snapshotter.SaveSnap(snapshot);
#if PLATFORM_FAILPOINTS
        Storage.Failpoints.Failpoint.Evaluate(Storage.Failpoints.Failpoint.RaftAfterSaveSnap);
#endif
        _wal!.SaveSnapshot(new WalSnapshot(snapshot.Metadata.Index, snapshot.Metadata.Term, snapshot.Metadata.ConfState));
        _wal.ReleaseLockTo(snapshot.Metadata.Index);
        _snapshotIndex = applied;
        ServerMetrics.Snapshots.Inc();

        ulong compactIndex = applied > (ulong)_options.SnapshotCatchUpEntries ? applied - (ulong)_options.SnapshotCatchUpEntries : 1;
        if (compactIndex >= _raftStorage.FirstIndex())
        {
            _raftStorage.Compact(compactIndex);
        }

        _logger.LogInformation("etcdserver: saved snapshot at index {Index}, compacted raft log at {CompactIndex}", applied, compactIndex);
        WriteAheadLog.Purge(_layout.WalDir, _options.MaxWalFiles, _logger);
        _snapshotter.Purge(_options.MaxSnapshotFiles);
    }
}
