using System.Text.Json.Nodes;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Tests;

/// <summary>
/// The request sequences of etcd's v2 API guide (Documentation/v2/api.md, release-3.4), replayed
/// on the store with the same indexes; bodies compared with the documented JSON. The guide
/// pretty-prints most bodies in varying field order, so those compare as JSON trees; the ones it
/// shows compact compare byte for byte.
/// </summary>
public sealed class DocumentedExamplesTests
{
    private static readonly DateTimeOffset s_now = StoreOperationTests.s_now;
    private readonly IV2Store _store = V2Stores.Create();

    [Fact]
    public void KeySpaceOperations_SetGetChangeDelete_MatchGuide()
    {
        AdvanceTo(1);

        AssertJson("""{"action":"set","node":{"createdIndex":2,"key":"/message","modifiedIndex":2,"value":"Hello world"}}""", _store.Set("/message", false, "Hello world", default, s_now));
        AssertJson("""{"action":"get","node":{"createdIndex":2,"key":"/message","modifiedIndex":2,"value":"Hello world"}}""", _store.Get("/message", false, false, s_now));
        AssertJson(
            """{"action":"set","node":{"createdIndex":3,"key":"/message","modifiedIndex":3,"value":"Hello etcd"},"prevNode":{"createdIndex":2,"key":"/message","value":"Hello world","modifiedIndex":2}}""",
            _store.Set("/message", false, "Hello etcd", default, s_now));
        AssertJson(
            """{"action":"delete","node":{"createdIndex":3,"key":"/message","modifiedIndex":4},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":3,"createdIndex":3}}""",
            _store.Delete("/message", false, false, s_now));
    }

    [Fact]
    public void CompareAndSwap_GuideSequence_MatchesGuide()
    {
        AdvanceTo(7);
        _store.Set("/foo", false, "one", default, s_now);

        V2StoreException failed = Assert.Throws<V2StoreException>(() => _store.CompareAndSwap("/foo", "two", 0, "three", default, s_now));
        AssertJson("""{"cause":"[two != one]","errorCode":101,"index":8,"message":"Compare failed"}""", failed.Error);
        AssertJson(
            """{"action":"compareAndSwap","node":{"createdIndex":8,"key":"/foo","modifiedIndex":9,"value":"two"},"prevNode":{"createdIndex":8,"key":"/foo","modifiedIndex":8,"value":"one"}}""",
            _store.CompareAndSwap("/foo", "one", 0, "two", default, s_now));
    }

    [Fact]
    public void CompareAndDelete_GuideSequence_MatchesGuide()
    {
        AdvanceTo(7);
        _store.Set("/foo", false, "one", default, s_now);

        AssertJson("""{"errorCode":101,"message":"Compare failed","cause":"[two != one]","index":8}""", Assert.Throws<V2StoreException>(() => _store.CompareAndDelete("/foo", "two", 0, s_now)).Error);
        AssertJson("""{"errorCode":101,"message":"Compare failed","cause":"[1 != 8]","index":8}""", Assert.Throws<V2StoreException>(() => _store.CompareAndDelete("/foo", "", 1, s_now)).Error);
        AssertJson(
            """{"action":"compareAndDelete","node":{"key":"/foo","modifiedIndex":9,"createdIndex":8},"prevNode":{"key":"/foo","value":"one","modifiedIndex":8,"createdIndex":8}}""",
            _store.CompareAndDelete("/foo", "one", 0, s_now));
    }

    [Fact]
    public void InOrderKeys_GuideSequence_MatchesGuide()
    {
        AdvanceTo(5);

        AssertJson("""{"action":"create","node":{"createdIndex":6,"key":"/queue/00000000000000000006","modifiedIndex":6,"value":"Job1"}}""", _store.Create("/queue", false, "Job1", unique: true, default, s_now));
        AdvanceTo(28);
        AssertJson("""{"action":"create","node":{"createdIndex":29,"key":"/queue/00000000000000000029","modifiedIndex":29,"value":"Job2"}}""", _store.Create("/queue", false, "Job2", unique: true, default, s_now));
    }

    [Fact]
    public void ListingAndHiddenNodes_GuideSequence_MatchesGuide()
    {
        _store.Set("/foo", false, "two", default, s_now);
        _store.Set("/foo_dir/foo", false, "bar", default, s_now);
        _store.Set("/_message", false, "Hello hidden world", default, s_now);

        AssertJson(
            """{"action":"get","node":{"key":"/","dir":true,"nodes":[{"key":"/foo_dir","dir":true,"nodes":[{"key":"/foo_dir/foo","value":"bar","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2},{"key":"/foo","value":"two","modifiedIndex":1,"createdIndex":1}]}}""",
            _store.Get("/", recursive: true, sorted: false, s_now),
            anyNodeOrder: true);
    }

