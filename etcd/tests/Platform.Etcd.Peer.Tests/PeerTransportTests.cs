using System.Net;
using Platform.Etcd.Server;
using Platform.Raft;
using Platform.Testing;

namespace Platform.Etcd.Peer.Tests;

public sealed class PeerTransportTests
{
    private const ulong ClusterId = 0xc1;
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Send_ManyMessages_ArriveInOrder()
    {
        await using var pair = await Pair.StartAsync();
        const int count = 20_000;
        for (int i = 1; i <= count; i++)
        {
            pair.A.Send([Heartbeat(1, 2, (ulong)i)]);
            if (i % 1000 == 0)
            {
                // Stay inside the queue bound: this test is about order, not back-pressure.
                await WaitUntilAsync(() => pair.SinkB.Received.Reader.Count >= i - 1000);
            }
        }

        for (int i = 1; i <= count; i++)
        {
            Message m = await pair.SinkB.Received.Reader.ReadAsync().AsTask().WaitAsync(s_deadline);
            Assert.Equal((ulong)i, m.Commit);
            Assert.Equal(1UL, m.From);
        }

        Assert.NotNull(pair.A.ActiveSince(2));
    }

    [Fact]
    public async Task Send_PeerDown_DropsWhenQueueFullAndReportsUnreachableWithoutBlocking()
    {
        int deadPort = FreePorts.Next();
        var sink = new FakeSink(1, ClusterId);
        sink.Urls[2] = $"http://127.0.0.1:{deadPort}";
        await using IPeerTransport transport = Create(FreePorts.Next(), queue: 16);
        await transport.StartListeningAsync(CancellationToken.None);
        transport.Start(sink);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++)
        {
            transport.Send([Heartbeat(1, 2, (ulong)i)]);
        }

