using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Kv;

public sealed class KvTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Put_ThenRange_ReturnsValueAndEtcdHeader()
    {
        await using TestServer s = await StartAsync(nameof(Put_ThenRange_ReturnsValueAndEtcdHeader));
        PutResponse put = await s.PutAsync("foo", "bar");
        RangeResponse get = await s.GetAsync("foo");
        Assert.Equal(2, put.Header.Revision);
        KeyValue kv = Assert.Single(get.Kvs);
        Assert.Equal(("bar", 2L, 2L, 1L), (kv.Value.ToStringUtf8(), kv.CreateRevision, kv.ModRevision, kv.Version));

        // etcd's ids for --name default and http://localhost:2380, token etcd-cluster.
        Assert.Equal(0x8e9e05c52164694dUL, get.Header.MemberId);
        Assert.Equal(0xcdf818194e3a8c32UL, get.Header.ClusterId);
        Assert.Equal(2, get.Header.Revision);
        Assert.True(get.Header.RaftTerm >= 2);
    }

    public static TheoryData<string, RangeRequest, string[], long, bool> RangeCases()
    {
        var data = new TheoryData<string, RangeRequest, string[], long, bool>
        {
            { "single key", new RangeRequest { Key = B("b") }, ["b"], 1, false },
            { "prefix", new RangeRequest { Key = B("a"), RangeEnd = B("b") }, ["a", "a1", "a2"], 3, false },
            { "from key", new RangeRequest { Key = B("b"), RangeEnd = B("\0") }, ["b", "c", "d"], 3, false },
            { "all", new RangeRequest { Key = B("\0"), RangeEnd = B("\0") }, ["a", "a1", "a2", "b", "c", "d"], 6, false },
            { "limit", new RangeRequest { Key = B("a"), RangeEnd = B("z"), Limit = 2 }, ["a", "a1"], 6, true },
            { "limit equal to count", new RangeRequest { Key = B("a"), RangeEnd = B("z"), Limit = 6 }, ["a", "a1", "a2", "b", "c", "d"], 6, false },
            { "sort key descend", new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortOrder = RangeRequest.Types.SortOrder.Descend }, ["d", "c", "b", "a2", "a1", "a"], 6, false },
            { "sort value ascend", new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortTarget = RangeRequest.Types.SortTarget.Value, SortOrder = RangeRequest.Types.SortOrder.Ascend }, ["d", "c", "b", "a1", "a2", "a"], 6, false },
            { "sort version descend, limit", new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortTarget = RangeRequest.Types.SortTarget.Version, SortOrder = RangeRequest.Types.SortOrder.Descend, Limit = 1 }, ["a1"], 6, true },
            { "sort create target defaults to ascend", new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortTarget = RangeRequest.Types.SortTarget.Create }, ["d", "c", "b", "a2", "a1", "a"], 6, false },
            { "sort mod descend", new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortTarget = RangeRequest.Types.SortTarget.Mod, SortOrder = RangeRequest.Types.SortOrder.Descend }, ["a1", "a", "a2", "b", "c", "d"], 6, false },
            { "min mod revision", new RangeRequest { Key = B("a"), RangeEnd = B("z"), MinModRevision = 7 }, ["a", "a1"], 6, false },
            { "max mod revision", new RangeRequest { Key = B("a"), RangeEnd = B("z"), MaxModRevision = 3 }, ["c", "d"], 6, false },
            { "min create revision", new RangeRequest { Key = B("a"), RangeEnd = B("z"), MinCreateRevision = 6 }, ["a", "a1"], 6, false },
            { "max create revision", new RangeRequest { Key = B("a"), RangeEnd = B("z"), MaxCreateRevision = 4 }, ["b", "c", "d"], 6, false },
            { "historical revision", new RangeRequest { Key = B("a"), RangeEnd = B("z"), Revision = 4 }, ["b", "c", "d"], 3, false },
            { "count only", new RangeRequest { Key = B("a"), RangeEnd = B("z"), CountOnly = true }, [], 6, false },
            { "missing key", new RangeRequest { Key = B("zz") }, [], 0, false },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(RangeCases))]
    public async Task Range_Options_MatchEtcd(string name, RangeRequest request, string[] keys, long count, bool more)
    {
        await using TestServer s = await StartAsync("range-" + name.Replace(' ', '-'));
        await SeedAsync(s);
        RangeResponse response = await s.Server.RangeAsync(request, s_anon, CancellationToken.None);
        Assert.Equal(keys, response.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal(count, response.Count);
        Assert.Equal(more, response.More);
        Assert.Equal(9, response.Header.Revision);
    }

    [Fact]
    public async Task Range_KeysOnly_ReturnsNoValues()
    {
        await using TestServer s = await StartAsync(nameof(Range_KeysOnly_ReturnsNoValues));
        await SeedAsync(s);
        RangeResponse response = await s.Server.RangeAsync(new RangeRequest { Key = B("a"), RangeEnd = B("b"), KeysOnly = true }, s_anon, CancellationToken.None);
        Assert.Equal(3, response.Kvs.Count);
        Assert.All(response.Kvs, kv => Assert.True(kv.Value.IsEmpty));

        // The stored values are untouched (results are shared with the store).
        Assert.Equal("v3", (await s.GetAsync("a1")).Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Range_FutureAndCompactedRevisions_FailAsEtcd()
    {
        await using TestServer s = await StartAsync(nameof(Range_FutureAndCompactedRevisions_FailAsEtcd));
        await SeedAsync(s);
        EtcdException future = await Assert.ThrowsAsync<EtcdException>(async () =>
            await s.Server.RangeAsync(new RangeRequest { Key = B("a"), Revision = 100 }, s_anon, CancellationToken.None));
        Assert.Equal(("etcdserver: mvcc: required revision is a future revision", EtcdErrorCode.OutOfRange), (future.Message, future.Code));

        await s.Server.CompactAsync(new CompactionRequest { Revision = 6, Physical = true }, s_anon, CancellationToken.None);
        EtcdException compacted = await Assert.ThrowsAsync<EtcdException>(async () =>
            await s.Server.RangeAsync(new RangeRequest { Key = B("a"), Revision = 4 }, s_anon, CancellationToken.None));
        Assert.Equal(("etcdserver: mvcc: required revision has been compacted", EtcdErrorCode.OutOfRange), (compacted.Message, compacted.Code));
        EtcdException again = await Assert.ThrowsAsync<EtcdException>(async () =>
            await s.Server.CompactAsync(new CompactionRequest { Revision = 5 }, s_anon, CancellationToken.None));
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", again.Message);
        Assert.Equal(3, (await s.Server.RangeAsync(new RangeRequest { Key = B("a"), RangeEnd = B("b"), Revision = 7 }, s_anon, CancellationToken.None)).Kvs.Count);
    }

    [Fact]
    public async Task Put_PrevKvIgnoreValueIgnoreLease_FollowEtcdRules()
    {
        await using TestServer s = await StartAsync(nameof(Put_PrevKvIgnoreValueIgnoreLease_FollowEtcdRules));
        await s.PutAsync("k", "v1");
        PutResponse second = await s.Server.PutAsync(new PutRequest { Key = B("k"), Value = B("v2"), PrevKv = true }, s_anon, CancellationToken.None);
        Assert.Equal("v1", second.PrevKv.Value.ToStringUtf8());

        LeaseGrantResponse lease = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, s_anon, CancellationToken.None);
        await s.Server.PutAsync(new PutRequest { Key = B("k"), IgnoreValue = true, Lease = lease.ID }, s_anon, CancellationToken.None);
        KeyValue kv = (await s.GetAsync("k")).Kvs[0];
        Assert.Equal(("v2", lease.ID), (kv.Value.ToStringUtf8(), kv.Lease));
        await s.Server.PutAsync(new PutRequest { Key = B("k"), Value = B("v3"), IgnoreLease = true }, s_anon, CancellationToken.None);
        kv = (await s.GetAsync("k")).Kvs[0];
        Assert.Equal(("v3", lease.ID), (kv.Value.ToStringUtf8(), kv.Lease));

        await AssertEtcdError("etcdserver: key not found", () => s.Server.PutAsync(new PutRequest { Key = B("missing"), IgnoreValue = true }, s_anon, CancellationToken.None).AsTask());
        await AssertEtcdError("etcdserver: value is provided", () => s.Server.PutAsync(new PutRequest { Key = B("k"), Value = B("x"), IgnoreValue = true }, s_anon, CancellationToken.None).AsTask());
        await AssertEtcdError("etcdserver: lease is provided", () => s.Server.PutAsync(new PutRequest { Key = B("k"), Lease = 5, IgnoreLease = true }, s_anon, CancellationToken.None).AsTask());
        await AssertEtcdError("etcdserver: key is not provided", () => s.Server.PutAsync(new PutRequest { Value = B("x") }, s_anon, CancellationToken.None).AsTask());
        await AssertEtcdError("etcdserver: requested lease not found", () => s.Server.PutAsync(new PutRequest { Key = B("k"), Lease = 12345 }, s_anon, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task DeleteRange_PrevKv_ReturnsDeletedKeysInOneRevision()
    {
        await using TestServer s = await StartAsync(nameof(DeleteRange_PrevKv_ReturnsDeletedKeysInOneRevision));
        await SeedAsync(s);
        DeleteRangeResponse deleted = await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("a"), RangeEnd = B("b"), PrevKv = true }, s_anon, CancellationToken.None);
        Assert.Equal(3, deleted.Deleted);
        Assert.Equal(["a", "a1", "a2"], deleted.PrevKvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal(10, deleted.Header.Revision);
        DeleteRangeResponse none = await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("nothing") }, s_anon, CancellationToken.None);
        Assert.Equal((0L, 10L), (none.Deleted, none.Header.Revision));
        Assert.Equal(3, (await s.GetAsync("\0", "\0")).Count);
    }

    public static TheoryData<Compare.Types.CompareTarget, Compare.Types.CompareResult, long, bool> CompareCases() => new()
    {
        // "b" was created at revision 4 with version 1 and value "v2" (see SeedAsync).
        { Compare.Types.CompareTarget.Version, Compare.Types.CompareResult.Equal, 1, true },
        { Compare.Types.CompareTarget.Version, Compare.Types.CompareResult.Greater, 1, false },
        { Compare.Types.CompareTarget.Create, Compare.Types.CompareResult.Equal, 4, true },
        { Compare.Types.CompareTarget.Create, Compare.Types.CompareResult.Less, 5, true },
        { Compare.Types.CompareTarget.Mod, Compare.Types.CompareResult.NotEqual, 4, false },
        { Compare.Types.CompareTarget.Mod, Compare.Types.CompareResult.Greater, 3, true },
        { Compare.Types.CompareTarget.Lease, Compare.Types.CompareResult.Equal, 0, true },
    };

    [Theory]
    [MemberData(nameof(CompareCases))]
    public async Task Txn_Compare_ChoosesBranch(Compare.Types.CompareTarget target, Compare.Types.CompareResult result, long operand, bool succeeded)
    {
        await using TestServer s = await StartAsync($"txn-{target}-{result}-{operand}");
        await SeedAsync(s);
        var compare = new Compare { Key = B("b"), Target = target, Result = result };
        switch (target)
        {
            case Compare.Types.CompareTarget.Version:
                compare.Version = operand;
                break;
            case Compare.Types.CompareTarget.Create:
                compare.CreateRevision = operand;
                break;
            case Compare.Types.CompareTarget.Mod:
                compare.ModRevision = operand;
                break;
            default:
                compare.Lease = operand;
                break;
        }

        var txn = new TxnRequest { Compare = { compare }, Success = { Put("then", "1") }, Failure = { Put("else", "1") } };
        TxnResponse response = await s.Server.TxnAsync(txn, s_anon, CancellationToken.None);
        Assert.Equal(succeeded, response.Succeeded);
        Assert.Equal(1, (await s.GetAsync(succeeded ? "then" : "else")).Count);
        Assert.Equal(10, response.Header.Revision);
    }

    [Fact]
    public async Task Txn_ValueCompareOnMissingKey_Fails_AndRangeCompareCoversEveryKey()
    {
        await using TestServer s = await StartAsync(nameof(Txn_ValueCompareOnMissingKey_Fails_AndRangeCompareCoversEveryKey));
        await SeedAsync(s);
        var missing = new TxnRequest { Compare = { new Compare { Key = B("nope"), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = ByteString.Empty } } };
        Assert.False((await s.Server.TxnAsync(missing, s_anon, CancellationToken.None)).Succeeded);
        var versionMissing = new TxnRequest { Compare = { new Compare { Key = B("nope"), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 } } };
        Assert.True((await s.Server.TxnAsync(versionMissing, s_anon, CancellationToken.None)).Succeeded);

        // a, a1, a2 all have create revision > 1, but a was updated (version 2): the range fails.
        var range = new TxnRequest { Compare = { new Compare { Key = B("a"), RangeEnd = B("b"), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 1 } } };
        Assert.False((await s.Server.TxnAsync(range, s_anon, CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task Txn_NestedWithRangeAndDelete_AppliesAtomicallyInOneRevision()
    {
        await using TestServer s = await StartAsync(nameof(Txn_NestedWithRangeAndDelete_AppliesAtomicallyInOneRevision));
        await SeedAsync(s);
        var nested = new TxnRequest
        {
            Compare = { new Compare { Key = B("c"), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = B("zzz") } },
            Success = { Put("n1", "x"), new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("d") } } },
            Failure = { Put("n2", "x") },
        };
        var txn = new TxnRequest
        {
            Success =
            {
                Put("t1", "x"),
                new RequestOp { RequestTxn = nested },
                new RequestOp { RequestRange = new RangeRequest { Key = B("t1") } },
            },
        };
        TxnResponse response = await s.Server.TxnAsync(txn, s_anon, CancellationToken.None);
        Assert.True(response.Succeeded);
        Assert.Equal(10, response.Header.Revision);
        TxnResponse inner = response.Responses[1].ResponseTxn;
        Assert.False(inner.Succeeded);
        Assert.Equal(1, response.Responses[2].ResponseRange.Count);
        RangeResponse all = await s.GetAsync("n", "o");
        Assert.Equal(["n2"], all.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.All((await s.GetAsync("n", "u")).Kvs, kv => Assert.Equal(10, kv.ModRevision));
        Assert.Equal(1, (await s.GetAsync("d")).Count);
    }

    [Fact]
    public async Task Txn_Validation_RejectsLikeEtcd()
    {
        await using TestServer s = await StartAsync(nameof(Txn_Validation_RejectsLikeEtcd), o => new EtcdServerOptions { DataDir = o.DataDir, MaxTxnOps = 3 });
        await AssertEtcdError("etcdserver: duplicate key given in txn request", () => Txn(s, new TxnRequest { Success = { Put("a", "1"), Put("a", "2") } }));
        await AssertEtcdError("etcdserver: duplicate key given in txn request", () => Txn(s, new TxnRequest
        {
            Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("a"), RangeEnd = B("c") } }, Put("b", "1") },
        }));
        await AssertEtcdError("etcdserver: too many operations in txn request", () => Txn(s, new TxnRequest { Success = { Put("a", "1"), Put("b", "1"), Put("c", "1"), Put("d", "1") } }));
        await AssertEtcdError("etcdserver: key is not provided", () => Txn(s, new TxnRequest { Compare = { new Compare() } }));

        // Then and else of a nested txn may put the same key.
        var nested = new TxnRequest { Success = { Put("x", "1") }, Failure = { Put("x", "2") } };
        TxnResponse ok = await s.Server.TxnAsync(new TxnRequest { Success = { new RequestOp { RequestTxn = nested } } }, s_anon, CancellationToken.None);
        Assert.True(ok.Succeeded);

        // A failing check inside the chosen branch leaves nothing behind.
        await AssertEtcdError("etcdserver: requested lease not found", () => Txn(s, new TxnRequest
        {
            Success = { Put("y", "1"), new RequestOp { RequestPut = new PutRequest { Key = B("z"), Lease = 99 } } },
        }));
        Assert.Equal(0, (await s.GetAsync("y")).Count);
    }

    [Fact]
    public async Task Reads_LinearizableAndSerializable_SeeAcknowledgedWrites()
    {
        await using TestServer s = await StartAsync(nameof(Reads_LinearizableAndSerializable_SeeAcknowledgedWrites));
        var writers = Enumerable.Range(0, 50).Select(i => s.PutAsync($"k{i:D2}", "v")).ToList();
        var readers = Enumerable.Range(0, 50).Select(_ => s.GetAsync("k", "l")).ToList();
        await Task.WhenAll(writers);
        await Task.WhenAll(readers);
        Assert.Equal(50, (await s.GetAsync("k", "l")).Count);
        Assert.Equal(50, (await s.GetAsync("k", "l", serializable: true)).Count);
        long lastRevision = writers.Max(w => w.Result.Header.Revision);
        Assert.Equal(51, lastRevision);
        Assert.All(readers, r => Assert.True(r.Result.Header.Revision <= 51));
    }

    /// <summary>Revisions: d 2, c 3, b 4, a2 5, a1 6, a 7, a again 8 (version 2), a1 again 9 (version 2).</summary>
    internal static async Task SeedAsync(TestServer s)
    {
        await s.PutAsync("d", "v0");
        await s.PutAsync("c", "v1");
        await s.PutAsync("b", "v2");
        await s.PutAsync("a2", "v3");
        await s.PutAsync("a1", "v3");
        await s.PutAsync("a", "v4");
        await s.PutAsync("a", "v5");
        await s.PutAsync("a1", "v3");
    }

    internal static RequestOp Put(string key, string value) => new() { RequestPut = new PutRequest { Key = B(key), Value = B(value) } };

    internal static async Task AssertEtcdError(string message, Func<Task> call)
    {
        EtcdException e = await Assert.ThrowsAsync<EtcdException>(call);
        Assert.Equal(message, e.Message);
    }

    private static Task<TxnResponse> Txn(TestServer s, TxnRequest request) => s.Server.TxnAsync(request, s_anon, CancellationToken.None).AsTask();
}
