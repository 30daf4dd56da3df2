using Microsoft.Extensions.Time.Testing;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Server.Tests.Kv;
using Platform.Etcd.Server.Tests.Watch;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Lease;

public sealed class LeaseTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Lease_Expiry_RevokesLeaseAndDeletesItsKeysInOneRevision()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestServer s = await StartAsync(nameof(Lease_Expiry_RevokesLeaseAndDeletesItsKeysInOneRevision), o => new EtcdServerOptions { DataDir = o.DataDir, TimeProvider = time });
        LeaseGrantResponse lease = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 5 }, s_anon, CancellationToken.None);
        await s.PutAsync("l/1", "a", lease.ID);
        await s.PutAsync("l/2", "b", lease.ID);
        await s.PutAsync("l/3", "permanent");
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(WatchTests.Create("l/", "l0"), CancellationToken.None);
        Assert.True((await WatchTests.NextAsync(stream)).Created);

        // Nothing expires before the TTL.
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(3, (await s.GetAsync("l/", "l0")).Count);

        for (int i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        List<Event> deletes = await WatchTests.CollectAsync(stream, 2);
        Assert.Equal(["l/1", "l/2"], deletes.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.All(deletes, e => Assert.Equal(Event.Types.EventType.Delete, e.Type));
        Assert.Single(deletes.Select(e => e.Kv.ModRevision).Distinct());
        Assert.Equal(-1, (await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.ID }, s_anon, CancellationToken.None)).TTL);
        Assert.Equal(["l/3"], (await s.GetAsync("l/", "l0")).Kvs.Select(kv => kv.Key.ToStringUtf8()));
    }

    [Fact]
    public async Task Lease_Renew_PushesExpiryBack()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestServer s = await StartAsync(nameof(Lease_Renew_PushesExpiryBack), o => new EtcdServerOptions { DataDir = o.DataDir, TimeProvider = time });
        LeaseGrantResponse lease = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 5 }, s_anon, CancellationToken.None);
        await s.PutAsync("r", "v", lease.ID);
        time.Advance(TimeSpan.FromSeconds(3));
        LeaseKeepAliveResponse renewed = await s.Server.LeaseRenewAsync(new LeaseKeepAliveRequest { ID = lease.ID }, s_anon, CancellationToken.None);
        Assert.Equal(5, renewed.TTL);
        time.Advance(TimeSpan.FromSeconds(3));
        LeaseTimeToLiveResponse ttl = await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.ID }, s_anon, CancellationToken.None);
        Assert.Equal(2, ttl.TTL);
        Assert.Equal(1, (await s.GetAsync("r")).Count);
    }

    [Fact]
    public async Task Lease_GrantRevokeTimeToLiveLeases_AnswerAsEtcd()
    {
        await using TestServer s = await StartAsync(nameof(Lease_GrantRevokeTimeToLiveLeases_AnswerAsEtcd));

        // Minimum TTL: ceil(1.5 × 1 s election timeout) = 2 s.
        LeaseGrantResponse small = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 1 }, s_anon, CancellationToken.None);
        Assert.Equal(2, small.TTL);
        Assert.True(small.ID > 0);
        LeaseGrantResponse chosen = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { ID = 42, TTL = 100 }, s_anon, CancellationToken.None);
        Assert.Equal(42, chosen.ID);
        await KvTests.AssertEtcdError("etcdserver: lease already exists", () => s.Server.LeaseGrantAsync(new LeaseGrantRequest { ID = 42, TTL = 100 }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: too large lease TTL", () => s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 9_000_000_001 }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: requested lease not found", () => s.Server.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 7 }, s_anon, CancellationToken.None).AsTask());
        Assert.Equal(0, (await s.Server.LeaseRenewAsync(new LeaseKeepAliveRequest { ID = 7 }, s_anon, CancellationToken.None)).TTL);
        Assert.Equal(100, (await s.Server.LeaseRenewAsync(new LeaseKeepAliveRequest { ID = 42 }, s_anon, CancellationToken.None)).TTL);

        LeaseLeasesResponse leases = await s.Server.LeaseLeasesAsync(new LeaseLeasesRequest(), s_anon, CancellationToken.None);
        Assert.Equal(new[] { 42L, small.ID }.Order(), leases.Leases.Select(l => l.ID));
        await s.PutAsync("x", "1", 42);
        await s.Server.PutAsync(new PutRequest { Key = B("x"), Value = B("2") }, s_anon, CancellationToken.None);
        LeaseTimeToLiveResponse ttl = await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 42, Keys = true }, s_anon, CancellationToken.None);
        Assert.Equal((100L, 0), (ttl.GrantedTTL, ttl.Keys.Count));

        await s.Server.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 42 }, s_anon, CancellationToken.None);
        Assert.Equal(1, (await s.GetAsync("x")).Count);
        Assert.Equal(-1, (await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 42 }, s_anon, CancellationToken.None)).TTL);
    }
}
