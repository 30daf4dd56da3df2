using System.Diagnostics.CodeAnalysis;
using Platform.Etcd.Client;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>
/// One real etcd 3.4 (Debian's etcd-server) per test class, run by <see cref="EtcdMember"/>, with a
/// client shared by the class. Tests isolate themselves with their own key prefix.
/// </summary>
[SuppressMessage("Reliability", "CA1001", Justification = "xunit disposes class fixtures through IAsyncLifetime.DisposeAsync")]
public sealed class RealEtcd : IAsyncLifetime
{
    private readonly EtcdMember _member = new(EtcdMember.RealEtcdPath, "flannel-etcd");
    private IEtcdClient? _client;

    public string ClientUrl => _member.ClientUrl;

    /// <summary>A client shared by the class; tests that need their own call <see cref="NewClient"/>.</summary>
    public IEtcdClient Client => _client ?? throw new InvalidOperationException("etcd is not started");

    public IEtcdClient NewClient() => EtcdClient.Create(new EtcdClientOptions { Endpoints = [ClientUrl] });

    public async Task InitializeAsync()
    {
        if (!File.Exists(EtcdMember.RealEtcdPath))
        {
            // The facts skip; nothing to start.
            return;
        }

        await _member.StartAsync();
        _client = NewClient();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }
        }
        finally
        {
            await _member.DisposeAsync();
        }
    }
}
