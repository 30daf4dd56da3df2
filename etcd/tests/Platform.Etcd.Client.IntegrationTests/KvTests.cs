using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>KV semantics: revisions, versions, prefixes, limits, sorting, past revisions, deletes, transactions, compaction.</summary>
public abstract class KvTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task Put_ThenGet_ReturnsValueRevisionsAndVersion()
    {
        PutResult first = await Client.Kv.PutAsync(Key("a"), "1");
        PutResult second = await Client.Kv.PutAsync(Key("a"), "2", prevKv: true);

        RangeResult got = await Client.Kv.GetAsync(Key("a"));

        KeyValue kv = Assert.IsType<KeyValue>(got.Kv);
        Assert.Equal("2", kv.ValueString);
        Assert.Equal(first.Header.Revision, kv.CreateRevision);
        Assert.Equal(second.Header.Revision, kv.ModRevision);
        Assert.Equal(first.Header.Revision + 1, second.Header.Revision);
        Assert.Equal(2, kv.Version);
        Assert.Equal("1", second.PrevKv?.ValueString);
        Assert.Null(first.PrevKv);
        Assert.Equal(1, got.Count);
    }

    [RealEtcdFact]
    public async Task Get_MissingKey_ReturnsNoKv()
    {
        RangeResult got = await Client.Kv.GetAsync(Key("missing"));

        Assert.Null(got.Kv);
        Assert.Equal(0, got.Count);
        Assert.True(got.Header.Revision > 0);
    }

    [RealEtcdFact]
    public async Task GetPrefix_ReturnsOnlyKeysUnderThePrefix_InKeyOrder()
    {
        foreach (string key in new[] { "dir/b", "dir/a", "dir/c", "dir0", "di" })
        {
            await Client.Kv.PutAsync(Key(key), key);
        }

        RangeResult got = await Client.Kv.GetPrefixAsync(Key("dir/"));

        Assert.Equal([Key("dir/a"), Key("dir/b"), Key("dir/c")], got.Kvs.Select(kv => kv.KeyString));
        Assert.Equal(3, got.Count);
        Assert.False(got.More);
    }

    [RealEtcdFact]
    public async Task Range_WithLimitSortAndProjections_ReportsMoreAndFullCount()
    {
        for (int i = 0; i < 5; i++)
        {
            await Client.Kv.PutAsync(Key($"k{i}"), $"v{i}");
        }

        KeyRange range = KeyRange.Prefix(Prefix);
        RangeResult limited = await Client.Kv.RangeAsync(range, new RangeOptions { Limit = 2, SortOrder = SortOrder.Descend });
        RangeResult keysOnly = await Client.Kv.RangeAsync(range, new RangeOptions { KeysOnly = true });
        RangeResult countOnly = await Client.Kv.RangeAsync(range, new RangeOptions { CountOnly = true });
        RangeResult between = await Client.Kv.RangeAsync(KeyRange.Between(Key("k1"), Key("k3")));
        RangeResult fromKey = await Client.Kv.RangeAsync(KeyRange.FromKey(Key("k3")), new RangeOptions { Limit = 2 });

        Assert.Equal([Key("k4"), Key("k3")], limited.Kvs.Select(kv => kv.KeyString));
        Assert.True(limited.More);
        Assert.Equal(5, limited.Count);
        Assert.All(keysOnly.Kvs, kv => Assert.Empty(kv.Value));
        Assert.Equal(5, keysOnly.Kvs.Count);
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(5, countOnly.Count);
        Assert.Equal([Key("k1"), Key("k2")], between.Kvs.Select(kv => kv.KeyString));
        Assert.Equal([Key("k3"), Key("k4")], fromKey.Kvs.Select(kv => kv.KeyString));
    }

    [RealEtcdFact]
    public async Task Range_ModRevisionBounds_FilterByRevision()
    {
        PutResult a = await Client.Kv.PutAsync(Key("a"), "1");
        PutResult b = await Client.Kv.PutAsync(Key("b"), "1");
        await Client.Kv.PutAsync(Key("c"), "1");

        RangeResult got = await Client.Kv.RangeAsync(
            KeyRange.Prefix(Prefix),
            new RangeOptions { MinModRevision = a.Header.Revision, MaxModRevision = b.Header.Revision, Serializable = true });

        Assert.Equal([Key("a"), Key("b")], got.Kvs.Select(kv => kv.KeyString));
    }

    [RealEtcdFact]
    public async Task Range_AtPastRevision_ReturnsTheValueThen_AndFutureRevisionThrows()
    {
        PutResult old = await Client.Kv.PutAsync(Key("a"), "old");
        PutResult current = await Client.Kv.PutAsync(Key("a"), "new");

        RangeResult then = await Client.Kv.RangeAsync(KeyRange.Single(Key("a")), new RangeOptions { Revision = old.Header.Revision });

        Assert.Equal("old", then.Kv?.ValueString);
        await Assert.ThrowsAsync<EtcdFutureRevisionException>(
            () => Client.Kv.RangeAsync(KeyRange.Single(Key("a")), new RangeOptions { Revision = current.Header.Revision + 1000 }));
    }

    [RealEtcdFact]
    public async Task Delete_SingleAndPrefix_ReturnDeletedCountAndPrevKvs()
    {
        await Client.Kv.PutAsync(Key("x"), "1");
        await Client.Kv.PutAsync(Key("d/1"), "1");
        await Client.Kv.PutAsync(Key("d/2"), "2");

        DeleteResult single = await Client.Kv.DeleteAsync(Key("x"));
        DeleteResult prefix = await Client.Kv.DeletePrefixAsync(Key("d/"), prevKv: true);
        DeleteResult none = await Client.Kv.DeleteAsync(Key("x"));

        Assert.Equal(1, single.Deleted);
        Assert.Empty(single.PrevKvs);
        Assert.Equal(2, prefix.Deleted);
        Assert.Equal(["1", "2"], prefix.PrevKvs.Select(kv => kv.ValueString));
        Assert.Equal(0, none.Deleted);
        Assert.Equal(0, (await Client.Kv.GetPrefixAsync(Prefix)).Count);
    }

    [RealEtcdFact]
    public async Task Txn_CompareHolds_RunsThen_ElseRunsElse()
    {
        // Create-if-absent: the first transaction creates, the second finds the key and reads it.
        Txn createIfAbsent = Txn.If(Cmp.Version(Key("lock"), CmpResult.Equal, 0))
            .Then(Op.Put(Key("lock"), "owner-1"))
            .Else(Op.Get(Key("lock")));

        TxnResult first = await Client.Kv.TxnAsync(createIfAbsent);
        TxnResult second = await Client.Kv.TxnAsync(createIfAbsent);

        Assert.True(first.Succeeded);
        Assert.IsType<PutResult>(Assert.Single(first.Responses));
        Assert.False(second.Succeeded);
        RangeResult read = Assert.IsType<RangeResult>(Assert.Single(second.Responses));
        Assert.Equal("owner-1", read.Kv?.ValueString);
        Assert.Equal(first.Header.Revision, second.Header.Revision);
    }

    [RealEtcdFact]
    public async Task Txn_CompareAndSwapOnModRevisionAndValue_IsAtomic()
    {
        PutResult put = await Client.Kv.PutAsync(Key("cas"), "v1");
        await Client.Kv.PutAsync(Key("other"), "o");

        TxnResult stale = await Client.Kv.TxnAsync(Txn.If(Cmp.ModRevision(Key("cas"), CmpResult.Less, put.Header.Revision))
            .Then(Op.Put(Key("cas"), "never")));
        TxnResult swap = await Client.Kv.TxnAsync(Txn.If(
                Cmp.ModRevision(Key("cas"), CmpResult.Equal, put.Header.Revision),
                Cmp.Value(Key("cas"), CmpResult.Equal, "v1"),
                Cmp.Version(Key(""), CmpResult.Greater, 0).WithRange(KeyRange.Prefix(Prefix)))
            .Then(Op.Put(Key("cas"), "v2", prevKv: true), Op.Delete(Key("other"), prevKv: true), Op.Txn(Txn.If().Then(Op.Get(Key("cas"))))));

        Assert.False(stale.Succeeded);
        Assert.Empty(stale.Responses);
        Assert.True(swap.Succeeded);
        Assert.Equal("v1", Assert.IsType<PutResult>(swap.Responses[0]).PrevKv?.ValueString);
        Assert.Equal(1, Assert.IsType<DeleteResult>(swap.Responses[1]).Deleted);
        TxnResult nested = Assert.IsType<TxnResult>(swap.Responses[2]);
        Assert.Equal("v2", Assert.IsType<RangeResult>(Assert.Single(nested.Responses)).Kv?.ValueString);
        // The whole transaction is one revision.
        Assert.Equal(swap.Header.Revision, (await Client.Kv.GetAsync(Key("cas"))).Kv?.ModRevision);
    }

    [RealEtcdFact]
    public async Task Compact_ThenRangeAtCompactedRevision_ThrowsCompacted()
    {
        PutResult old = await Client.Kv.PutAsync(Key("c"), "1");
        PutResult current = await Client.Kv.PutAsync(Key("c"), "2");

        await Client.Kv.CompactAsync(current.Header.Revision, physical: true);

        EtcdCompactedException error = await Assert.ThrowsAsync<EtcdCompactedException>(
            () => Client.Kv.RangeAsync(KeyRange.Single(Key("c")), new RangeOptions { Revision = old.Header.Revision }));
        Assert.Equal(Grpc.Core.StatusCode.OutOfRange, error.StatusCode);
        Assert.Equal("2", (await Client.Kv.GetAsync(Key("c"))).Kv?.ValueString);
    }

    [RealEtcdFact]
    public async Task Put_WithUnknownLease_ThrowsLeaseNotFound()
    {
        EtcdLeaseNotFoundException error = await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(
            () => Client.Kv.PutAsync(Key("leased"), "v", lease: 0x7fff_0000_1234));

        Assert.Equal(Grpc.Core.StatusCode.NotFound, error.StatusCode);
        Assert.Equal("etcdserver: requested lease not found", error.EtcdMessage);
    }

    [RealEtcdFact]
    public async Task BinaryKeys_PrefixEndingIn0xff_ScansOnlyThatPrefix()
    {
        byte[] prefix = [.. Bytes(Prefix), 0x01, 0xff];
        await Client.Kv.PutAsync([.. prefix, 0x00], [1]);
        await Client.Kv.PutAsync([.. prefix, 0xff], [2]);
        await Client.Kv.PutAsync([.. Bytes(Prefix), 0x02], [3]);

        RangeResult got = await Client.Kv.GetPrefixAsync(prefix);

        Assert.Equal([[1], [2]], got.Kvs.Select(kv => kv.Value));
    }

    [RealEtcdFact]
    public async Task AnyCall_CancelledToken_ThrowsOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.Kv.GetAsync(Key("a"), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.Kv.PutAsync(Key("a"), "v", cancellationToken: cancelled.Token));
    }
}
