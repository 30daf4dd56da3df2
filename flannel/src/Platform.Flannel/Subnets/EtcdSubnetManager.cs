using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Platform.Etcd.Client;
using Platform.Flannel.Config;

namespace Platform.Flannel.Subnets;

/// <summary>
/// flannel's etcd subnet manager (<c>pkg/subnet/etcd/local_manager.go</c> + <c>registry.go</c>) on the
/// v3 client. Keys: <c>&lt;prefix&gt;/config</c> and <c>&lt;prefix&gt;/subnets/&lt;a.b.c.d-len&gt;</c>.
/// </summary>
internal sealed class EtcdSubnetManager : ISubnetManager
{
    // flannel's tryAcquireLease loop: a lost creation race is retried this many times.
    private const int MaxAcquireAttempts = 10;

    // flannel collects at most this many free subnets before choosing one at random.
    private const int MaxCandidates = 100;

    private static readonly TimeSpan s_minBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(5);

    private readonly IEtcdClient _client;
    private readonly SubnetManagerOptions _options;
    private readonly string _configKey;
    private readonly string _subnetsPrefix;

    public EtcdSubnetManager(IEtcdClient client, SubnetManagerOptions options)
    {
        _client = client;
        _options = options;
        string prefix = options.Prefix.TrimEnd('/');
        _configKey = prefix + "/config";
        _subnetsPrefix = prefix + "/subnets/";
    }

    public async Task<NetworkConfig> GetNetworkConfigAsync(CancellationToken cancellationToken = default)
    {
        RangeResult result = await _client.Kv.GetAsync(_configKey, cancellationToken).ConfigureAwait(false);
        KeyValue kv = result.Kv ?? throw new NetworkConfigNotFoundException();
        return NetworkConfig.Parse(kv.ValueString);
    }

    public async Task<SubnetLease> AcquireLeaseAsync(NetworkConfig config, LeaseAttrs attrs, Ip4Net? previousSubnet = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(attrs);
        for (int attempt = 0; attempt < MaxAcquireAttempts; attempt++)
        {
            RangeResult listed = await _client.Kv.GetPrefixAsync(_subnetsPrefix, cancellationToken).ConfigureAwait(false);
            List<SubnetLease> leases = [];
            foreach (KeyValue kv in listed.Kvs)
            {
                if (ToLease(kv, expiration: null) is SubnetLease lease)
                {
                    leases.Add(lease);
                }
            }

            // 1. This host's previous lease, found by its PublicIP.
            SubnetLease? ours = leases.FirstOrDefault(l => l.Attrs.PublicIP == attrs.PublicIP);
            if (ours is not null)
            {
                if (config.IsCompatible(ours.Subnet))
                {
                    return ours.IsReservation
                        ? await PutReservationAsync(ours.Subnet, attrs, cancellationToken).ConfigureAwait(false)
                        : await UpdateAsync(ours.Subnet, attrs, cancellationToken).ConfigureAwait(false);
                }

                // Left over from another network config: free it, then allocate afresh.
                await _client.Kv.DeleteAsync(Key(ours.Subnet), cancellationToken: cancellationToken).ConfigureAwait(false);
                leases.Remove(ours);
            }

            // 2. The subnet named in the old subnet.env, when still free.
            Ip4Net subnet;
            if (previousSubnet is Ip4Net previous && config.IsCompatible(previous) && !leases.Any(l => l.Subnet.Overlaps(previous)))
            {
                subnet = previous;
            }
            else
            {
                // 3. A random free subnet among the first MaxCandidates from SubnetMin.
                List<Ip4Net> candidates = [];
                ulong step = 1UL << (32 - config.SubnetLen);
                for (ulong address = config.SubnetMin; address <= config.SubnetMax && candidates.Count < MaxCandidates; address += step)
                {
                    var candidate = new Ip4Net((uint)address, config.SubnetLen);
                    if (!leases.Any(l => l.Subnet.Overlaps(candidate)))
                    {
                        candidates.Add(candidate);
                    }
                }

                if (candidates.Count == 0)
                {
                    throw new SubnetsExhaustedException();
                }

                subnet = candidates[_options.Random.Next(candidates.Count)];
            }

            if (await TryCreateAsync(subnet, attrs, cancellationToken).ConfigureAwait(false) is SubnetLease created)
            {
                return created;
            }
        }

        throw new EtcdClientException("Max retries reached trying to acquire a subnet");
    }

    public Task<SubnetLease> RenewLeaseAsync(SubnetLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return lease.IsReservation
            ? PutReservationAsync(lease.Subnet, lease.Attrs, cancellationToken)
            : UpdateAsync(lease.Subnet, lease.Attrs, cancellationToken);
    }