    [Fact]
    public void DeleteDirectory_GuideSequence_MatchesGuide()
    {
        AdvanceTo(29);
        _store.Set("/foo_dir", true, "", default, s_now);

        AssertJson(
            """{"action":"delete","node":{"createdIndex":30,"dir":true,"key":"/foo_dir","modifiedIndex":31},"prevNode":{"createdIndex":30,"key":"/foo_dir","dir":true,"modifiedIndex":30}}""",
            _store.Delete("/foo_dir", dir: true, recursive: false, s_now));
    }

    [Fact]
    public void TtlUnset_GuideSequence_MatchesGuideApartFromZone()
    {
        // The guide's expirations carry -08:00; etcd 3.4 writes them in UTC, as here.
        AdvanceTo(4);
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);

        V2Event e = _store.Update("/foo", "bar", V2TtlOptions.Permanent, s_now.AddSeconds(2));

        AssertJson(
            """{"action":"update","node":{"createdIndex":5,"key":"/foo","modifiedIndex":6,"value":"bar"},"prevNode":{"createdIndex":5,"expiration":"2024-01-02T03:04:10Z","key":"/foo","modifiedIndex":5,"ttl":3,"value":"bar"}}""",
            e);
    }

    [Fact]
    public void ErrorAfterExpiry_MatchesGuide()
    {
        AdvanceTo(4);
        _store.Set("/foo", false, "bar", new V2TtlOptions(TimeSpan.FromSeconds(5)), s_now);
        _store.DeleteExpiredKeys(s_now.AddSeconds(5));

        AssertJson("""{"cause":"/foo","errorCode":100,"index":6,"message":"Key not found"}""", Assert.Throws<V2StoreException>(() => _store.Get("/foo", false, false, s_now)).Error);
    }

    [Fact]
    public void ErrorJson_Shape_IsEtcdsFieldOrderAndOmitsEmptyCause()
    {
        Assert.Equal("""{"errorCode":105,"message":"Key already exists","cause":"/foo","index":39776}""", V2Json.Serialize(V2Error.Create(105, "/1/foo", 39776), keyPrefix: "/1"));
        Assert.Equal("""{"errorCode":400,"message":"watcher is cleared due to etcd recovery","index":0}""", V2Json.Serialize(V2Error.Create(400, "", 0)));
    }

    [Theory]
    [InlineData(100, 404)]
    [InlineData(101, 412)]
    [InlineData(102, 403)]
    [InlineData(104, 400)]
    [InlineData(105, 412)]
    [InlineData(107, 400)]
    [InlineData(108, 403)]
    [InlineData(110, 401)]
    [InlineData(203, 400)]
    [InlineData(300, 500)]
    [InlineData(301, 500)]
    [InlineData(401, 400)]
    public void HttpStatus_Code_MatchesEtcd(int code, int status)
    {
        Assert.Equal(status, V2ErrorCodes.HttpStatus(code));
    }

    [Fact]
    public void StringValues_AreEscapedAsGoDoes()
    {
        _store.Set("/k", false, "a\"b\\c\n\t<&>\u0001é✓\u2028", default, s_now);

        string json = V2Json.Serialize(_store.Get("/k", false, false, s_now));

        Assert.Equal("""{"action":"get","node":{"key":"/k","value":"a\"b\\c\n\t\u003c\u0026\u003e\u0001é✓\u2028","modifiedIndex":1,"createdIndex":1}}""", json);
    }

    private void AdvanceTo(ulong index)
    {
        while (_store.Index < index)
        {
            _store.Set("/_internal", false, "x", default, s_now);
        }
    }

    // anyNodeOrder: unsorted listings come in Go map order in etcd, i.e. any order.
    private static void AssertJson(string documented, V2Event actual, bool anyNodeOrder = false)
    {
        JsonNode expected = JsonNode.Parse(documented)!;
        JsonNode got = JsonNode.Parse(V2Json.Serialize(actual))!;
        if (anyNodeOrder)
        {
            SortNodes(expected);
            SortNodes(got);
        }

        Assert.True(JsonNode.DeepEquals(expected, got), $"expected (as JSON) {documented}\nactual {V2Json.Serialize(actual)}");
    }

    private static void SortNodes(JsonNode node)
    {
        JsonNode target = node["node"] ?? node;
        if (target["nodes"] is JsonArray nodes)
        {
            JsonNode[] sorted = [.. nodes.Select(n => n!.DeepClone()).OrderBy(n => (string?)n["key"], StringComparer.Ordinal)];
            nodes.Clear();
            foreach (JsonNode child in sorted)
            {
                SortNodes(child);
                nodes.Add(child);
            }
        }
    }

    private static void AssertJson(string documented, V2Error actual) => AssertJson(documented, V2Json.Serialize(actual));

    private static void AssertJson(string documented, string actual)
    {
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(documented), JsonNode.Parse(actual)), $"expected (as JSON) {documented}\nactual {actual}");
    }
}
