using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>
/// Watch resumption across an etcd restart. The watcher reaches etcd through a <see cref="TcpProxy"/>
/// that the test cuts, so events are provably written while the watcher is disconnected: a resume
/// "from now" would lose them, a resume from the wrong revision would repeat some.
/// </summary>
public abstract class WatchResumeTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task Watch_AcrossEtcdRestart_ResumesFromLastRevisionWithoutGapOrDuplicate()
    {
        int etcdPort = new Uri(Fixture.ClientUrls[0]).Port;
        await using var proxy = new TcpProxy(etcdPort);
        await using IEtcdClient watcher = EtcdClient.Create(new EtcdClientOptions { Endpoints = [proxy.Url], DialTimeout = TimeSpan.FromSeconds(2) });
        PutResult k0 = await Client.Kv.PutAsync(Key("k0"), "v");
        using var cts = new CancellationTokenSource(Patience * 2);
        await using IAsyncEnumerator<WatchResponse> watch = watcher.Watch
            .WatchPrefixAsync(Prefix, new WatchOptions { StartRevision = k0.Header.Revision }, cts.Token)
            .GetAsyncEnumerator(cts.Token);
        var seen = new List<WatchEvent>();
        seen.AddRange(await TakeEventsAsync(watch, 1));
        await Client.Kv.PutAsync(Key("k1"), "v");
        seen.AddRange(await TakeEventsAsync(watch, 1));

        // Disconnect the watcher, restart etcd on the same data directory and ports, write while the
        // watcher cannot reach it, then let it reconnect.
        ValueTask<bool> pending = watch.MoveNextAsync();
        proxy.Block();
        await Fixture.StopAsync();
        await Fixture.StartAsync();
        await using (IEtcdClient writer = Fixture.CreateClient())
        {
            await writer.Kv.PutAsync(Key("k2"), "v");
            await writer.Kv.DeleteAsync(Key("k0"));
        }

        if (pending.IsCompleted)
        {
            Assert.Fail($"the watch delivered something while disconnected: {(pending.IsCompletedSuccessfully ? Show(watch.Current.Events) + watch.Current.Header : pending.AsTask().Exception)}");
        }

        proxy.Unblock();
        Assert.True(await pending);
        seen.AddRange(watch.Current.Events);
        if (seen.Count < 4)
        {
            seen.AddRange(await TakeEventsAsync(watch, 4 - seen.Count));
        }

        await using (IEtcdClient writer = Fixture.CreateClient())
        {
            await writer.Kv.PutAsync(Key("k3"), "v");
        }

        seen.AddRange(await TakeEventsAsync(watch, 1));

        long r = k0.Header.Revision;
        Assert.Equal(
            $"Put:{Key("k0")}@{r} Put:{Key("k1")}@{r + 1} Put:{Key("k2")}@{r + 2} Delete:{Key("k0")}@{r + 3} Put:{Key("k3")}@{r + 4}",
            Show(seen));
    }
}
