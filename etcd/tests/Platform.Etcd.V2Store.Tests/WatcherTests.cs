using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Tests;

public sealed class WatcherTests
{
    private static readonly DateTimeOffset s_now = StoreOperationTests.s_now;
    private readonly IV2Store _store = V2Stores.Create();

    [Fact]
    public async Task Watch_NextChange_CompletesOnAnotherThread()
    {
        using IV2Watcher watcher = _store.Watch("/foo", recursive: false, stream: false, sinceIndex: 0);
        Task<V2Event> waiting = Task.Run(() => watcher.NextAsync());

        await Task.Run(() => _store.Set("/foo", false, "bar", default, s_now));
        V2Event e = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("""{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}""", V2Json.Serialize(e));
        Assert.Equal(0UL, watcher.StartIndex);
    }

    [Fact]
    public async Task Watch_SinceIndexInHistory_AnswersAtOnceWithCurrentEtcdIndex()
    {
        _store.Set("/other", false, "x", default, s_now);
        _store.Set("/foo", false, "one", default, s_now);
        _store.Set("/foo", false, "two", default, s_now);
        _store.Set("/other", false, "y", default, s_now);

        using IV2Watcher watcher = _store.Watch("/foo", false, false, sinceIndex: 1);

        Task<V2Event> next = watcher.NextAsync();
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(("one", 2UL, 4UL), ((await next).Node.Value, (await next).Index, (await next).EtcdIndex));
        Assert.Equal(4UL, watcher.StartIndex);
    }

    [Fact]
    public async Task Watch_IndexOlderThanHistory_Fails401AsDocumented()
    {
        // The documented example: /foo set at index 7, then /other set 2000 times.
        for (int i = 0; i < 6; i++)
        {
            _store.Set("/_pad", false, "x", default, s_now);
        }

        _store.Set("/foo", false, "bar", default, s_now);
        for (int i = 0; i < 2000; i++)
        {
            _store.Set("/other", false, "bar", default, s_now);
        }

        V2StoreException e = Assert.Throws<V2StoreException>(() => _store.Watch("/foo", false, false, sinceIndex: 8));

        Assert.Equal(
            """{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [1008/8]","index":2007}""",
            V2Json.Serialize(e.Error));
        Assert.Equal("""{"action":"get","node":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":7}}""", V2Json.Serialize(_store.Get("/foo", false, false, s_now)));
        using IV2Watcher oldest = _store.Watch("/other", false, false, sinceIndex: 1008);
        Assert.Equal(1008UL, (await oldest.NextAsync()).Index);
    }

    [Fact]
    public async Task Watch_NonRecursiveOnParent_IgnoresChildButRecursiveSeesIt()
    {
        using IV2Watcher plain = _store.Watch("/dir", recursive: false, stream: false, sinceIndex: 0);
        using IV2Watcher recursive = _store.Watch("/dir", recursive: true, stream: false, sinceIndex: 0);

        _store.Set("/dir/child", false, "v", default, s_now);

        Assert.False(plain.NextAsync().IsCompleted);
        Assert.Equal("/dir/child", (await recursive.NextAsync()).Node.Key);
    }

    [Fact]
    public async Task Watch_RecursiveFromHistory_MatchesDescendantsOnly()
    {
        _store.Set("/dirx", false, "sibling", default, s_now);
        _store.Set("/dir/a", false, "child", default, s_now);

        using IV2Watcher watcher = _store.Watch("/dir", recursive: true, stream: false, sinceIndex: 1);

        Assert.Equal("/dir/a", (await watcher.NextAsync()).Node.Key);
    }

