using Microsoft.Extensions.Logging;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc;

/// <summary>The running client API of one etcd member.</summary>
public interface IEtcdApiHost : IAsyncDisposable
{
    /// <summary>The bound client URLs, in the order of <see cref="EtcdApiOptions.ListenClientUrls"/> (ports resolved).</summary>
    public IReadOnlyList<Uri> ClientUrls { get; }

    /// <summary>The bound metrics URLs.</summary>
    public IReadOnlyList<Uri> MetricsUrls { get; }

    /// <summary>Binds every listener and starts serving; throws when a listener cannot be bound.</summary>
    public Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops accepting, lets in-flight requests finish (bounded by the shutdown timeout), closes streams.</summary>
    public Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>Creates <see cref="IEtcdApiHost"/>s.</summary>
public static class EtcdApiHosts
{
    /// <summary>An API host for <paramref name="server"/>; nothing is bound until <see cref="IEtcdApiHost.StartAsync"/>.</summary>
    public static IEtcdApiHost Create(IEtcdServer server, EtcdApiOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        return new Hosting.EtcdApiHost(server, options, loggerFactory);
    }
}
