using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>Endpoint failover, request timeouts and unreachable clusters.</summary>
public abstract class FailoverTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    private static readonly string s_deadEndpoint = $"http://127.0.0.1:{FreePorts.Next()}";

    [RealEtcdFact]
    public async Task EveryApi_FirstEndpointDead_FailsOverToTheLiveOne()
    {
        await using IEtcdClient client = Fixture.CreateClient(o => new EtcdClientOptions { Endpoints = [s_deadEndpoint, .. o.Endpoints], DialTimeout = o.DialTimeout });

        // Several rounds so round-robin starts on the dead endpoint at least once for each kind of call.
        for (int i = 0; i < 4; i++)
        {
            PutResult put = await client.Kv.PutAsync(Key($"k{i}"), "v");
            Assert.Equal(put.Header.Revision, (await client.Kv.GetAsync(Key($"k{i}"))).Kv?.ModRevision);
            await client.Maintenance.StatusAsync();
        }

        LeaseGrantResult lease = await client.Lease.GrantAsync(30);
        await using ILeaseKeepAlive keepAlive = await client.Lease.KeepAliveAsync(lease.Id);
        RangeResult now = await client.Kv.GetAsync(Key("none"));
        using var cts = new CancellationTokenSource(Patience);
        await using IAsyncEnumerator<WatchResponse> watch = client.Watch
            .WatchPrefixAsync(Prefix, new WatchOptions { StartRevision = now.Header.Revision + 1 }, cts.Token)
            .GetAsyncEnumerator(cts.Token);
        await client.Kv.PutAsync(Key("watched"), "v", lease.Id);
        WatchEvent e = Assert.Single(await TakeEventsAsync(watch, 1));
        Assert.Equal(Key("watched"), e.Kv.KeyString);
        Assert.Equal(lease.Id, e.Kv.Lease);
        await client.Lease.RevokeAsync(lease.Id);
    }

    [RealEtcdFact]
    public async Task Put_AllEndpointsDead_TimesOutWithDeadlineExceeded()
    {
        await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions
        {
            Endpoints = [s_deadEndpoint],
            RequestTimeout = TimeSpan.FromMilliseconds(800),
        });

        EtcdClientException error = await Assert.ThrowsAsync<EtcdClientException>(() => client.Kv.PutAsync("k", "v"));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [RealEtcdFact]
    public async Task Get_ServerAcceptsButNeverAnswers_TimesOutWithDeadlineExceeded()
    {
        using var silent = new TcpListener(IPAddress.Loopback, FreePorts.Next());
        silent.Start();
        await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions
        {
            Endpoints = [$"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}"],
            RequestTimeout = TimeSpan.FromMilliseconds(500),
        });

        EtcdClientException error = await Assert.ThrowsAsync<EtcdClientException>(() => client.Kv.GetAsync("k"));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [RealEtcdFact]
    public async Task Create_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentException>(() => EtcdClient.Create(new EtcdClientOptions()));
        Assert.Throws<ArgumentException>(() => EtcdClient.Create(new EtcdClientOptions { Endpoints = ["127.0.0.1:2379"] }));
        Assert.Throws<ArgumentException>(() => EtcdClient.Create(new EtcdClientOptions { Endpoints = ["http://h:1/path"] }));
        Assert.Throws<ArgumentException>(() => EtcdClient.Create(new EtcdClientOptions { Endpoints = ["http://h:1"], Username = "u" }));
        await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions { Endpoints = ["http://h:1/"] });
        Assert.Equal(["http://h:1"], client.Endpoints);
    }
}
