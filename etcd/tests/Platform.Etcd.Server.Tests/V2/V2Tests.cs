using Microsoft.Extensions.Time.Testing;
using Platform.Etcd.V2Store;

namespace Platform.Etcd.Server.Tests.V2;

public sealed class V2Tests
{
    [Fact]
    public async Task V2_SetGetCasAndTtl_GoThroughRaft()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestServer s = await TestServer.StartAsync(nameof(V2_SetGetCasAndTtl_GoThroughRaft), o => new EtcdServerOptions { DataDir = o.DataDir, EnableV2 = true, TimeProvider = time });
        IEtcdServer e = s.Server;
        V2Event set = await e.V2DoAsync(new V2Request("PUT", "/1/foo", Value: "bar"), CancellationToken.None);
        Assert.Equal((V2Actions.Set, "bar", true), (set.Action, set.Node.Value, set.IsCreated));
        Assert.Equal("bar", (await e.V2DoAsync(new V2Request("GET", "/1/foo", Quorum: true), CancellationToken.None)).Node.Value);

        V2StoreException failed = await Assert.ThrowsAsync<V2StoreException>(async () => await e.V2DoAsync(new V2Request("PUT", "/1/foo", Value: "x", PrevValue: "wrong"), CancellationToken.None));
        Assert.Equal(V2ErrorCodes.TestFailed, failed.Error.ErrorCode);
        V2Event cas = await e.V2DoAsync(new V2Request("PUT", "/1/foo", Value: "baz", PrevValue: "bar"), CancellationToken.None);
        Assert.Equal(V2Actions.CompareAndSwap, cas.Action);
        V2StoreException exists = await Assert.ThrowsAsync<V2StoreException>(async () => await e.V2DoAsync(new V2Request("PUT", "/1/foo", Value: "x", PrevExist: false), CancellationToken.None));
        Assert.Equal(V2ErrorCodes.NodeExist, exists.Error.ErrorCode);
        V2Event queued = await e.V2DoAsync(new V2Request("POST", "/1/queue", Value: "job"), CancellationToken.None);
        Assert.StartsWith("/1/queue/", queued.Node.Key, StringComparison.Ordinal);

        using IV2Watcher watcher = e.V2Watch("/1/ttl", recursive: false, stream: false, sinceIndex: 0);
        V2Event ttl = await e.V2DoAsync(new V2Request("PUT", "/1/ttl", Value: "v", Ttl: 5), CancellationToken.None);
        Assert.Equal(5, ttl.Node.Ttl);
        V2Event created = await watcher.NextAsync(new CancellationTokenSource(TestServer.Timeout).Token);
        Assert.Equal(V2Actions.Set, created.Action);

        // The leader's SYNC expires the key once its time has passed, through raft.
        using IV2Watcher expiry = e.V2Watch("/1/ttl", recursive: false, stream: false, sinceIndex: 0);
        for (int i = 0; i < 6; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        V2Event expired = await expiry.NextAsync(new CancellationTokenSource(TestServer.Timeout).Token);
        Assert.Equal(V2Actions.Expire, expired.Action);
        V2StoreException gone = await Assert.ThrowsAsync<V2StoreException>(async () => await e.V2DoAsync(new V2Request("GET", "/1/ttl"), CancellationToken.None));
        Assert.Equal(V2ErrorCodes.KeyNotFound, gone.Error.ErrorCode);

        // And the state survives a restart (replayed from the WAL).
        await s.RestartAsync();
        Assert.Equal("baz", (await s.Server.V2DoAsync(new V2Request("GET", "/1/foo"), CancellationToken.None)).Node.Value);
    }

    [Fact]
    public async Task V2_Disabled_IsRefused()
    {
        await using TestServer s = await TestServer.StartAsync(nameof(V2_Disabled_IsRefused));
        EtcdException e = await Assert.ThrowsAsync<EtcdException>(async () => await s.Server.V2DoAsync(new V2Request("GET", "/1/foo"), CancellationToken.None));
        Assert.Equal(EtcdErrorCode.Unimplemented, e.Code);
    }
}
