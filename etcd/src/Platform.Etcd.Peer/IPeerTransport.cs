using Platform.Etcd.Server;

namespace Platform.Etcd.Peer;

/// <summary>
/// The peer transport of one member: a listener on the peer URLs (raft streams, snapshots,
/// forwarded requests, <c>/members</c>, <c>/version</c>) and one outgoing stream per peer.
/// </summary>
/// <remarks>
/// Start order: <see cref="StartListeningAsync"/> first (peers may call before the server runs:
/// they get 503 until then), then the server calls <see cref="IRaftTransport.Start"/>.
/// </remarks>
public interface IPeerTransport : IRaftTransport, IAsyncDisposable
{
    /// <summary>The listener's URLs with the ports actually bound.</summary>
    public IReadOnlyList<Uri> ListenUrls { get; }

    /// <summary>Binds the peer listeners.</summary>
    /// <exception cref="IOException">An address is in use or cannot be bound.</exception>
    public Task StartListeningAsync(CancellationToken cancellationToken);
}
