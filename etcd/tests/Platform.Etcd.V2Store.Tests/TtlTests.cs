using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Tests;

public sealed class TtlTests
{
    private static readonly DateTimeOffset s_now = StoreOperationTests.s_now;
    private readonly IV2Store _store = V2Stores.Create();

    [Fact]
    public void Set_WithTtl_ReportsExpirationAndTtl()
    {
        V2Event e = _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now.AddTicks(8_748_885));

        Assert.Equal(
            """{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:10.8748885Z","ttl":5,"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.True(_store.HasTtlKeys);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 5)]
    [InlineData(1_000, 4)]
    [InlineData(4_999, 1)]
    [InlineData(5_000, 0)]
    [InlineData(6_500, -1)]
    public void Get_LaterRead_RoundsRemainingTtlUp(int elapsedMs, long expectedTtl)
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);

        Assert.Equal(expectedTtl, _store.Get("/foo", false, false, s_now.AddMilliseconds(elapsedMs)).Node.Ttl);
    }

    [Fact]
    public void DeleteExpiredKeys_BeforeExpiration_KeepsKey()
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);

        _store.DeleteExpiredKeys(s_now.AddSeconds(5).AddTicks(-1));

        Assert.Equal("bar", _store.Get("/foo", false, false, s_now).Node.Value);
        Assert.Equal(1UL, _store.Index);
    }

    [Fact]
    public async Task DeleteExpiredKeys_AtExpiration_RemovesKeyWithExpireEvent()
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);
        using IV2Watcher watcher = _store.Watch("/foo", recursive: false, stream: false, sinceIndex: 0);

        _store.DeleteExpiredKeys(s_now.AddSeconds(5));

        Task<V2Event> next = watcher.NextAsync();
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(
            """{"action":"expire","node":{"key":"/foo","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:10Z","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(await next));
        StoreOperationTests.AssertError(() => _store.Get("/foo", false, false, s_now), 100, "Key not found", "/foo", 2);
        Assert.False(_store.HasTtlKeys);
    }

    [Fact]
    public async Task DeleteExpiredKeys_SeveralKeys_ExpireEarliestFirstEachWithOwnIndex()
    {
        _store.Set("/late", false, "x", new V2TtlOptions(TimeSpan.FromSeconds(9)), s_now);
        _store.Set("/early", false, "x", new V2TtlOptions(TimeSpan.FromSeconds(2)), s_now);
        _store.Set("/never", false, "x", default, s_now);
        using IV2Watcher watcher = _store.Watch("/", recursive: true, stream: true, sinceIndex: 0);

        _store.DeleteExpiredKeys(s_now.AddSeconds(10));

        Assert.Equal(5UL, _store.Index);
        V2Event first = (await watcher.NextAsync());
        V2Event second = (await watcher.NextAsync());
        Assert.Equal(("/early", 4UL), (first.Node.Key, first.Index));
        Assert.Equal(("/late", 5UL), (second.Node.Key, second.Index));
    }

    [Fact]
    public async Task DeleteExpiredKeys_ExpiringDirectory_TellsWatchersBelowIt()
    {
        _store.Set("/dir", true, "", new V2TtlOptions(TimeSpan.FromSeconds(30)), s_now);
        _store.Set("/dir/key", false, "v", default, s_now);
        using IV2Watcher below = _store.Watch("/dir/key", recursive: false, stream: false, sinceIndex: 0);

        _store.DeleteExpiredKeys(s_now.AddSeconds(30));

        V2Event e = (await below.NextAsync());
        Assert.Equal(V2Actions.Expire, e.Action);
        Assert.Equal("""{"action":"expire","node":{"key":"/dir","dir":true,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/dir","dir":true,"expiration":"2024-01-02T03:04:35Z","modifiedIndex":1,"createdIndex":1}}""", V2Json.Serialize(e));
    }

    [Fact]
    public void Update_WithoutTtl_MakesKeyPermanent()
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);

        V2Event e = _store.Update("/foo", "bar", V2TtlOptions.Permanent, s_now.AddSeconds(2));
        _store.DeleteExpiredKeys(s_now.AddSeconds(60));

        Assert.Equal(
            """{"action":"update","node":{"key":"/foo","value":"bar","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:10Z","ttl":3,"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.Equal("bar", _store.Get("/foo", false, false, s_now.AddSeconds(60)).Node.Value);
    }

    [Fact]
    public void Update_Refresh_KeepsValueMovesExpirationAndWakesNoWatcher()
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);
        using IV2Watcher watcher = _store.Watch("/foo", recursive: false, stream: false, sinceIndex: 0);

        V2Event e = _store.Update("/foo", "", new V2TtlOptions(TimeSpan.FromSeconds(5), Refresh: true), s_now.AddSeconds(2));

        Assert.Equal(
            """{"action":"update","node":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:12Z","ttl":5,"modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:10Z","ttl":3,"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.False(watcher.NextAsync().IsCompleted);
        _store.DeleteExpiredKeys(s_now.AddSeconds(6));
        Assert.Equal("bar", _store.Get("/foo", false, false, s_now.AddSeconds(6)).Node.Value);
    }

    [Fact]
    public void Set_RefreshOfMissingKey_Fails100()
    {
        StoreOperationTests.AssertError(
            () => _store.Set("/foo", false, "", new V2TtlOptions(TimeSpan.FromSeconds(5), Refresh: true), s_now), 100, "Key not found", "/foo", 0);
    }

    [Fact]
    public async Task Set_Refresh_KeepsValueAndIsRecordedButNotDelivered()
    {
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);
        using IV2Watcher live = _store.Watch("/foo", recursive: false, stream: false, sinceIndex: 0);

        V2Event e = _store.Set("/foo", false, "ignored", new V2TtlOptions(TimeSpan.FromSeconds(9), Refresh: true), s_now);

        Assert.Equal("bar", e.Node.Value);
        Assert.True(e.Refresh);
        Assert.False(live.NextAsync().IsCompleted);
        // A history scan skips refreshes too: the next real change is what a past-index watch sees.
        _store.Set("/foo", false, "real", default, s_now);
        using IV2Watcher past = _store.Watch("/foo", recursive: false, stream: false, sinceIndex: 2);
        Assert.Equal("real", (await past.NextAsync()).Node.Value);
    }

    [Fact]
    public async Task CompareAndSwap_WithTtl_SetsExpiration()
    {
        _store.Set("/foo", false, "one", default, s_now);

        V2Event e = _store.CompareAndSwap("/foo", "one", 0, "two", new V2TtlOptions(TimeSpan.FromSeconds(10)), s_now);
        _store.DeleteExpiredKeys(s_now.AddSeconds(10));

        Assert.Equal(10, e.Node.Ttl);
        Assert.Equal(V2Actions.Expire, (await _store.Watch("/foo", false, false, 3).NextAsync()).Action);
    }
}
