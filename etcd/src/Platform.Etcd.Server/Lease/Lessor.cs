using Google.Protobuf;
using Google.Protobuf.Collections;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Server.Lease;

/// <summary>A lease as granted.</summary>
internal sealed record LeaseInfo(long Id, long Ttl);

/// <summary>
/// etcd's lessor (lease/lessor.go): leases with their TTL and attached keys. Grants and revokes
/// arrive through raft (apply order); renewals and expiry are the leader's (the primary's) alone:
/// only it keeps real expiry times, followers hold every lease "forever" until promoted, and a
/// new leader gives each lease its full TTL (plus the election timeout) again, as etcd 3.4 does
/// without lease checkpoints. Thread-safe.
/// </summary>
internal sealed class Lessor(EtcdServerOptions options, TimeProvider time)
{
    /// <summary>etcd's MaxLeaseTTL: 9,000,000,000 seconds.</summary>
    public const long MaxLeaseTtlSeconds = 9_000_000_000;

    // etcd retries the revoke of an expired lease after 3 s if it is still there.
    private static readonly TimeSpan s_revokeRetry = TimeSpan.FromSeconds(3);
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Entry> _leases = [];
    private bool _primary;
    private int _count;

    public bool HasLeases => Volatile.Read(ref _count) > 0;

    public bool IsPrimary
    {
        get
        {
            lock (_lock)
            {
                return _primary;
            }
        }
    }

    public bool Exists(long id)
    {
        lock (_lock)
        {
            return _leases.ContainsKey(id);
        }
    }

    /// <summary>Grants a lease (apply path). A TTL below the minimum is raised to it, as etcd does.</summary>
    public LeaseInfo Grant(long id, long ttl, bool primary)
    {
        if (id == 0)
        {
            throw EtcdErrors.LeaseNotFound;
        }

        if (ttl > MaxLeaseTtlSeconds)
        {
            throw EtcdErrors.LeaseTtlTooLarge;
        }

        lock (_lock)
        {
            if (_leases.ContainsKey(id))
            {
                throw EtcdErrors.LeaseExist;
            }

            var entry = new Entry(id, Math.Max(ttl, options.MinLeaseTtlSeconds));
            entry.Expiry = _primary ? time.GetUtcNow().AddSeconds(entry.Ttl) : DateTimeOffset.MaxValue;
            _leases[id] = entry;
            _count = _leases.Count;
            return new LeaseInfo(id, entry.Ttl);
        }
    }

    /// <summary>Removes a lease (apply path) and returns the keys attached to it, or null when there is no such lease.</summary>
    public IReadOnlyList<ByteString>? Revoke(long id)
    {
        lock (_lock)
        {
            if (!_leases.Remove(id, out Entry? entry))
            {
                return null;
            }

            _count = _leases.Count;
            return [.. entry.Keys];
        }
    }

    public void Attach(long id, ByteString key)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(id, out Entry? entry))
            {
                entry.Keys.Add(key);
            }
        }
    }

    public void Detach(long id, ByteString key)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(id, out Entry? entry))
            {
                entry.Keys.Remove(key);
            }
        }
    }

    /// <summary>KeepAlive: the lease gets its full TTL from now. Leader only.</summary>
    /// <returns>The TTL granted.</returns>
    public long Renew(long id)
    {
        lock (_lock)
        {
            if (!_primary)
            {
                throw EtcdErrors.NotLeader;
            }

            if (!_leases.TryGetValue(id, out Entry? entry))
            {
                throw EtcdErrors.LeaseNotFound;
            }

            entry.Expiry = time.GetUtcNow().AddSeconds(entry.Ttl);
            entry.RevokeProposedAt = null;
            return entry.Ttl;
        }
    }

    /// <summary>The granted TTL, the remaining seconds (rounded up; -1 = not primary: unknown) and the keys.</summary>
    public (long GrantedTtl, long RemainingTtl, IReadOnlyList<ByteString> Keys)? TimeToLive(long id)
    {
        lock (_lock)
        {
            if (!_leases.TryGetValue(id, out Entry? entry))
            {
                return null;
            }

            long remaining = entry.Expiry == DateTimeOffset.MaxValue
                ? entry.Ttl
                : Math.Max(0, (long)Math.Ceiling((entry.Expiry - time.GetUtcNow()).TotalSeconds));
            return (entry.Ttl, remaining, [.. entry.Keys.Order(Apply.ByteStringOrder.Instance)]);
        }
    }

    public IReadOnlyList<long> Leases()
    {
        lock (_lock)
        {
            return [.. _leases.Keys.Order()];
        }
    }

    /// <summary>This member became leader: every lease expires its TTL + <paramref name="extend"/> from now.</summary>
    public void Promote(TimeSpan extend)
    {
        lock (_lock)
        {
            _primary = true;
            DateTimeOffset now = time.GetUtcNow();
            foreach (Entry entry in _leases.Values)
            {
                entry.Expiry = now + extend + TimeSpan.FromSeconds(entry.Ttl);
                entry.RevokeProposedAt = null;
            }
        }
    }

    /// <summary>This member lost leadership: leases no longer expire here.</summary>
    public void Demote()
    {
        lock (_lock)
        {
            _primary = false;
            foreach (Entry entry in _leases.Values)
            {
                entry.Expiry = DateTimeOffset.MaxValue;
            }
        }
    }

    /// <summary>Up to <paramref name="limit"/> expired leases whose revoke should be proposed now (primary only).</summary>
    public IReadOnlyList<long> TakeExpired(int limit)
    {
        lock (_lock)
        {
            if (!_primary)
            {
                return [];
            }

            DateTimeOffset now = time.GetUtcNow();
            var expired = new List<long>();
            foreach (Entry entry in _leases.Values.OrderBy(e => e.Expiry))
            {
                if (entry.Expiry > now || expired.Count >= limit)
                {
                    break;
                }

                if (entry.RevokeProposedAt is DateTimeOffset at && now - at < s_revokeRetry)
                {
                    continue;
                }

                entry.RevokeProposedAt = now;
                expired.Add(entry.Id);
            }

            return expired;
        }
    }

    public void SaveTo(RepeatedField<LeaseRecord> records)
    {
        lock (_lock)
        {
            records.AddRange(_leases.Values.OrderBy(e => e.Id).Select(e => new LeaseRecord { ID = e.Id, TTL = e.Ttl }));
        }
    }

    /// <summary>Restores leases (not expiring until promoted) and re-attaches the keys the backend holds for them.</summary>
    public void Restore(IEnumerable<LeaseRecord> records, IKvStore kv)
    {
        lock (_lock)
        {
            _leases.Clear();
            foreach (LeaseRecord r in records)
            {
                _leases[r.ID] = new Entry(r.ID, r.TTL) { Expiry = DateTimeOffset.MaxValue };
            }

            _count = _leases.Count;
            if (_leases.Count == 0)
            {
                return;
            }

            foreach (KeyValue item in kv.Range([0], [0], new RangeOptions(KeysOnly: true)).Kvs)
            {
                if (item.Lease != 0 && _leases.TryGetValue(item.Lease, out Entry? entry))
                {
                    entry.Keys.Add(item.Key);
                }
            }
        }
    }

    private sealed class Entry(long id, long ttl)
    {
        public long Id { get; } = id;

        public long Ttl { get; } = ttl;

        public DateTimeOffset Expiry { get; set; }

        public DateTimeOffset? RevokeProposedAt { get; set; }

        public HashSet<ByteString> Keys { get; } = [];
    }
}
