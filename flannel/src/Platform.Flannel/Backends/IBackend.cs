using Platform.Flannel.Config;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Backends;

/// <summary>The host interface flannel sends overlay traffic through (flannel's <c>backend.ExternalInterface</c>).</summary>
/// <param name="Name">Interface name, e.g. <c>eth0</c>.</param>
/// <param name="Address">The interface's IPv4 address, dotted quad.</param>
/// <param name="PublicIP">The address other hosts reach us on (<c>--public-ip</c>, else <paramref name="Address"/>).</param>
/// <param name="Mtu">The interface's MTU in bytes.</param>
public sealed record ExternalInterface(string Name, string Address, string PublicIP, int Mtu);

/// <summary>What a backend publishes in this host's lease and the MTU it leaves pods.</summary>
/// <param name="BackendType">Written as the lease's <c>BackendType</c>; null for backends that set none (udp, alloc).</param>
/// <param name="BackendData">Raw JSON written as <c>BackendData</c>, or null.</param>
/// <param name="Mtu">FLANNEL_MTU: the interface MTU minus the backend's encapsulation overhead.</param>
public sealed record BackendRegistration(string? BackendType, string? BackendData, int Mtu);

/// <summary>
/// A flannel backend (flannel's <c>backend.Backend</c> + <c>backend.Network</c>), one folder per
/// implementation, registered by name in <see cref="BackendRegistry"/>. The daemon calls
/// <see cref="RegisterNetworkAsync"/> once before acquiring the lease, then feeds every lease batch of
/// the peer watch to <see cref="HandleLeasesAsync"/> in order.
/// </summary>
public interface IBackend : IAsyncDisposable
{
    /// <summary>Prepares the host for <paramref name="config"/> (devices, ...); returns what goes into our lease.</summary>
    public Task<BackendRegistration> RegisterNetworkAsync(NetworkConfig config, CancellationToken cancellationToken);

    /// <summary>
    /// Applies peer lease changes (routes, neighbours, ...). <paramref name="ownLease"/> is ours, to skip.
    /// A snapshot batch replaces all previous state.
    /// </summary>
    public Task HandleLeasesAsync(LeaseBatch batch, SubnetLease ownLease, CancellationToken cancellationToken);
}

/// <summary>Backends by their lower-case <c>Backend.Type</c> name.</summary>
public static class BackendRegistry
{
    private static readonly Dictionary<string, Func<ExternalInterface, IBackend>> s_factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["alloc"] = iface => new Alloc.AllocBackend(iface),
    };

    public static IReadOnlyCollection<string> Names => s_factories.Keys;

    /// <exception cref="NotSupportedException">"unknown backend type: &lt;type&gt;" (flannel's wording).</exception>
    public static IBackend Create(string type, ExternalInterface externalInterface)
    {
        ArgumentNullException.ThrowIfNull(type);
        return s_factories.TryGetValue(type, out Func<ExternalInterface, IBackend>? factory)
            ? factory(externalInterface)
            : throw new NotSupportedException($"unknown backend type: {type}");
    }
}
