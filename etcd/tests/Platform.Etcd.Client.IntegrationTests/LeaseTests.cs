using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>
/// Leases with real time: TTLs of 2 s (etcd's minimum) and events awaited, never slept on. A lease
/// left alone is the clock: its expiry proves its TTL passed.
/// </summary>
public abstract class LeaseTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task Grant_TimeToLive_Leases_Revoke_FollowTheLeaseLifecycle()
    {
        LeaseGrantResult lease = await Client.Lease.GrantAsync(60);
        await Client.Kv.PutAsync(Key("a"), "1", lease.Id);

        LeaseTimeToLiveResult ttl = await Client.Lease.TimeToLiveAsync(lease.Id, keys: true);
        LeaseLeasesResult all = await Client.Lease.LeasesAsync();
        LeaseKeepAliveResult renewed = await Client.Lease.KeepAliveOnceAsync(lease.Id);
        await Client.Lease.RevokeAsync(lease.Id);
        LeaseTimeToLiveResult gone = await Client.Lease.TimeToLiveAsync(lease.Id);

        Assert.Equal(60, lease.TtlSeconds);
        Assert.Equal(60, ttl.GrantedTtlSeconds);
        Assert.InRange(ttl.TtlSeconds, 1, 60);
        Assert.Equal([Key("a")], ttl.Keys.Select(k => System.Text.Encoding.UTF8.GetString(k)));
        Assert.Contains(lease.Id, all.Ids);
        Assert.Equal(60, renewed.TtlSeconds);
        Assert.Equal(-1, gone.TtlSeconds);
        Assert.Null((await Client.Kv.GetAsync(Key("a"))).Kv);
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Lease.RevokeAsync(lease.Id));
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Lease.KeepAliveOnceAsync(lease.Id));
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Lease.KeepAliveAsync(lease.Id));
    }

    [RealEtcdFact]
    public async Task Grant_WithChosenId_UsesIt()
    {
        long id = 0x1000_0000 + Random.Shared.Next(1 << 20);

        LeaseGrantResult lease = await Client.Lease.GrantAsync(30, id);

        Assert.Equal(id, lease.Id);
        await Client.Lease.RevokeAsync(id);
    }

    [RealEtcdFact]
    public async Task LeaseExpiry_DeletesAttachedKeys_AndTheWatchSeesTheDelete()
    {
        LeaseGrantResult lease = await Client.Lease.GrantAsync(2);
        PutResult put = await Client.Kv.PutAsync(Key("ephemeral"), "1", lease.Id);
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchAsync(Key("ephemeral"), new WatchOptions { StartRevision = put.Header.Revision + 1 }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        WatchEvent delete = Assert.Single(await TakeEventsAsync(watch, 1));

        Assert.Equal(WatchEventType.Delete, delete.Type);
        Assert.Null((await Client.Kv.GetAsync(Key("ephemeral"))).Kv);
        Assert.Equal(-1, (await Client.Lease.TimeToLiveAsync(lease.Id)).TtlSeconds);
    }

    [RealEtcdFact]
    public async Task KeepAlive_KeepsItsKeyAlive_WhileAnUnrenewedLeaseOfTheSameTtlExpires()
    {
        LeaseGrantResult kept = await Client.Lease.GrantAsync(2);
        LeaseGrantResult control = await Client.Lease.GrantAsync(2);
        await Client.Kv.PutAsync(Key("kept"), "1", kept.Id);
        PutResult last = await Client.Kv.PutAsync(Key("control"), "1", control.Id);
        await using ILeaseKeepAlive keepAlive = await Client.Lease.KeepAliveAsync(kept.Id);
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchPrefixAsync(Prefix, new WatchOptions { StartRevision = last.Header.Revision + 1 }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        // The control lease expiring proves at least its TTL has passed since both were granted.
        WatchEvent expired = Assert.Single(await TakeEventsAsync(watch, 1));

        Assert.Equal($"Delete:{Key("control")}", $"{expired.Type}:{expired.Kv.KeyString}");
        Assert.Equal("1", (await Client.Kv.GetAsync(Key("kept"))).Kv?.ValueString);
        Assert.True(keepAlive.Renewals >= 2, $"only {keepAlive.Renewals} renewals");
        Assert.Equal(2, keepAlive.TtlSeconds);
        Assert.False(keepAlive.Lost.IsCompleted);

        // Stop renewing: now the kept key expires too.
        await keepAlive.DisposeAsync();
        WatchEvent released = Assert.Single(await TakeEventsAsync(watch, 1));
        Assert.Equal($"Delete:{Key("kept")}", $"{released.Type}:{released.Kv.KeyString}");
        Assert.True(keepAlive.Lost.IsCanceled);
    }

    [RealEtcdFact]
    public async Task KeepAlive_LeaseRevokedElsewhere_ReportsLost()
    {
        LeaseGrantResult lease = await Client.Lease.GrantAsync(2);
        await using ILeaseKeepAlive keepAlive = await Client.Lease.KeepAliveAsync(lease.Id);

        await Client.Lease.RevokeAsync(lease.Id);
        EtcdClientException reason = await keepAlive.Lost.WaitAsync(Patience);

        Assert.IsType<EtcdLeaseNotFoundException>(reason);
    }
}
