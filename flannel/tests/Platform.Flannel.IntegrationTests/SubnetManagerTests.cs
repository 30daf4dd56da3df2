using Platform.Etcd.Client;
using Platform.Flannel.Config;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Flannel.Subnets;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests;

/// <summary>The etcd subnet manager against the real etcd 3.4; each test works under its own prefix.</summary>
public sealed class SubnetManagerTests : IClassFixture<RealEtcd>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly RealEtcd _etcd;
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/network";

    public SubnetManagerTests(RealEtcd etcd)
    {
        _etcd = etcd;
    }

    private IKvClient Kv => _etcd.Client.Kv;

    [RealEtcdFact]
    public async Task GetNetworkConfig_MissingKey_ThrowsFlannelsMessage()
    {
        NetworkConfigNotFoundException e = await Assert.ThrowsAsync<NetworkConfigNotFoundException>(() => Manager().GetNetworkConfigAsync());

        Assert.Equal("flannel config not found in etcd store. Did you create your config using etcdv3 API?", e.Message);
    }

    [RealEtcdFact]
    public async Task GetNetworkConfig_StoredConfig_ParsedWithDefaults()
    {
        await Kv.PutAsync(_prefix + "/config", """{"network":"10.3.0.0/16","Backend":{"Type":"alloc"}}""");

        NetworkConfig config = await Manager().GetNetworkConfigAsync();

        Assert.Equal("10.3.0.0/16", config.Network.ToString());
        Assert.Equal(24, config.SubnetLen);
        Assert.Equal("alloc", config.BackendType);
    }

    [RealEtcdFact]
    public async Task GetNetworkConfig_InvalidConfig_ThrowsFlannelsMessage()
    {
        await Kv.PutAsync(_prefix + "/config", """{"Network":"10.3.0.0/16","SubnetLen":31}""");

        NetworkConfigException e = await Assert.ThrowsAsync<NetworkConfigException>(() => Manager().GetNetworkConfigAsync());

        Assert.Equal("SubnetLen must be less than /31", e.Message);
    }

    [RealEtcdFact]
    public async Task AcquireLease_WritesFlannelsKeyAndJsonOnA24HourLease()
    {
        NetworkConfig config = Config("10.1.5.0", "10.1.5.0");
        var attrs = new LeaseAttrs { PublicIP = "192.168.64.3", BackendType = "vxlan", BackendData = """{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}""" };

        SubnetLease lease = await Manager().AcquireLeaseAsync(config, attrs);

        Assert.Equal("10.1.5.0/24", lease.Subnet.ToString());
        KeyValue kv = Assert.Single((await Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
        Assert.Equal(_prefix + "/subnets/10.1.5.0-24", kv.KeyString);
        Assert.Equal("""{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", kv.ValueString);
        Assert.NotEqual(0, kv.Lease);
        Assert.Equal(lease.EtcdLeaseId, kv.Lease);
        Assert.Equal(1, kv.Version);
        LeaseTimeToLiveResult ttl = await _etcd.Client.Lease.TimeToLiveAsync(kv.Lease);
        Assert.Equal(24 * 60 * 60, ttl.GrantedTtlSeconds);
        Assert.NotNull(lease.Expiration);
    }

    [RealEtcdFact]
    public async Task AcquireLease_TwoHosts_GetDifferentSubnets()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.2.0");

        SubnetLease a = await Manager(seed: 1).AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" });
        SubnetLease b = await Manager(seed: 1).AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.2" });

        Assert.NotEqual(a.Subnet, b.Subnet);
        Assert.Equal(2, (await Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs.Count);
    }

    [RealEtcdFact]
    public async Task AcquireLease_SamePublicIpAgain_ReusesSubnetOnAFreshLease()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.200.0");
        var attrs = new LeaseAttrs { PublicIP = "10.0.0.1" };
        SubnetLease first = await Manager().AcquireLeaseAsync(config, attrs);

        SubnetLease second = await Manager().AcquireLeaseAsync(config, attrs);

        Assert.Equal(first.Subnet, second.Subnet);
        Assert.NotEqual(first.EtcdLeaseId, second.EtcdLeaseId);
        KeyValue kv = Assert.Single((await Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
        Assert.Equal(second.EtcdLeaseId, kv.Lease);
    }

    [RealEtcdFact]
    public async Task AcquireLease_SubnetFromOldSubnetEnv_IsReusedWhenFree()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.200.0");
        // Beyond the first 100 free subnets a random pick chooses from, so only reuse can yield it.
        Ip4Net previous = Ip4Net.Parse("10.1.150.0/24");

        SubnetLease lease = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.9" }, previous);

        Assert.Equal(previous, lease.Subnet);
    }

    [RealEtcdFact]
    public async Task AcquireLease_IncompatibleOldLease_IsDeletedAndReplaced()
    {
        await Kv.PutAsync(_prefix + "/subnets/10.9.0.0-24", """{"PublicIP":"10.0.0.1","PublicIPv6":null}""");
        NetworkConfig config = Config("10.1.1.0", "10.1.1.0");

        SubnetLease lease = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" });

        Assert.Equal("10.1.1.0/24", lease.Subnet.ToString());
        KeyValue kv = Assert.Single((await Kv.GetPrefixAsync(_prefix + "/subnets/")).Kvs);
        Assert.Equal(_prefix + "/subnets/10.1.1.0-24", kv.KeyString);
    }

    [RealEtcdFact]
    public async Task AcquireLease_ReservationOfAnotherHost_IsSkipped()
    {
        await Kv.PutAsync(_prefix + "/subnets/10.1.1.0-24", """{"PublicIP":"10.0.0.50","PublicIPv6":null}""");
        NetworkConfig config = Config("10.1.1.0", "10.1.2.0");

        SubnetLease lease = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" }, previousSubnet: Ip4Net.Parse("10.1.1.0/24"));

        Assert.Equal("10.1.2.0/24", lease.Subnet.ToString());
        KeyValue reservation = (await Kv.GetAsync(_prefix + "/subnets/10.1.1.0-24")).Kv!;
        Assert.Equal(0, reservation.Lease);
        Assert.Contains("10.0.0.50", reservation.ValueString, StringComparison.Ordinal);
    }

    [RealEtcdFact]
    public async Task AcquireLease_OwnReservation_IsUsedAndStaysWithoutLease()
    {
        await Kv.PutAsync(_prefix + "/subnets/10.1.9.0-24", """{"PublicIP":"10.0.0.1","PublicIPv6":null}""");
        NetworkConfig config = Config("10.1.1.0", "10.1.20.0");

        SubnetLease lease = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1", BackendType = "host-gw" });

        Assert.Equal("10.1.9.0/24", lease.Subnet.ToString());
        Assert.True(lease.IsReservation);
        KeyValue kv = (await Kv.GetAsync(_prefix + "/subnets/10.1.9.0-24")).Kv!;
        Assert.Equal(0, kv.Lease);
        Assert.Equal("""{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"host-gw"}""", kv.ValueString);
    }

    [RealEtcdFact]
    public async Task AcquireLease_AllSubnetsTaken_ThrowsOutOfSubnets()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.2.0");
        await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" });
        await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.2" });

        SubnetsExhaustedException e = await Assert.ThrowsAsync<SubnetsExhaustedException>(
            () => Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.3" }));

        Assert.Equal("out of subnets", e.Message);
    }

    [RealEtcdFact]
    public async Task RenewLease_MovesKeyToAFreshLease()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.1.0");
        ISubnetManager manager = Manager();
        SubnetLease lease = await manager.AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" });

        SubnetLease renewed = await manager.RenewLeaseAsync(lease);

        Assert.Equal(lease.Subnet, renewed.Subnet);
        Assert.NotEqual(lease.EtcdLeaseId, renewed.EtcdLeaseId);
        Assert.Equal(renewed.EtcdLeaseId, (await Kv.GetAsync(_prefix + "/subnets/10.1.1.0-24")).Kv!.Lease);
    }

    [RealEtcdFact]
    public async Task WatchLeases_PeerAppearsExpiresAndIsDeleted()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.200.0");
        using var cts = new CancellationTokenSource(s_timeout);
        SubnetLease own = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" }, cancellationToken: cts.Token);
        await using IAsyncEnumerator<LeaseBatch> watch = Manager().WatchLeasesAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.True(watch.Current.IsSnapshot);
        Assert.Equal(own.Subnet, Assert.Single(watch.Current.Events).Lease.Subnet);

        // A peer appears.
        SubnetLease peer = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.2", BackendType = "host-gw" }, cancellationToken: cts.Token);
        Assert.True(await watch.MoveNextAsync());
        LeaseEvent added = Assert.Single(watch.Current.Events);
        Assert.Equal(LeaseEventType.Added, added.Type);
        Assert.Equal(peer.Subnet, added.Lease.Subnet);
        Assert.Equal("10.0.0.2", added.Lease.Attrs.PublicIP);
        Assert.Equal("host-gw", added.Lease.Attrs.BackendType);
        Assert.NotNull(added.Lease.Expiration);

        // Its etcd lease ends (revocation is expiry brought forward: etcd deletes the key either way).
        await _etcd.Client.Lease.RevokeAsync(peer.EtcdLeaseId, cts.Token);
        Assert.True(await watch.MoveNextAsync());
        LeaseEvent expired = Assert.Single(watch.Current.Events);
        Assert.Equal(LeaseEventType.Removed, expired.Type);
        Assert.Equal(peer.Subnet, expired.Lease.Subnet);
        Assert.Equal("10.0.0.2", expired.Lease.Attrs.PublicIP);

        // A key deleted by hand.
        await Kv.DeleteAsync(_prefix + "/subnets/" + SubnetKey.Make(own.Subnet), cancellationToken: cts.Token);
        Assert.True(await watch.MoveNextAsync());
        LeaseEvent deleted = Assert.Single(watch.Current.Events);
        Assert.Equal(LeaseEventType.Removed, deleted.Type);
        Assert.Equal(own.Subnet, deleted.Lease.Subnet);
    }

    [RealEtcdFact]
    public async Task WatchLeases_HistoryCompactedBeforeWatch_RelistsWithASnapshot()
    {
        NetworkConfig config = Config("10.1.1.0", "10.1.200.0");
        using var cts = new CancellationTokenSource(s_timeout);
        await using IAsyncEnumerator<LeaseBatch> watch = Manager().WatchLeasesAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.True(watch.Current.IsSnapshot);
        Assert.Empty(watch.Current.Events);

        // The watch starts from the list's revision + 1 only on the next MoveNext: compact past it first.
        SubnetLease a = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.1" }, cancellationToken: cts.Token);
        SubnetLease b = await Manager().AcquireLeaseAsync(config, new LeaseAttrs { PublicIP = "10.0.0.2" }, cancellationToken: cts.Token);
        PutResult last = await Kv.PutAsync(_prefix + "/unrelated", "x", cancellationToken: cts.Token);
        await Kv.CompactAsync(last.Header.Revision, cancellationToken: cts.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.True(watch.Current.IsSnapshot);
        Assert.Equal(
            new[] { a.Subnet, b.Subnet }.OrderBy(s => s.Address),
            watch.Current.Events.Select(e => e.Lease.Subnet).OrderBy(s => s.Address));
        Assert.True(watch.Current.Revision >= last.Header.Revision);
    }

    private ISubnetManager Manager(int? seed = null) => SubnetManagers.CreateEtcd(
        _etcd.Client,
        new SubnetManagerOptions { Prefix = _prefix, Random = seed is int s ? new Random(s) : Random.Shared });

    private static NetworkConfig Config(string min, string max) =>
        NetworkConfig.Parse($$$"""{"Network":"10.1.0.0/16","SubnetMin":"{{{min}}}","SubnetMax":"{{{max}}}","Backend":{"Type":"alloc"}}""");
}
