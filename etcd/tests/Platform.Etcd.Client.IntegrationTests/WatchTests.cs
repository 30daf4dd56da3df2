using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>Watches from past revisions, filters, prevKv, atomic transaction batches, compaction.</summary>
public abstract class WatchTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task Watch_FromPastRevision_DeliversHistoryThenLiveEventsInOrder()
    {
        PutResult first = await Client.Kv.PutAsync(Key("a"), "1");
        await Client.Kv.PutAsync(Key("b"), "1");
        await Client.Kv.DeleteAsync(Key("a"));
        await Client.Kv.PutAsync(Prefix.TrimEnd('/') + "-outside", "x");
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchPrefixAsync(Prefix, new WatchOptions { StartRevision = first.Header.Revision }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        List<WatchEvent> history = await TakeEventsAsync(watch, 3);
        PutResult live = await Client.Kv.PutAsync(Key("c"), "1");
        List<WatchEvent> next = await TakeEventsAsync(watch, 1);

        long r = first.Header.Revision;
        Assert.Equal($"Put:{Key("a")}@{r} Put:{Key("b")}@{r + 1} Delete:{Key("a")}@{r + 2}", Show(history));
        Assert.Equal($"Put:{Key("c")}@{live.Header.Revision}", Show(next));
    }

    [RealEtcdFact]
    public async Task Watch_NoPutWithPrevKv_DeliversOnlyDeletesWithTheirLastValue()
    {
        PutResult start = await Client.Kv.PutAsync(Key("a"), "1");
        await Client.Kv.PutAsync(Key("a"), "2");
        await Client.Kv.DeleteAsync(Key("a"));
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchAsync(Key("a"), new WatchOptions { StartRevision = start.Header.Revision, NoPut = true, PrevKv = true }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        WatchEvent delete = Assert.Single(await TakeEventsAsync(watch, 1));

        Assert.Equal(WatchEventType.Delete, delete.Type);
        Assert.Equal("2", delete.PrevKv?.ValueString);
        Assert.Empty(delete.Kv.Value);
    }

    [RealEtcdFact]
    public async Task Watch_NoDelete_SkipsDeletes()
    {
        PutResult start = await Client.Kv.PutAsync(Key("a"), "1");
        await Client.Kv.DeleteAsync(Key("a"));
        await Client.Kv.PutAsync(Key("a"), "2");
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchAsync(Key("a"), new WatchOptions { StartRevision = start.Header.Revision, NoDelete = true }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        List<WatchEvent> events = await TakeEventsAsync(watch, 2);

        Assert.Equal(["1", "2"], events.Select(e => e.Kv.ValueString));
        Assert.All(events, e => Assert.Equal(WatchEventType.Put, e.Type));
    }

    [RealEtcdFact]
    public async Task Watch_TransactionWritingSeveralKeys_ArrivesAsOneBatch()
    {
        RangeResult now = await Client.Kv.GetAsync(Key("none"));
        TxnResult txn = await Client.Kv.TxnAsync(Txn.If().Then(Op.Put(Key("x"), "1"), Op.Put(Key("y"), "1"), Op.Put(Key("z"), "1")));
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchPrefixAsync(Prefix, new WatchOptions { StartRevision = now.Header.Revision + 1 }, cts.Token)
            .GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());

        Assert.Equal(3, watch.Current.Events.Count);
        Assert.All(watch.Current.Events, e => Assert.Equal(txn.Header.Revision, e.Kv.ModRevision));
    }

    [RealEtcdFact]
    public async Task Watch_FromCompactedRevision_ThrowsCompactedWithTheCompactRevision()
    {
        PutResult old = await Client.Kv.PutAsync(Key("a"), "1");
        PutResult current = await Client.Kv.PutAsync(Key("a"), "2");
        await Client.Kv.CompactAsync(current.Header.Revision);
        using var cts = new CancellationTokenSource(Patience);

        EtcdCompactedException error = await Assert.ThrowsAsync<EtcdCompactedException>(async () =>
        {
            await foreach (WatchResponse _ in Client.Watch.WatchAsync(Key("a"), new WatchOptions { StartRevision = old.Header.Revision }, cts.Token))
            {
                Assert.Fail("a compacted watch delivered events");
            }
        });

        Assert.Equal(current.Header.Revision, error.CompactRevision);
    }

    [RealEtcdFact]
    public async Task Watch_Cancelled_EndsWithOperationCanceled()
    {
        PutResult start = await Client.Kv.PutAsync(Key("a"), "1");
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = Client.Watch
            .WatchAsync(Key("a"), new WatchOptions { StartRevision = start.Header.Revision }, cts.Token)
            .GetAsyncEnumerator(cts.Token);
        await TakeEventsAsync(watch, 1);

        ValueTask<bool> pending = watch.MoveNextAsync();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
    }
}
