using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Flannel.Config;
using Platform.Flannel.Subnets;
using Platform.Linux.Netns;

namespace Platform.Flannel.Backends;

/// <summary>The host interface flannel sends overlay traffic through (flannel's <c>backend.ExternalInterface</c>).</summary>
/// <param name="Name">Interface name, e.g. <c>eth0</c>.</param>
/// <param name="Address">The interface's IPv4 address, dotted quad.</param>
/// <param name="PublicIP">The address other hosts reach us on (<c>--public-ip</c>, else <paramref name="Address"/>).</param>
/// <param name="Mtu">The interface's MTU in bytes.</param>
public sealed record ExternalInterface(string Name, string Address, string PublicIP, int Mtu);

/// <summary>What a backend gets to work with.</summary>
/// <param name="ExternalInterface">The interface overlay traffic leaves through.</param>
public sealed record BackendContext(ExternalInterface ExternalInterface)
{
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>
    /// The network namespace to program (links, routes, sockets); null means the process's own. Lets several
    /// "hosts" run in one process in tests; flanneld itself always uses its own namespace.
    /// </summary>
    public NetworkNamespace? Namespace { get; init; }
}

/// <summary>A backend refuses this host's setup; the message is flannel's.</summary>
public sealed class BackendException : Exception
{
    public BackendException()
    {
    }

    public BackendException(string message)
        : base(message)
    {
    }

    public BackendException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What a backend publishes in this host's lease and the MTU it leaves pods.</summary>
/// <param name="BackendType">Written as the lease's <c>BackendType</c>; null for backends that set none (udp, alloc).</param>
/// <param name="BackendData">Raw JSON written as <c>BackendData</c>, or null.</param>
/// <param name="Mtu">FLANNEL_MTU: the interface MTU minus the backend's encapsulation overhead.</param>
public sealed record BackendRegistration(string? BackendType, string? BackendData, int Mtu);

/// <summary>
/// A flannel backend (flannel's <c>backend.Backend</c> + <c>backend.Network</c>), one folder per
/// implementation, registered by name in <see cref="BackendRegistry"/>. The daemon calls
/// <see cref="RegisterNetworkAsync"/> once before acquiring the lease, then feeds every lease batch of
/// the peer watch to <see cref="HandleLeasesAsync"/> in order. The first call also configures this
/// host's side (device address, TUN routes) from <c>ownLease</c>; when it returns, routes to every peer
/// of the snapshot are in place (flanneld's <c>/readyz</c> waits for it). Disposing stops background
/// work but leaves kernel state in place, as flannel does on exit, so a restart does not interrupt pod
/// traffic (udp's TUN device goes with the process, as flannel's does).
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
    private static readonly Dictionary<string, Func<BackendContext, IBackend>> s_factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["alloc"] = context => new Alloc.AllocBackend(context.ExternalInterface),
        ["host-gw"] = context => new HostGw.HostGwBackend(context),
        ["vxlan"] = context => new Vxlan.VxlanBackend(context),
        ["udp"] = context => new Udp.UdpBackend(context),
    };

    public static IReadOnlyCollection<string> Names => s_factories.Keys;

    /// <exception cref="NotSupportedException">"unknown backend type: &lt;type&gt;" (flannel's wording).</exception>
    public static IBackend Create(string type, ExternalInterface externalInterface) => Create(type, new BackendContext(externalInterface));

    /// <exception cref="NotSupportedException">"unknown backend type: &lt;type&gt;" (flannel's wording).</exception>
    /// <exception cref="BackendException">The backend refuses this host (e.g. host-gw behind NAT).</exception>
    public static IBackend Create(string type, BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(context);
        return s_factories.TryGetValue(type, out Func<BackendContext, IBackend>? factory)
            ? factory(context)
            : throw new NotSupportedException($"unknown backend type: {type}");
    }
}
