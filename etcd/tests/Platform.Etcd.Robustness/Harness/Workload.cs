using Platform.Etcd.Client;
using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>
/// Sequential clients issuing a seeded mix of etcd requests over a few keys under
/// <see cref="Prefix"/>: gets, prefix ranges, puts (unique values <c>c{client}.{n}</c>), deletes
/// (rarely of the whole prefix), compare-and-swap transactions on value and on mod revision,
/// two-key transactions, lease grants (client-chosen ids, TTL 600 s, so none expires during a run),
/// puts with a lease, revokes. Which request comes next depends only on the seed and what the
/// client saw; timing is real. Each client connects to every member (failover only when a
/// connection cannot be made, so a write is never sent twice).
/// </summary>
internal sealed class Workload
{
    public const string Prefix = "k/";

    private readonly int _seed;
    private readonly IReadOnlyList<string> _endpoints;
    private readonly Recorder _recorder;
    private readonly WorkloadOptions _options;

    public Workload(int seed, IReadOnlyList<string> endpoints, Recorder recorder, WorkloadOptions options)
    {
        _seed = seed;
        _endpoints = endpoints;
        _recorder = recorder;
        _options = options;
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Clients).Select(c => Task.Run(() => ClientLoopAsync(c, cancellationToken), CancellationToken.None)));

    private async Task ClientLoopAsync(int clientId, CancellationToken cancellationToken)
    {
        var random = new Random(HashCode.Combine(_seed, clientId, 0x5eed));
        string[] endpoints = [.. _endpoints.Skip(clientId % _endpoints.Count), .. _endpoints.Take(clientId % _endpoints.Count)];
        await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions
        {
            Endpoints = endpoints,
            DialTimeout = TimeSpan.FromSeconds(1),
            RequestTimeout = _options.RequestTimeout,
            UnhealthyEndpointBackoff = TimeSpan.FromMilliseconds(200),
        });
        var state = new ClientState(clientId, random, _options.Keys, _options.Leases);
        while (!cancellationToken.IsCancellationRequested)
        {
            KvOp request = state.Next();
            try
            {
                KvResponse response = await _recorder.RecordAsync(clientId, request, () => Recorder.SendAsync(client, request, cancellationToken));
                state.Observe(request, response);
            }
            catch (Exception)
            {
                // Whatever the failure (etcd error, timeout, transport), the outcome is unknown and
                // recorded as such; the client goes on.
                state.Failed(request);
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                // Pacing after a failure (a down member answers at once), not synchronisation.
                await Task.Delay(_options.BackoffAfterError, CancellationToken.None);
                continue;
            }

            if (_options.MaxPause > TimeSpan.Zero)
            {
                // Pacing: keeps histories to a size the checker handles in seconds.
                await Task.Delay(TimeSpan.FromTicks(random.NextInt64(_options.MaxPause.Ticks)), CancellationToken.None);
            }
        }
    }

    /// <summary>One client's generator: the next request from the seed and the client's last observations.</summary>
    private sealed class ClientState(int clientId, Random random, int keyCount, bool useLeases)
    {
        private readonly Dictionary<string, KvItem?> _seen = new(StringComparer.Ordinal);
        private readonly List<long> _leases = [];
        private int _sequence;

        public KvOp Next()
        {
            string key = Key();
            int dice = random.Next(100);
            return dice switch
            {
                < 20 => new RangeOp(key),
                < 27 => new RangeOp(Prefix, Prefix: true),
                < 50 => new PutOp(key, Value()),
                < 56 => new DeleteOp(key),
                < 57 => new DeleteOp(Prefix, Prefix: true),
                < 70 => ValueCas(key),
                < 78 => RevisionCas(key),
                < 84 => TwoKeys(key),
                < 88 when useLeases => new LeaseGrantOp(((long)(clientId + 1) << 32) | (uint)++_sequence),
                < 95 when _leases.Count > 0 => new PutOp(key, Value(), _leases[random.Next(_leases.Count)]),
                < 98 when _leases.Count > 0 => new LeaseRevokeOp(_leases[random.Next(_leases.Count)]),
                _ => new RangeOp(key),
            };
        }

        public void Observe(KvOp request, KvResponse response)
        {
            switch (request, response.Reply)
            {
                case (RangeOp { Prefix: false } get, RangeReply r):
                    _seen[get.Key] = r.Kvs.Count > 0 ? r.Kvs[0] : null;
                    break;
                case (RangeOp, RangeReply r):
                    foreach (KvItem kv in r.Kvs)
                    {
                        _seen[kv.Key] = kv;
                    }

                    break;
                case (PutOp put, _):
                    _seen[put.Key] = new KvItem(put.Key, put.Value, response.Revision, 0, 0, put.Lease);
                    break;
                case (TxnOp txn, TxnReply t) when !t.Succeeded && txn.Else is [RangeOp get] && t.Results is [RangeReply r]:
                    _seen[get.Key] = r.Kvs.Count > 0 ? r.Kvs[0] : null;
                    break;
                case (LeaseGrantOp grant, _):
                    _leases.Add(grant.Lease);
                    break;
                case (LeaseRevokeOp revoke, _):
                    _leases.Remove(revoke.Lease);
                    break;
            }
        }

        public void Failed(KvOp request)
        {
            if (request is LeaseRevokeOp revoke)
            {
                _leases.Remove(revoke.Lease);
            }
        }

        private string Key() => $"{Prefix}{random.Next(keyCount)}";

        private string Value() => $"c{clientId}.{++_sequence}";

        private TxnOp ValueCas(string key)
        {
            KvCompare compare = _seen.GetValueOrDefault(key) is { } kv
                ? new KvCompare(key, CompareTarget.Value, kv.Value)
                : new KvCompare(key, CompareTarget.Value, null);
            return new TxnOp([compare], [new PutOp(key, Value())], [new RangeOp(key)]);
        }

        private TxnOp RevisionCas(string key)
        {
            long modRevision = _seen.GetValueOrDefault(key)?.ModRevision ?? 0;
            return new TxnOp([new KvCompare(key, CompareTarget.ModRevision, Number: modRevision)], [new PutOp(key, Value())], [new RangeOp(key)]);
        }

        private TxnOp TwoKeys(string key)
        {
            string other = Key();
            if (string.Equals(other, key, StringComparison.Ordinal))
            {
                return new TxnOp([], [new PutOp(key, Value()), new RangeOp(key)], []);
            }

            long version = random.Next(3);
            return new TxnOp([new KvCompare(key, CompareTarget.Version, Number: version)], [new PutOp(key, Value()), new DeleteOp(other)], [new RangeOp(key), new RangeOp(other)]);
        }
    }
}

internal sealed record WorkloadOptions
{
    public int Clients { get; init; } = 6;

    public int Keys { get; init; } = 8;

    /// <summary>Bounds one request (and so how long an operation stays pending during a fault).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan BackoffAfterError { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Whether clients grant, use and revoke leases.</summary>
    public bool Leases { get; init; } = true;

    /// <summary>Each client pauses up to this long (uniformly) between requests.</summary>
    public TimeSpan MaxPause { get; init; } = TimeSpan.FromMilliseconds(15);
}