    [Fact]
    public void Watch_HiddenDescendantChange_IsNotDeliveredToAncestorsButToItsOwnWatcher()
    {
        using IV2Watcher ancestor = _store.Watch("/", recursive: true, stream: false, sinceIndex: 0);
        using IV2Watcher own = _store.Watch("/dir/_hidden", recursive: false, stream: false, sinceIndex: 0);

        _store.Set("/dir/_hidden", false, "v", default, s_now);

        Assert.False(ancestor.NextAsync().IsCompleted);
        Assert.True(own.NextAsync().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Watch_AncestorDeleted_WakesDescendantWatcher()
    {
        _store.Set("/dir/sub/key", false, "v", default, s_now);
        using IV2Watcher watcher = _store.Watch("/dir/sub/key", recursive: false, stream: false, sinceIndex: 0);

        _store.Delete("/dir", dir: true, recursive: true, s_now);

        V2Event e = (await watcher.NextAsync());
        Assert.Equal((V2Actions.Delete, "/dir"), (e.Action, e.Node.Key));
    }

    [Fact]
    public async Task Watch_AncestorDeletedInHistory_IsFoundForDescendantKey()
    {
        _store.Set("/dir/key", false, "v", default, s_now);
        _store.Delete("/dir", dir: true, recursive: true, s_now);

        using IV2Watcher watcher = _store.Watch("/dir/key", recursive: false, stream: false, sinceIndex: 2);

        V2Event e = await watcher.NextAsync();
        Assert.Equal((V2Actions.Delete, "/dir"), (e.Action, e.Node.Key));
    }

    [Fact]
    public async Task Watch_OneShot_DeliversOneEventThenEnds()
    {
        using IV2Watcher watcher = _store.Watch("/foo", false, stream: false, sinceIndex: 0);

        _store.Set("/foo", false, "1", default, s_now);
        _store.Set("/foo", false, "2", default, s_now);

        var seen = new List<string>();
        await foreach (V2Event e in watcher.ReadAllAsync())
        {
            seen.Add(e.Node.Value!);
        }

        Assert.Equal(["1"], seen);
        V2StoreException cleared = await Assert.ThrowsAsync<V2StoreException>(() => watcher.NextAsync());
        Assert.Equal(400, cleared.Error.ErrorCode);
    }

    [Fact]
    public async Task Watch_Stream_DeliversEveryChangeUntilDisposed()
    {
        IV2Watcher watcher = _store.Watch("/foo", recursive: true, stream: true, sinceIndex: 0);

        _store.Set("/foo/a", false, "1", default, s_now);
        _store.Set("/foo/x", false, "2", default, s_now);
        _store.Set("/bar", false, "ignored", default, s_now);

        Assert.Equal("1", (await watcher.NextAsync()).Node.Value);
        Assert.Equal("2", (await watcher.NextAsync()).Node.Value);
        watcher.Dispose();
        _store.Set("/foo/y", false, "3", default, s_now);
        await Assert.ThrowsAsync<V2StoreException>(() => watcher.NextAsync());
        Assert.Equal(0, ((Store.KeyStore)_store).WatcherCount);
    }

    [Fact]
    public async Task Watch_StreamOnDeletedKey_GetsTheDeleteTwiceAsEtcd()
    {
        _store.Set("/foo", false, "1", default, s_now);
        using IV2Watcher watcher = _store.Watch("/foo", recursive: false, stream: true, sinceIndex: 0);

        _store.Delete("/foo", false, false, s_now);
        _store.Set("/foo", false, "2", default, s_now);

        // etcd tells the key's watchers once while unlinking the node and once more when it
        // publishes the event; a stream watcher stays registered and sees both.
        Assert.Equal([V2Actions.Delete, V2Actions.Delete, V2Actions.Set], [(await watcher.NextAsync()).Action, (await watcher.NextAsync()).Action, (await watcher.NextAsync()).Action]);
    }

    [Fact]
    public async Task Watch_Cancelled_ThrowsOperationCanceled()
    {
        using IV2Watcher watcher = _store.Watch("/foo", false, false, 0);
        using var cts = new CancellationTokenSource();

        Task<V2Event> waiting = watcher.NextAsync(cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task Watch_StreamConsumerFallsBehind_IsDroppedAfterBufferedEvents()
    {
        using IV2Watcher watcher = _store.Watch("/foo", false, stream: true, sinceIndex: 0);

        for (int i = 0; i < 150; i++)
        {
            _store.Set("/foo", false, i.ToString(System.Globalization.CultureInfo.InvariantCulture), default, s_now);
        }

        int delivered = 0;
        await foreach (V2Event e in watcher.ReadAllAsync())
        {
            delivered++;
        }

        Assert.Equal(100, delivered);
        Assert.Equal(0, ((Store.KeyStore)_store).WatcherCount);
    }

    [Fact]
    public async Task Watch_SinceIndexZero_WaitsForNextIndex()
    {
        _store.Set("/foo", false, "old", default, s_now);

        using IV2Watcher watcher = _store.Watch("/foo", false, false, sinceIndex: 0);

        Assert.False(watcher.NextAsync().IsCompleted);
        _store.Set("/foo", false, "new", default, s_now);
        Assert.Equal("new", (await watcher.NextAsync()).Node.Value);
    }
}
