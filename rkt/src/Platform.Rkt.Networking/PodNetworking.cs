namespace Platform.Rkt.Networking;

/// <summary>One item of <c>--net</c>: a network name and its plugin arguments (<c>foo:IP=1.2.3.4;K=V</c>).</summary>
/// <param name="Name">A network name, or one of the reserved words <c>default</c>, <c>host</c>, <c>none</c>, <c>all</c>.</param>
/// <param name="Args">CNI_ARGS for this network (<c>K=V</c> pairs, passed to the plugins as <c>K=V;K2=V2</c>).</param>
public sealed record NetworkSelection(string Name, IReadOnlyDictionary<string, string> Args);

/// <summary>A port forward as the pod manifest's <c>ports</c> entry names it (<c>--port=NAME:HOSTPORT</c>).</summary>
public sealed record PortForward(string Name, int HostPort, string? HostIp);

/// <summary>What <see cref="IPodNetworking.SetupAsync"/> needs for one pod.</summary>
/// <param name="PodUuid">The pod UUID: CNI_CONTAINERID, and the key of IPAM reservations and iptables chains.</param>
/// <param name="PodDirectory">The pod directory; <c>net-info.json</c> is written there.</param>
/// <param name="NetnsPath">A persistent network namespace file (bind mount), CNI_NETNS.</param>
/// <param name="Networks">The parsed <c>--net</c> value (<see cref="NetFlag.Parse(string)"/>).</param>
/// <param name="Ports">Ports to forward from the host: app port name, protocol (tcp/udp), port in the pod, host port and optional host IP.</param>
public sealed record PodNetworkRequest(
    string PodUuid,
    string PodDirectory,
    string NetnsPath,
    IReadOnlyList<NetworkSelection> Networks,
    IReadOnlyList<(string Name, string Protocol, int ContainerPort, int HostPort, string? HostIp)> Ports);

/// <summary>One network the pod joined.</summary>
/// <param name="NetName">The network's name.</param>
/// <param name="IfName">The interface in the pod (<c>eth0</c>, <c>eth1</c>, ... in attach order).</param>
/// <param name="IPv4Cidr">The pod's IPv4 address with prefix length, e.g. <c>172.16.28.2/24</c>.</param>
/// <param name="Gateway">The gateway the plugin reported, if any.</param>
public sealed record NetworkAttachment(string NetName, string IfName, string IPv4Cidr, string? Gateway);

/// <summary>The result of setting up a pod's networks.</summary>
/// <param name="Attachments">One per network, in attach order (empty for <c>none</c> and <c>host</c>).</param>
/// <param name="Nameservers">DNS servers from the first network whose plugin returned any (rkt's rule).</param>
/// <param name="Search">DNS search domains from that same network.</param>
public sealed record PodNetworkStatus(IReadOnlyList<NetworkAttachment> Attachments, IReadOnlyList<string> Nameservers, IReadOnlyList<string> Search);

/// <summary>Attaches pods to CNI networks and detaches them, the way rkt's stage1 networking did.</summary>
public interface IPodNetworking
{
    /// <summary>
    /// Runs CNI ADD for each selected network in rkt's order (user networks sorted by file name, then
    /// <c>default</c> or <c>default-restricted</c>), interfaces <c>eth0</c>, <c>eth1</c>, ...; forwards
    /// <see cref="PodNetworkRequest.Ports"/> through the portmap plugin on the first masquerading network
    /// (else the last). Records what DEL needs in <c>PodDirectory/net-info.json</c> before each ADD, so a
    /// crash leaves something <see cref="TeardownAsync"/> can undo.
    /// </summary>
    /// <exception cref="NetworkConfigException">A configuration error, found before any plugin ran.</exception>
    /// <exception cref="CniPluginException">A plugin failed; every network added so far has been deleted again.</exception>
    public Task<PodNetworkStatus> SetupAsync(PodNetworkRequest request, CancellationToken ct);

    /// <summary>
    /// Runs CNI DEL, in reverse order, for what <c>net-info.json</c> records, then removes the file.
    /// Idempotent (no file: nothing to do); tolerates a network namespace that is already gone (IPAM is
    /// released and masquerade rules removed all the same).
    /// </summary>
    /// <exception cref="CniPluginException">Some DEL failed; the others still ran and the failed ones stay recorded for a retry.</exception>
    public Task TeardownAsync(string podDirectory, string podUuid, CancellationToken ct);
}

/// <summary>Where networks, plugins and IPAM state live.</summary>
public sealed class PodNetworkingOptions
{
    /// <summary>rkt's <c>--local-config</c>: user networks are <c>&lt;LocalConfigDir&gt;/net.d/*.conf|*.conflist</c>; plugins are also looked up in that <c>net.d</c>.</summary>
    public string LocalConfigDir { get; init; } = "/etc/rkt";

    /// <summary>rkt's <c>--system-config</c>: plugins are also looked up in <c>&lt;SystemConfigDir&gt;/plugins/net</c>.</summary>
    public string SystemConfigDir { get; init; } = "/usr/lib/rkt";

    /// <summary>Directories holding CNI plugin executables, searched after the two rkt directories.</summary>
    public IReadOnlyList<string> PluginDirs { get; init; } = ["/usr/lib/cni"];

    /// <summary>rkt's <c>--dir</c>: host-local IPAM keeps its reservations in <c>&lt;DataDir&gt;/networks/&lt;net&gt;</c> unless a config sets <c>dataDir</c>.</summary>
    public string DataDir { get; init; } = "/var/lib/rkt";

    /// <summary>The iptables executable used to remove masquerade chains when a namespace vanished before DEL.</summary>
    public string IptablesPath { get; init; } = "iptables";

    /// <summary>How long one plugin invocation may take before it is killed.</summary>
    public TimeSpan PluginTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>Creates <see cref="IPodNetworking"/> instances.</summary>
public static class PodNetworkings
{
    public static IPodNetworking Create(PodNetworkingOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new CniPodNetworking(o);
    }
}

/// <summary>A network configuration problem (bad <c>--net</c>, malformed file, missing plugin, ...), reported before any plugin ran.</summary>
public sealed class NetworkConfigException : Exception
{
    public NetworkConfigException()
    {
    }

    public NetworkConfigException(string message)
        : base(message)
    {
    }

    public NetworkConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A CNI plugin failed; the message is the plugin's own (<c>msg; details</c>) prefixed with the network and command.</summary>
public sealed class CniPluginException : Exception
{
    public CniPluginException()
    {
    }

    public CniPluginException(string message)
        : base(message)
    {
    }

    public CniPluginException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The CNI error code the plugin reported (0 when it printed none).</summary>
    public int Code { get; init; }
}
