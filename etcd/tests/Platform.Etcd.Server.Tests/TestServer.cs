using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Testing;

namespace Platform.Etcd.Server.Tests;

/// <summary>A member in its own test directory, started in-process; restartable on the same data dir.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    /// <summary>Generous: CI machines are slow and shared; a test that waits this long has failed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly TestDirectory _directory;
    private readonly Func<EtcdServerOptions, EtcdServerOptions>? _configure;

    private TestServer(TestDirectory directory, Func<EtcdServerOptions, EtcdServerOptions>? configure)
    {
        _directory = directory;
        _configure = configure;
    }

    public IEtcdServer Server { get; private set; } = null!;

    public EtcdServerOptions Options { get; private set; } = null!;

    public string DataDir => _directory.Combine("data");

    public static async Task<TestServer> StartAsync(string name, Func<EtcdServerOptions, EtcdServerOptions>? configure = null)
    {
        var server = new TestServer(TestDirectory.Create(name), configure);
        await server.StartServerAsync();
        return server;
    }

    public static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    public async Task StartServerAsync()
    {
        var options = new EtcdServerOptions { DataDir = DataDir, Name = "default" };
        Options = _configure is null ? options : _configure(options);
        using var cts = new CancellationTokenSource(Timeout);
        Server = await EtcdServers.StartAsync(Options, cts.Token);
    }

    public async Task RestartAsync()
    {
        await Server.DisposeAsync();
        await StartServerAsync();
    }

    public Task<PutResponse> PutAsync(string key, string value, long lease = 0) =>
        Server.PutAsync(new PutRequest { Key = B(key), Value = B(value), Lease = lease }, RequestContext.Anonymous, CancellationToken.None).AsTask();

    public Task<RangeResponse> GetAsync(string key, string? rangeEnd = null, bool serializable = false) =>
        Server.RangeAsync(new RangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), Serializable = serializable }, RequestContext.Anonymous, CancellationToken.None).AsTask();

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        _directory.Dispose();
    }
}
