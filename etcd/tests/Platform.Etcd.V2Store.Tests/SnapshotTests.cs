using System.Text;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Tests;

public sealed class SnapshotTests
{
    private static readonly DateTimeOffset s_now = StoreOperationTests.s_now;

    [Fact]
    public async Task Recover_SavedStore_RestoresTreeIndexTtlsAndHistory()
    {
        IV2Store source = V2Stores.Create("/0", "/1");
        source.Set("/1/a/b", false, "v", default, s_now);
        source.Set("/1/_hidden", false, "h", default, s_now);
        source.Set("/1/ttl", false, "t", new V2TtlOptions(TimeSpan.FromSeconds(30)), s_now.AddTicks(1234567));
        source.Set("/1/dir", true, "", default, s_now);
        source.Delete("/1/a/b", false, false, s_now);

        IV2Store restored = V2Stores.Create("/0", "/1");
        restored.Recover(source.Save());

        Assert.Equal(source.Index, restored.Index);
        Assert.Equal(V2Json.Serialize(source.Get("/", true, true, s_now)), V2Json.Serialize(restored.Get("/", true, true, s_now)));
        Assert.Equal(Encoding.UTF8.GetString(source.Save()), Encoding.UTF8.GetString(restored.Save()));
        using IV2Watcher past = restored.Watch("/1/a/b", false, false, sinceIndex: 2);
        Assert.Equal(V2Actions.Delete, (await past.NextAsync()).Action);
        restored.DeleteExpiredKeys(s_now.AddSeconds(31));
        Assert.Equal(source.Index + 1, restored.Index);
        StoreOperationTests.AssertError(() => restored.Get("/1/ttl", false, false, s_now), 100, "Key not found", "/1/ttl", source.Index + 1);
        StoreOperationTests.AssertError(() => restored.Delete("/1", true, true, s_now), 107, "Root is read only", "/", source.Index + 1);
    }

    [Fact]
    public void Save_EmptyStore_WritesEtcdsLayout()
    {
        string json = Encoding.UTF8.GetString(V2Stores.Create("/0").Save());

        Assert.StartsWith(
            """{"Root":{"Path":"/","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{"0":{"Path":"/0","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{}}}},"WatcherHub":{"EventHistory":{"Queue":{"Events":[null,""",
            json);
        Assert.EndsWith("""null],"Size":0,"Front":0,"Back":0,"Capacity":1000},"StartIndex":0,"LastIndex":0}},"CurrentIndex":0,"CurrentVersion":2}""", json);
    }

    [Fact]
    public void Recover_SnapshotAsEtcdWritesIt_ReadsGoTimesAndNullChildren()
    {
        // Shaped like etcd 3.4's output: nanosecond times in a local zone, files with null Children.
        const string snapshot = """
            {"Root":{"Path":"/","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
              "1":{"Path":"/1","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
                "foo":{"Path":"/1/foo","CreatedIndex":7,"ModifiedIndex":9,"ExpireTime":"2024-01-02T04:04:10.123456789+01:00","Value":"bar","Children":null}}}}},
             "WatcherHub":{"EventHistory":{"Queue":{"Events":[{"action":"set","node":{"key":"/1/foo","value":"bar","modifiedIndex":9,"createdIndex":7}},null],"Size":1,"Front":0,"Back":1,"Capacity":2},"StartIndex":9,"LastIndex":9}},
             "CurrentIndex":9,"Stats":{"getsSuccess":3},"CurrentVersion":2}
            """;
        IV2Store store = V2Stores.Create("/0", "/1");

        store.Recover(Encoding.UTF8.GetBytes(snapshot));

        Assert.Equal(
            """{"action":"get","node":{"key":"/foo","value":"bar","expiration":"2024-01-02T03:04:10.1234567Z","ttl":7,"modifiedIndex":9,"createdIndex":7}}""",
            V2Json.Serialize(store.Get("/1/foo", false, false, s_now.AddSeconds(-1)), keyPrefix: "/1"));
        StoreOperationTests.AssertError(() => store.Watch("/1/foo", false, false, 8), 401, "The event in requested index is outdated and cleared", "the requested history has been cleared [9/8]", 9);
    }
}
