using Platform.Etcd.Client.Internal;

namespace Platform.Etcd.Client;

/// <summary>
/// A connection to one etcd cluster, grouped like etcd's services. Thread-safe; create one per
/// cluster and share it. Disposing it closes every channel, ends every watch and stops every
/// lease keep-alive started through it.
/// </summary>
/// <remarks>
/// Endpoint contract for unary calls: endpoints are chosen round-robin among those not recently
/// unreachable; a call that fails is retried on the next endpoint only when that is safe, i.e.
/// reads (ranges, lists, status, hashes, lease time-to-live) on <c>Unavailable</c>, and writes
/// only when the connection could not be established (the request never reached a server).
/// Every call is bounded by <see cref="EtcdClientOptions.RequestTimeout"/> and honours its
/// <see cref="CancellationToken"/> (cancellation surfaces as <see cref="OperationCanceledException"/>).
/// With credentials, a request rejected for an invalid or missing token re-authenticates once and
/// is sent again. Server errors surface as <see cref="EtcdClientException"/> or a subclass.
/// </remarks>
public interface IEtcdClient : IAsyncDisposable
{
    /// <summary>The configured endpoints, normalised (no trailing slash).</summary>
    public IReadOnlyList<string> Endpoints { get; }

    public IKvClient Kv { get; }

    public IWatchClient Watch { get; }

    public ILeaseClient Lease { get; }

    public IClusterClient Cluster { get; }

    public IMaintenanceClient Maintenance { get; }

    public IAuthClient Auth { get; }
}

/// <summary>Creates <see cref="IEtcdClient"/> instances.</summary>
public static class EtcdClient
{
    /// <summary>
    /// Validates <paramref name="options"/> and creates the channels (one per endpoint). No
    /// connection is made until the first request.
    /// </summary>
    /// <exception cref="ArgumentException">No endpoint, an endpoint that is not an http/https URL, or an incomplete TLS key pair.</exception>
    public static IEtcdClient Create(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new EtcdClientImpl(options);
    }
}
