using Platform.Common.Flags;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Daemon;

/// <summary>flanneld's flags (flannel's <c>main.go</c> <c>init</c>), each also read from <c>FLANNELD_*</c>.</summary>
internal sealed class FlanneldFlags
{
    public FlanneldFlags()
    {
        Set = new FlagSet("flanneld", "FLANNELD");
        EtcdEndpoints = Set.StringList("etcd-endpoints", ["http://127.0.0.1:4001", "http://127.0.0.1:2379"], "a comma-delimited list of etcd endpoints");
        EtcdPrefix = Set.String("etcd-prefix", "/coreos.com/network", "etcd prefix");
        EtcdKeyFile = Set.String("etcd-keyfile", "", "SSL key file used to secure etcd communication");
        EtcdCertFile = Set.String("etcd-certfile", "", "SSL certification file used to secure etcd communication");
        EtcdCaFile = Set.String("etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication");
        EtcdUsername = Set.String("etcd-username", "", "username for BasicAuth to etcd");
        EtcdPassword = Set.String("etcd-password", "", "password for BasicAuth to etcd");
        Iface = Set.StringList("iface", [], "interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each option in order. Returns the first match found.");
        IfaceRegex = Set.StringList("iface-regex", [], "regex expression to match the first interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each regex in order. Returns the first match found. Regexes are checked after specific interfaces specified by the iface option have already been checked.");
        IfaceCanReach = Set.String("iface-can-reach", "", "detect interface to use (IP or name) for inter-host communication based on which will be used for provided IP. This is exactly the interface to use of command 'ip route get <ip-address>' (not supported yet)");
        PublicIp = Set.String("public-ip", "", "IP accessible by other nodes for inter-host communication");
        PublicIpv6 = Set.String("public-ipv6", "", "IPv6 accessible by other nodes for inter-host communication (not supported yet)");
        IpMasq = Set.Bool("ip-masq", false, "setup IP masquerade rule for traffic destined outside of overlay network");
        IpMasqFullyRandomDisable = Set.Bool("ip-masq-fully-random-disable", false, "disable --random-fully in the MASQUERADE rule");
        SubnetFilePath = Set.String("subnet-file", SubnetFile.DefaultPath, "filename where env variables (subnet, MTU, ... ) will be written to");
        SubnetLeaseRenewMargin = Set.Int("subnet-lease-renew-margin", 60, "subnet lease renewal margin, in minutes, ranging from 1 to 1439");
        HealthzIp = Set.String("healthz-ip", "0.0.0.0", "the IP address for healthz server to listen");
        HealthzPort = Set.Int("healthz-port", 0, "the port for healthz server to listen(0 to disable)");
        IptablesResync = Set.Int("iptables-resync", 5, "resync period for iptables rules, in seconds");
        IptablesForwardRules = Set.Bool("iptables-forward-rules", true, "add default accept rules to FORWARD chain in iptables");
        IpBlackholeRoute = Set.Bool("ip-blackhole-route", false, "setup a blackhole route for the whole subnet");
        KubeSubnetMgr = Set.Bool("kube-subnet-mgr", false, "contact the Kubernetes API for subnet assignment instead of etcd (not supported yet).");
        Verbosity = Set.Int("v", 0, "log level for V logs");
        Version = Set.Bool("version", false, "print version and exit");
    }

    public FlagSet Set { get; }

    public Flag<IReadOnlyList<string>> EtcdEndpoints { get; }

    public Flag<string> EtcdPrefix { get; }

    public Flag<string> EtcdKeyFile { get; }

    public Flag<string> EtcdCertFile { get; }

    public Flag<string> EtcdCaFile { get; }

    public Flag<string> EtcdUsername { get; }

    public Flag<string> EtcdPassword { get; }

    public Flag<IReadOnlyList<string>> Iface { get; }

    public Flag<IReadOnlyList<string>> IfaceRegex { get; }

    public Flag<string> IfaceCanReach { get; }

    public Flag<string> PublicIp { get; }

    public Flag<string> PublicIpv6 { get; }

    public Flag<bool> IpMasq { get; }

    public Flag<bool> IpMasqFullyRandomDisable { get; }

    public Flag<string> SubnetFilePath { get; }

    public Flag<int> SubnetLeaseRenewMargin { get; }

    public Flag<string> HealthzIp { get; }

    public Flag<int> HealthzPort { get; }

    public Flag<int> IptablesResync { get; }

    public Flag<bool> IptablesForwardRules { get; }

    public Flag<bool> IpBlackholeRoute { get; }

    public Flag<bool> KubeSubnetMgr { get; }

    public Flag<int> Verbosity { get; }

    public Flag<bool> Version { get; }
}
