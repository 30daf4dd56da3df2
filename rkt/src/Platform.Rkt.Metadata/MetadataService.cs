using System.Net;

namespace Platform.Rkt.Metadata;

/// <summary>Where the metadata service listens.</summary>
public sealed class MetadataServiceOptions
{
    /// <summary>rkt's default public port (<c>--listen-port</c>).</summary>
    public const int DefaultPort = 18112;

    /// <summary>rkt's registration socket.</summary>
    public const string DefaultRegistrationSocket = "/run/rkt/metadata-svc.sock";

    /// <summary>TCP port apps query; 0 picks a free one (see <see cref="IMetadataService.Port"/>).</summary>
    public int ListenPort { get; init; } = DefaultPort;

    /// <summary>Address of the public listener; rkt listened on every IPv4 address.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>Unix socket for pod registration (only root can reach <c>/run/rkt</c>).</summary>
    public string RegistrationSocket { get; init; } = DefaultRegistrationSocket;

    /// <summary>Where request lines go (<c>METHOD path - status</c>, rkt's log); null for none.</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>A running metadata service: public HTTP for apps, a unix socket for registrations.</summary>
public interface IMetadataService : IAsyncDisposable
{
    /// <summary>The bound public port.</summary>
    public int Port { get; }

    /// <summary>Completes when the service stops (after <see cref="IAsyncDisposable.DisposeAsync"/> or a listener failure).</summary>
    public Task Completion { get; }
}

/// <summary>Starts metadata services.</summary>
public static class MetadataServices
{
    /// <summary>Binds both listeners and starts serving.</summary>
    /// <exception cref="IOException">A listener could not be bound (port in use, socket path held by a live service).</exception>
    public static Task<IMetadataService> StartAsync(MetadataServiceOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        return MetadataHost.StartAsync(options, ct);
    }
}
