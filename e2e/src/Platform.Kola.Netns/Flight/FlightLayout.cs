using System.Net;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// Where a flight keeps things on the host, and its address plan. Everything a flight makes is
/// named after it: network namespaces <c>/run/netns/kola-NAME</c> (the switch: bridge
/// <see cref="BridgeName"/>, the discovery etcd and the image server) and
/// <c>/run/netns/kola-NAME-ID</c> (one per machine), state under <c>STATEROOT/NAME</c>.
/// </summary>
internal sealed class FlightLayout
{
    /// <summary>The bridge in the flight's namespace every machine's <c>eth0</c> is attached to.</summary>
    public const string BridgeName = "kola0";

    /// <summary>Machine and service addresses: 10.200.0.0/16, the flight's services on .0.1.</summary>
    public const int PrefixLength = 16;

    public static readonly IPAddress ServicesAddress = IPAddress.Parse("10.200.0.1");

    /// <summary>The directories machines get privately, which therefore must not hold shared state.</summary>
    public static readonly string[] PrivateDirectories = ["/etc", "/run", "/var/lib", "/var/log", "/tmp", "/home", "/opt"];

    public FlightLayout(string stateRoot, string name)
    {
        StateRoot = Path.GetFullPath(stateRoot);
        Name = name;
        Root = Path.Join(StateRoot, name);
    }

    public string StateRoot { get; }

    public string Name { get; }

    public string Root { get; }

    /// <summary>The flight's record: the harness pid and whether it is kept (<c>flight.json</c>).</summary>
    public string StateFile => Path.Join(Root, "flight.json");

    public string NamespacePath => NamespacePathOf(Name);

    /// <summary>The machine image every machine sees at <c>/opt/platform/image</c>: <c>units/</c> and <c>bin/</c>.</summary>
    public string ImageDirectory => Path.Join(Root, "image");

    /// <summary>Files the flight's HTTP server serves at <c>http://10.200.0.1:8080/</c> (ACIs).</summary>
    public string ServedDirectory => Path.Join(Root, "served");

    public string DiscoveryDirectory => Path.Join(Root, "discovery");

    public static string NamespacePathOf(string flight) => $"/run/netns/kola-{flight}";

    public string MachineNamespacePath(string id) => $"/run/netns/kola-{Name}-{id}";

    public string MachineDirectory(string id) => Path.Join(Root, "machines", id);

    /// <summary>The address of machine number <paramref name="number"/> (1-based): 10.200.1.1, ..., 10.200.1.254, 10.200.2.1, ...</summary>
    public static IPAddress MachineAddress(int number) =>
        new([10, 200, (byte)(1 + ((number - 1) / 254)), (byte)(1 + ((number - 1) % 254))]);

    /// <summary>Refuses a state root machines would not see (it lies under one of their private directories).</summary>
    public static string? CheckStateRoot(string stateRoot)
    {
        string full = Path.GetFullPath(stateRoot).TrimEnd('/') + "/";
        string? under = PrivateDirectories.FirstOrDefault(d => full.StartsWith(d + "/", StringComparison.Ordinal));
        return under is null ? null : $"state root {stateRoot} lies under {under}, which every machine mounts privately; use e.g. /var/tmp/kola";
    }
}
