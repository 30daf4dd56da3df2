using System.Text;
using LightningDB;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Storage.Internal;

namespace Platform.Etcd.Storage.Mvcc;

internal sealed partial class MvccStore
{
    public uint Hash()
    {
        ForceCommit();
        LmdbBackend backend = AcquireBackend();
        try
        {
            IReadOnlyDictionary<string, LightningDatabase> tables = backend.Tables;
            using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            uint crc = 0;

            // Tables in name order (server tables included), each: its name, then every key and
            // value. The raft position is left out: members apply the same history at different
            // moments of their own logs.
            foreach ((string name, LightningDatabase db) in tables.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                crc = Crc32C.Update(crc, Encoding.ASCII.GetBytes(name));
                using LightningCursor cursor = txn.CreateCursor(db);
                for ((MDBResultCode rc, MDBValue k, MDBValue v) = cursor.First(); rc == MDBResultCode.Success; (rc, k, v) = cursor.Next())
                {
                    if (db == backend.Meta && (k.AsSpan().SequenceEqual(s_consistentIndexKey) || k.AsSpan().SequenceEqual(s_termKey)))
                    {
                        continue;
                    }

                    crc = Crc32C.Update(crc, k.AsSpan());
                    crc = Crc32C.Update(crc, v.AsSpan());
                }
            }

            return crc;
        }
        finally
        {
            backend.Release();
        }
    }

    public HashKvResult HashKV(long revision)
    {
        ThrowIfUnusable();

        // Every revision up to the one read goes into the backend before the snapshot begins.
        long current = Volatile.Read(ref _visibleRevision);
        ForceCommit();
        LmdbBackend backend = AcquireBackend();
        try
        {
            // The snapshot begins before the index is consulted, so no cleanup it misses can matter.
            using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            long compacted;
            HashSet<Revision> keep;
            _indexLock.EnterReadLock();
            try
            {
                compacted = _compactMainRevision;
                if (revision > 0 && revision <= compacted)
                {
                    throw new MvccException(MvccError.Compacted);
                }

                if (revision > current)
                {
                    throw new MvccException(MvccError.FutureRevision);
                }

                if (revision <= 0)
                {
                    revision = current;
                }

                keep = _index.Keep(revision);
            }
            finally
            {
                _indexLock.ExitReadLock();
            }

            uint crc = Crc32C.Update(0, "key"u8);
            using LightningCursor cursor = txn.CreateCursor(backend.Key);
            for ((MDBResultCode rc, MDBValue k, MDBValue v) = cursor.First(); rc == MDBResultCode.Success; (rc, k, v) = cursor.Next())
            {
                Revision r = Revision.FromKey(k.AsSpan());
                if (r.Main > revision)
                {
                    break;
                }

                // Revisions at or below the compaction that compaction removes (or will): skipped
                // whether or not the background cleanup got to them yet.
                if (r.Main <= compacted && keep.Count > 0 && !keep.Contains(r))
                {
                    continue;
                }

                crc = Crc32C.Update(crc, k.AsSpan());
                crc = Crc32C.Update(crc, v.AsSpan());
            }

            return new HashKvResult(crc, current, compacted);
        }
        finally
        {
            backend.Release();
        }
    }

    public ChangesResult Changes(long fromRevision, int limit = 0, bool includePrevKv = false)
    {
        ThrowIfUnusable();

        // As Read(): the revisions up to current are in the snapshot or in the captured batches.
        long current = Volatile.Read(ref _visibleRevision);
        OverlaySet overlays = Volatile.Read(ref _overlays);
        LmdbBackend backend = AcquireBackend();
        try
        {
            using LightningTransaction txn = backend.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            if (fromRevision <= Volatile.Read(ref _compactMainRevision))
            {
                throw new MvccException(MvccError.Compacted);
            }

            var events = new List<Event>();
            long next = current + 1;
            using LightningCursor cursor = txn.CreateCursor(backend.Key);
            MDBResultCode rc = cursor.SetRange(new Revision(Math.Max(fromRevision, 0), 0).ToKey());
            long lastMain = 0;
            while (rc == MDBResultCode.Success)
            {
                (_, MDBValue k, MDBValue v) = cursor.GetCurrent();
                ReadOnlySpan<byte> key = k.AsSpan();
                Revision r = Revision.FromKey(key);
                if (r.Main > current)
                {
                    break;
                }

                if (limit > 0 && events.Count >= limit && r.Main != lastMain)
                {
                    return new ChangesResult(events, r.Main, current);
                }

                lastMain = r.Main;
                KeyValue kv = KeyValue.Parser.ParseFrom(v.AsSpan());
                Event e = Revision.IsTombstone(key)
                    ? new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = kv.Key, ModRevision = r.Main } }
                    : new Event { Type = Event.Types.EventType.Put, Kv = kv };
                if (includePrevKv)
                {
                    e.PrevKv = PreviousKv(txn, backend, kv.Key.Span, r.Main - 1);
                }

                events.Add(e);
                (rc, _, _) = cursor.Next();
            }

            // The committed revisions in range are a prefix of the applied ones (commits go in
            // revision order; compaction removes only revisions below fromRevision): the rest,
            // up to current, is in the uncommitted batches, whose events carry their PrevKv.
            long committedUpTo = Math.Max(lastMain, fromRevision - 1);
            _indexLock.EnterReadLock();
            try
            {
                foreach (PendingBatch? batch in (ReadOnlySpan<PendingBatch?>)[overlays.Committing, overlays.Pending])
                {
                    foreach (RevisionChanges changes in batch?.Changes ?? [])
                    {
                        if (changes.Revision <= committedUpTo || changes.Revision > current)
                        {
                            continue;
                        }

                        if (limit > 0 && events.Count >= limit)
                        {
                            return new ChangesResult(events, changes.Revision, current);
                        }

                        foreach (Event e in changes.Events)
                        {
                            events.Add(includePrevKv || e.PrevKv is null ? e : new Event { Type = e.Type, Kv = e.Kv });
                        }

                        committedUpTo = changes.Revision;
                    }
                }
            }
            finally
            {
                _indexLock.ExitReadLock();
            }

            return new ChangesResult(events, next, current);
        }
        finally
        {
            backend.Release();
        }
    }

    /// <summary>Entries in the key table after committing what is applied, for tests.</summary>
    internal int KeyTableCount()
    {
        Commit();
        return WithBackend(b =>
        {
            using LightningTransaction txn = b.Environment.BeginTransaction(TransactionBeginFlags.ReadOnly);
            return (int)txn.GetEntriesCount(b.Key);
        });
    }

    private KeyValue? PreviousKv(LightningTransaction txn, LmdbBackend backend, ReadOnlySpan<byte> key, long atRev)
    {
        Revision modified;
        _indexLock.EnterReadLock();
        try
        {
            if (atRev < _compactMainRevision || !_index.TryGet(key, atRev, out modified, out _, out _))
            {
                return null;
            }
        }
        finally
        {
            _indexLock.ExitReadLock();
        }

        return ReadKv(txn, backend, modified);
    }
}