    public async IAsyncEnumerable<LeaseBatch> WatchLeasesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        TimeSpan backoff = s_minBackoff;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RangeResult? listed = null;
            try
            {
                listed = await _client.Kv.GetPrefixAsync(_subnetsPrefix, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdClientException)
            {
                // Retried below after the backoff.
            }

            if (listed is null)
            {
                await Task.Delay(backoff, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                backoff = Next(backoff);
                continue;
            }

            List<LeaseEvent> snapshot = [];
            foreach (KeyValue kv in listed.Kvs)
            {
                if (await ToLeaseWithTtlAsync(kv, cancellationToken).ConfigureAwait(false) is SubnetLease lease)
                {
                    snapshot.Add(new LeaseEvent(LeaseEventType.Added, lease));
                }
            }

            long revision = listed.Header.Revision;
            yield return new LeaseBatch(IsSnapshot: true, snapshot, revision);

            var options = new WatchOptions { StartRevision = revision + 1, PrevKv = true };
            IAsyncEnumerator<WatchResponse> watch = _client.Watch.WatchAsync(KeyRange.Prefix(_subnetsPrefix), options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool compacted = false;
                    bool moved;
                    try
                    {
                        moved = await watch.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (EtcdCompactedException)
                    {
                        // Events between our revision and the compaction are gone: re-list at once.
                        compacted = true;
                        moved = false;
                    }
                    catch (EtcdClientException) when (!cancellationToken.IsCancellationRequested)
                    {
                        moved = false;
                    }

                    if (!moved)
                    {
                        if (!compacted)
                        {
                            await Task.Delay(backoff, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                            backoff = Next(backoff);
                        }

                        break;
                    }

                    backoff = s_minBackoff;
                    WatchResponse response = watch.Current;
                    if (response.IsProgressNotify)
                    {
                        continue;
                    }

                    List<LeaseEvent> events = [];
                    foreach (WatchEvent e in response.Events)
                    {
                        if (e.Type == WatchEventType.Put)
                        {
                            if (await ToLeaseWithTtlAsync(e.Kv, cancellationToken).ConfigureAwait(false) is SubnetLease added)
                            {
                                events.Add(new LeaseEvent(LeaseEventType.Added, added));
                            }
                        }
                        else if (ToLease(e.PrevKv ?? e.Kv, expiration: null, keyOnly: e.PrevKv is null) is SubnetLease removed)
                        {
                            events.Add(new LeaseEvent(LeaseEventType.Removed, removed));
                        }
                    }

                    if (events.Count > 0)
                    {
                        yield return new LeaseBatch(IsSnapshot: false, events, response.Header.Revision);
                    }
                }
            }
            finally
            {
                await watch.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan Next(TimeSpan backoff) => backoff * 2 > s_maxBackoff ? s_maxBackoff : backoff * 2;

    private string Key(Ip4Net subnet) => _subnetsPrefix + SubnetKey.Make(subnet);

    private async Task<SubnetLease?> TryCreateAsync(Ip4Net subnet, LeaseAttrs attrs, CancellationToken cancellationToken)
    {
        LeaseGrantResult grant = await _client.Lease.GrantAsync((long)_options.LeaseTtl.TotalSeconds, cancellationToken: cancellationToken).ConfigureAwait(false);
        string key = Key(subnet);
        Txn txn = Txn.If(Cmp.Version(key, CmpResult.Equal, 0)).Then(Op.Put(key, attrs.ToJson(), grant.Id));
        TxnResult result = await _client.Kv.TxnAsync(txn, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            // Someone else took the subnet between our list and the transaction.
            await _client.Lease.RevokeAsync(grant.Id, CancellationToken.None).ConfigureAwait(false);
            return null;
        }

        return new SubnetLease(subnet, attrs, grant.Id, _options.TimeProvider.GetUtcNow().AddSeconds(grant.TtlSeconds));
    }

    private async Task<SubnetLease> UpdateAsync(Ip4Net subnet, LeaseAttrs attrs, CancellationToken cancellationToken)
    {
        LeaseGrantResult grant = await _client.Lease.GrantAsync((long)_options.LeaseTtl.TotalSeconds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await _client.Kv.PutAsync(Key(subnet), attrs.ToJson(), grant.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new SubnetLease(subnet, attrs, grant.Id, _options.TimeProvider.GetUtcNow().AddSeconds(grant.TtlSeconds));
    }

    private async Task<SubnetLease> PutReservationAsync(Ip4Net subnet, LeaseAttrs attrs, CancellationToken cancellationToken)
    {
        await _client.Kv.PutAsync(Key(subnet), attrs.ToJson(), 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new SubnetLease(subnet, attrs, 0, null);
    }

    private async Task<SubnetLease?> ToLeaseWithTtlAsync(KeyValue kv, CancellationToken cancellationToken)
    {
        DateTimeOffset? expiration = null;
        if (kv.Lease != 0)
        {
            try
            {
                LeaseTimeToLiveResult ttl = await _client.Lease.TimeToLiveAsync(kv.Lease, cancellationToken: cancellationToken).ConfigureAwait(false);
                expiration = _options.TimeProvider.GetUtcNow().AddSeconds(Math.Max(0, ttl.TtlSeconds));
            }
            catch (EtcdClientException)
            {
                expiration = _options.TimeProvider.GetUtcNow();
            }
        }

        return ToLease(kv, expiration);
    }

    private SubnetLease? ToLease(KeyValue kv, DateTimeOffset? expiration, bool keyOnly = false)
    {
        string key = kv.KeyString;
        if (!key.StartsWith(_subnetsPrefix, StringComparison.Ordinal) || !SubnetKey.TryParse(key[_subnetsPrefix.Length..], out Ip4Net subnet))
        {
            return null;
        }

        LeaseAttrs attrs;
        try
        {
            attrs = keyOnly || kv.Value.Length == 0 ? new LeaseAttrs { PublicIP = "" } : LeaseAttrs.Parse(Encoding.UTF8.GetString(kv.Value));
        }
        catch (JsonException)
        {
            // flannel skips values it cannot decode rather than failing the whole list.
            return null;
        }

        return new SubnetLease(subnet, attrs, kv.Lease, kv.Lease == 0 ? null : expiration ?? DateTimeOffset.MaxValue);
    }
}
