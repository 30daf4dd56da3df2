
namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>
/// A running etcd cluster that tests talk to through its client URLs only, so the same test class
/// runs against any implementation. One instance per test class (<c>IClassFixture</c>); tests
/// inside a class run one after another, and use their own key prefix.
/// </summary>
/// <remarks>
/// Implementations: <see cref="RealEtcd34"/> and <see cref="OurEtcd"/> (both child processes with
/// etcd's flags, <see cref="EtcdProcessFixture"/>). Another one (e.g. a three-member cluster) needs
/// a fixture class and one line per test class, as in <c>RealEtcd34Tests.cs</c>.
/// </remarks>
public abstract class EtcdServerFixture : IAsyncLifetime
{
    /// <summary>Which implementation, for messages.</summary>
    public abstract string Name { get; }

    /// <summary>http:// client URLs of the members.</summary>
    public abstract IReadOnlyList<string> ClientUrls { get; }

    /// <summary>What <see cref="StatusResult.Version"/> starts with.</summary>
    public abstract string VersionPrefix { get; }

    /// <summary>Starts the cluster (again, after <see cref="StopAsync"/>: same data directory and ports) and returns once it serves clients.</summary>
    public abstract Task StartAsync();

    /// <summary>Kills every member (SIGKILL: no graceful shutdown) and waits for it to exit.</summary>
    public abstract Task StopAsync();

    public IEtcdClient CreateClient(Func<EtcdClientOptions, EtcdClientOptions>? configure = null)
    {
        var options = new EtcdClientOptions { Endpoints = [.. ClientUrls], DialTimeout = TimeSpan.FromSeconds(2) };
        return EtcdClient.Create(configure is null ? options : configure(options));
    }

    public Task InitializeAsync() => StartAsync();

    public abstract Task DisposeAsync();
}
