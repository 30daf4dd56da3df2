using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Watch;

public sealed class WatchTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Watch_FromPastRevision_DeliversHistoryThenLiveEventsInOrderWithoutGaps()
    {
        await using TestServer s = await StartAsync(nameof(Watch_FromPastRevision_DeliversHistoryThenLiveEventsInOrderWithoutGaps));
        for (int i = 0; i < 30; i++)
        {
            await s.PutAsync($"w/{i % 7}", $"v{i}");
        }

        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(Create("w/", "w0", startRevision: 2), CancellationToken.None);
        WatchResponse created = await NextAsync(stream);
        Assert.True(created.Created);

        // Writes racing with the catch-up must neither be lost nor repeated.
        Task writer = Task.Run(async () =>
        {
            for (int i = 30; i < 80; i++)
            {
                await s.PutAsync($"w/{i % 7}", $"v{i}");
            }
        });
        List<Event> events = await CollectAsync(stream, 79);
        await writer;
        Assert.Equal(Enumerable.Range(2, 79).Select(r => (long)r), events.Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public async Task Watch_StartRevisionZero_SeesOnlyNewEvents_WithPrevKvAndFilters()
    {
        await using TestServer s = await StartAsync(nameof(Watch_StartRevisionZero_SeesOnlyNewEvents_WithPrevKvAndFilters));
        await s.PutAsync("k", "old");
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(Create("k", null, prevKv: true), CancellationToken.None);
        long withPrev = (await NextAsync(stream)).WatchId;
        WatchCreateRequest noPut = Create("k", null).CreateRequest;
        noPut.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
        await stream.HandleAsync(new WatchRequest { CreateRequest = noPut }, CancellationToken.None);
        long deletesOnly = (await NextAsync(stream)).WatchId;
        Assert.NotEqual(withPrev, deletesOnly);

        await s.PutAsync("k", "new");
        await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("k") }, s_anon, CancellationToken.None);

        var seen = new List<WatchResponse>();
        while (seen.Sum(r => r.Events.Count) < 3)
        {
            seen.Add(await NextAsync(stream));
        }

        var prevEvents = seen.Where(r => r.WatchId == withPrev).SelectMany(r => r.Events).ToList();
        Assert.Equal([Event.Types.EventType.Put, Event.Types.EventType.Delete], prevEvents.Select(e => e.Type));
        Assert.Equal("old", prevEvents[0].PrevKv.Value.ToStringUtf8());
        Assert.Equal("new", prevEvents[1].PrevKv.Value.ToStringUtf8());
        Event delete = Assert.Single(seen.Where(r => r.WatchId == deletesOnly).SelectMany(r => r.Events));
        Assert.Equal(Event.Types.EventType.Delete, delete.Type);
        Assert.Null(delete.PrevKv);
    }

    [Fact]
    public async Task Watch_CompactedStartRevision_IsCanceledWithCompactRevision()
    {
        await using TestServer s = await StartAsync(nameof(Watch_CompactedStartRevision_IsCanceledWithCompactRevision));
        for (int i = 0; i < 10; i++)
        {
            await s.PutAsync("c", $"{i}");
        }

        await s.Server.CompactAsync(new CompactionRequest { Revision = 8, Physical = true }, s_anon, CancellationToken.None);
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(Create("c", null, startRevision: 3), CancellationToken.None);
        Assert.True((await NextAsync(stream)).Created);
        WatchResponse canceled = await NextAsync(stream);
        Assert.True(canceled.Canceled);
        Assert.Equal(8, canceled.CompactRevision);
    }

    [Fact]
    public async Task Watch_ProgressRequest_AndCancel_AnswerAsEtcd()
    {
        await using TestServer s = await StartAsync(nameof(Watch_ProgressRequest_AndCancel_AnswerAsEtcd));
        await s.PutAsync("p", "1");
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(Create("p", null, watchId: 7), CancellationToken.None);
        Assert.Equal(7, (await NextAsync(stream)).WatchId);
        await stream.HandleAsync(Create("p", null, watchId: 7), CancellationToken.None);
        WatchResponse duplicate = await NextAsync(stream);
        Assert.True(duplicate.Canceled);
        Assert.Equal("mvcc: duplicate watch ID provided on the WatchStream", duplicate.CancelReason);

        await stream.HandleAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, CancellationToken.None);
        WatchResponse progress = await NextAsync(stream);
        Assert.Equal((-1L, 2L), (progress.WatchId, progress.Header.Revision));
        Assert.Empty(progress.Events);

        await stream.HandleAsync(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = 7 } }, CancellationToken.None);
        WatchResponse canceled = await NextAsync(stream);
        Assert.True(canceled.Canceled);
        await s.PutAsync("p", "2");
        await stream.HandleAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, CancellationToken.None);
        WatchResponse after = await NextAsync(stream);
        Assert.Equal((-1L, 3L), (after.WatchId, after.Header.Revision));
    }

    [Fact]
    public async Task Watch_ProgressNotify_SentToIdleWatchersOnTheInterval()
    {
        await using TestServer s = await StartAsync(
            nameof(Watch_ProgressNotify_SentToIdleWatchersOnTheInterval),
            o => new EtcdServerOptions { DataDir = o.DataDir, WatchProgressNotifyInterval = TimeSpan.FromMilliseconds(50) });
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        WatchRequest create = Create("idle", null);
        create.CreateRequest.ProgressNotify = true;
        await stream.HandleAsync(create, CancellationToken.None);
        long id = (await NextAsync(stream)).WatchId;
        WatchResponse notify = await NextAsync(stream);
        Assert.Equal(id, notify.WatchId);
        Assert.Empty(notify.Events);
        Assert.False(notify.Created);
    }

    [Fact]
    public async Task Watch_Fragment_SplitsLargeResponsesAndReassemblesExactly()
    {
        await using TestServer s = await StartAsync(
            nameof(Watch_Fragment_SplitsLargeResponsesAndReassemblesExactly),
            o => new EtcdServerOptions { DataDir = o.DataDir, MaxRequestBytes = 64 * 1024 });
        for (int t = 0; t < 4; t++)
        {
            // 50 KB per request: under the request limit, together well over it.
            var txn = new TxnRequest();
            for (int i = t * 5; i < (t + 1) * 5; i++)
            {
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"f/{i:D2}"), Value = B(new string('x', 10_000)) } });
            }

            await s.Server.TxnAsync(txn, s_anon, CancellationToken.None);
        }

        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        WatchRequest create = Create("f/", "f0", startRevision: 2);
        create.CreateRequest.Fragment = true;
        await stream.HandleAsync(create, CancellationToken.None);
        Assert.True((await NextAsync(stream)).Created);
        var parts = new List<WatchResponse>();
        do
        {
            parts.Add(await NextAsync(stream));
        }
        while (parts[^1].Fragment);

        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(p.CalculateSize() < 64 * 1024));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"f/{i:D2}"), parts.SelectMany(p => p.Events).Select(e => e.Kv.Key.ToStringUtf8()));
    }

    [Fact]
    public async Task Watch_SlowConsumer_DoesNotBlockWrites_AndCatchesUpWithoutGaps()
    {
        await using TestServer s = await StartAsync(
            nameof(Watch_SlowConsumer_DoesNotBlockWrites_AndCatchesUpWithoutGaps),
            o => new EtcdServerOptions { DataDir = o.DataDir, WatchStreamBufferSize = 4 });
        await using IWatchStream stream = s.Server.OpenWatchStream(s_anon);
        await stream.HandleAsync(Create("s", null), CancellationToken.None);
        Assert.True((await NextAsync(stream)).Created);

        // Nobody reads while 200 writes go through: they must all complete.
        for (int i = 0; i < 200; i++)
        {
            await s.PutAsync("s", $"{i}");
        }

        List<Event> events = await CollectAsync(stream, 200);
        Assert.Equal(Enumerable.Range(2, 200).Select(r => (long)r), events.Select(e => e.Kv.ModRevision));
    }

    internal static WatchRequest Create(string key, string? rangeEnd, long startRevision = 0, bool prevKv = false, long watchId = 0) => new()
    {
        CreateRequest = new WatchCreateRequest
        {
            Key = B(key),
            RangeEnd = rangeEnd is null ? Google.Protobuf.ByteString.Empty : B(rangeEnd),
            StartRevision = startRevision,
            PrevKv = prevKv,
            WatchId = watchId,
        },
    };

    internal static async Task<WatchResponse> NextAsync(IWatchStream stream)
    {
        using var cts = new CancellationTokenSource(TestServer.Timeout);
        return await stream.Responses.ReadAsync(cts.Token);
    }

    internal static async Task<List<Event>> CollectAsync(IWatchStream stream, int count)
    {
        var events = new List<Event>();
        while (events.Count < count)
        {
            WatchResponse r = await NextAsync(stream);
            events.AddRange(r.Events);
        }

        return events;
    }
}