        // 1,000 sends to a dead peer cost microseconds each: nothing waits for the network.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"sending took {watch.Elapsed}");
        Assert.Equal(2UL, await sink.Unreachable.Reader.ReadAsync().AsTask().WaitAsync(s_deadline));
        Assert.Null(transport.ActiveSince(2));
    }

    [Fact]
    public async Task Send_ReceiverRestarts_StreamReconnectsAndDeliversAgain()
    {
        int portB = FreePorts.Next();
        var sinkA = new FakeSink(1, ClusterId);
        sinkA.Urls[2] = $"http://127.0.0.1:{portB}";
        await using IPeerTransport a = Create(FreePorts.Next());
        await a.StartListeningAsync(CancellationToken.None);
        a.Start(sinkA);

        var first = new FakeSink(2, ClusterId);
        IPeerTransport b = Create(portB);
        await b.StartListeningAsync(CancellationToken.None);
        b.Start(first);
        await SendUntilReceivedAsync(a, first);
        await b.DisposeAsync();

        // While B is down, A's stream breaks: the sender reports B unreachable.
        await SendUntilAsync(a, () => sinkA.Unreachable.Reader.TryRead(out ulong id) && id == 2);

        var second = new FakeSink(2, ClusterId);
        await using IPeerTransport b2 = Create(portB);
        await b2.StartListeningAsync(CancellationToken.None);
        b2.Start(second);
        await SendUntilReceivedAsync(a, second);
        Assert.NotNull(a.ActiveSince(2));
    }

    [Fact]
    public async Task Stream_OtherCluster_IsRefusedAndNothingIsDelivered()
    {
        int portB = FreePorts.Next();
        var sinkA = new FakeSink(1, ClusterId);
        sinkA.Urls[2] = $"http://127.0.0.1:{portB}";
        await using IPeerTransport a = Create(FreePorts.Next());
        await a.StartListeningAsync(CancellationToken.None);
        a.Start(sinkA);
        var sinkB = new FakeSink(2, ClusterId + 1);
        await using IPeerTransport b = Create(portB);
        await b.StartListeningAsync(CancellationToken.None);
        b.Start(sinkB);

        for (int i = 0; i < 20; i++)
        {
            a.Send([Heartbeat(1, 2, 1)]);
            await Task.Delay(50);
        }

        Assert.False(sinkB.Received.Reader.TryRead(out _));
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{portB}/raft/stream") { Content = new ByteArrayContent([]) };
        request.Headers.Add("X-Etcd-Cluster-ID", "c1");
        using HttpResponseMessage response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("cluster ID mismatch", (await response.Content.ReadAsStringAsync()).Trim());
    }

    [Fact]
    public async Task Stream_FromRemovedMember_SenderHearsItWasRemoved()
    {
        await using var pair = await Pair.StartAsync();
        pair.SinkB.Removed[1] = true;
        pair.A.Send([Heartbeat(1, 2, 1)]);
        string reason = await pair.SinkA.RemovedReason.Task.WaitAsync(s_deadline);
        Assert.Contains("permanently removed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_TravelsWithBackend_AndIsReported()
    {
        await using var pair = await Pair.StartAsync();
        byte[] backend = new byte[3 * 1024 * 1024 + 17];
        new Random(5).NextBytes(backend);
        pair.SinkA.BackendToSend = backend;
        var snapshot = new Message
        {
            Type = MessageType.MsgSnap,
            From = 1,
            To = 2,
            Term = 3,
            Snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 42, Term = 3 } },
        };
        pair.A.Send([snapshot]);

        Message received = await pair.SinkB.Received.Reader.ReadAsync().AsTask().WaitAsync(s_deadline);
        Assert.Equal(MessageType.MsgSnap, received.Type);
        Assert.Equal(42UL, received.Snapshot.Metadata.Index);
        Assert.True(pair.SinkB.Backends.TryDequeue(out byte[]? got));
        Assert.Equal(backend, got);
        Assert.Equal((2UL, false), await pair.SinkA.Snapshots.Reader.ReadAsync().AsTask().WaitAsync(s_deadline));
    }

    [Fact]
    public async Task RequestAsync_AnswersAndCarriesErrors()
    {
        await using var pair = await Pair.StartAsync();
        byte[] answer = await pair.A.RequestAsync(2, "echo", new byte[] { 1, 2, 3 }, CancellationToken.None);
        Assert.Equal(new byte[] { 3, 2, 1 }, answer);
        EtcdException error = await Assert.ThrowsAsync<EtcdException>(() => pair.A.RequestAsync(2, "other", new byte[] { 1 }, CancellationToken.None).AsTask());
        Assert.Equal(EtcdErrorCode.FailedPrecondition, error.Code);
        Assert.Equal("etcdserver: not leader", error.Message.Trim());
    }

    [Fact]
    public async Task Members_ServedAsEtcdJson_AndFetchedByJoiner()
    {
        await using var pair = await Pair.StartAsync();
        ExistingCluster cluster = await PeerTransports.FetchExistingClusterAsync([pair.SinkA.Urls[2]], null, s_deadline, CancellationToken.None);
        Assert.Equal(ClusterId, cluster.ClusterId);
        Assert.Equal([1UL, 2UL], cluster.Members.Select(m => m.ID));
        Assert.Equal(pair.SinkB.Urls[1], Assert.Single(cluster.Members[0].PeerURLs));

        using var client = new HttpClient();
        string json = await client.GetStringAsync(new Uri(new Uri(pair.SinkA.Urls[2]), "/members"));
        Assert.StartsWith("[{\"id\":1,\"peerURLs\":[", json, StringComparison.Ordinal);
        Assert.Equal("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", (await client.GetStringAsync(new Uri(new Uri(pair.SinkA.Urls[2]), "/version"))).Trim());
    }

    [Fact]
    public async Task FetchExistingCluster_NobodyAnswers_FailsWithEtcdsError()
    {
        EtcdException error = await Assert.ThrowsAsync<EtcdException>(() =>
            PeerTransports.FetchExistingClusterAsync([$"http://127.0.0.1:{FreePorts.Next()}"], null, TimeSpan.FromMilliseconds(500), CancellationToken.None));
        Assert.StartsWith("cannot fetch cluster info from peer urls", error.Message, StringComparison.Ordinal);
    }

    private static Message Heartbeat(ulong from, ulong to, ulong commit) =>
        new() { Type = MessageType.MsgHeartbeat, From = from, To = to, Term = 1, Commit = commit };

    private static IPeerTransport Create(int port, int queue = 4096) => PeerTransports.Create(new PeerTransportOptions
    {
        ListenPeerUrls = [new Uri($"http://127.0.0.1:{port}")],
        QueueCapacity = queue,
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        ProbeInterval = TimeSpan.FromMilliseconds(200),
    });

    private static async Task SendUntilReceivedAsync(IPeerTransport from, FakeSink to)
    {
        using var timeout = new CancellationTokenSource(s_deadline);
        while (!to.Received.Reader.TryRead(out _))
        {
            from.Send([Heartbeat(1, to.MemberId, 1)]);
            await Task.Delay(20, timeout.Token);
        }
    }

    private static async Task SendUntilAsync(IPeerTransport from, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(s_deadline);
        while (!condition())
        {
            from.Send([Heartbeat(1, 2, 1)]);
            await Task.Delay(20, timeout.Token);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(s_deadline);
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>Members 1 and 2 of one cluster, each with its transport, started.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private Pair(IPeerTransport a, IPeerTransport b, FakeSink sinkA, FakeSink sinkB)
        {
            A = a;
            B = b;
            SinkA = sinkA;
            SinkB = sinkB;
        }

        public IPeerTransport A { get; }

        public IPeerTransport B { get; }

        public FakeSink SinkA { get; }

        public FakeSink SinkB { get; }

        public static async Task<Pair> StartAsync()
        {
            int[] ports = FreePorts.Next(2);
            var sinkA = new FakeSink(1, ClusterId);
            var sinkB = new FakeSink(2, ClusterId);
            foreach (FakeSink s in new[] { sinkA, sinkB })
            {
                s.Urls[1] = $"http://127.0.0.1:{ports[0]}";
                s.Urls[2] = $"http://127.0.0.1:{ports[1]}";
            }

            IPeerTransport a = Create(ports[0]);
            IPeerTransport b = Create(ports[1]);
            await a.StartListeningAsync(CancellationToken.None);
            await b.StartListeningAsync(CancellationToken.None);
            a.Start(sinkA);
            b.Start(sinkB);
            return new Pair(a, b, sinkA, sinkB);
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }
}
