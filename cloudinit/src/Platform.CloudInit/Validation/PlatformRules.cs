using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Platform.CloudInit.Schema;
using Platform.CloudInit.Yaml;

namespace Platform.CloudInit.Validation;

/// <summary>
/// Beyond coreos-cloudinit: the <c>coreos.etcd2</c> and <c>coreos.flannel</c> sections checked
/// against what our etcd (etcd 3.4's flags and checks) and flanneld will accept at start-up, so a
/// config that would boot a machine whose etcd or flanneld refuses to start fails validation instead.
/// Substitution tokens such as <c>$private_ipv4</c> stand for an address of the right family.
/// </summary>
internal static partial class PlatformRules
{
    private static readonly string[] s_etcdUrlKeys = ["advertise_client_urls", "initial_advertise_peer_urls", "listen_client_urls", "listen_peer_urls"];

    // etcd 3.4 embed.Config: the defaults and the limit checked in Validate().
    private const long DefaultHeartbeatMs = 100;
    private const long DefaultElectionMs = 1000;
    private const long MaxElectionMs = 50000;

    public static void CheckEtcd2(YamlNode root, ValidationReport report)
    {
        YamlNode? etcd2 = root.Child("coreos")?.Child("etcd2");
        if (etcd2 is null || etcd2.Kind != YamlNodeKind.Map)
        {
            return;
        }

        SchemaNode schema = CloudConfigSchema.Etcd2;
        foreach (YamlNode key in etcd2.Children)
        {
            SchemaNode? field = schema.Child(key.Name);
            if (field is null || key.Kind == YamlNodeKind.Null)
            {
                continue;
            }

            string flag = key.Name.Replace('_', '-');
            if (!EtcdFlags.Names.Contains(flag))
            {
                report.Warning(key.Line, $"etcd 3.4 has no flag --{flag}: {field.Env} would be ignored");
            }
        }

        foreach (string urlKey in s_etcdUrlKeys)
        {
            if (Text(etcd2, urlKey) is (string value, int line))
            {
                foreach (string url in SplitList(value))
                {
                    if (CheckEtcdUrl(url) is string problem)
                    {
                        report.Error(line, $"etcd --{urlKey.Replace('_', '-')}: \"{url}\": {problem}");
                    }
                }
            }
        }

        if (Text(etcd2, "initial_cluster") is (string cluster, int clusterLine))
        {
            foreach (string member in SplitList(cluster))
            {
                int equals = member.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    report.Error(clusterLine, $"etcd --initial-cluster: \"{member}\" is not name=URL");
                    continue;
                }

                if (CheckEtcdUrl(member[(equals + 1)..]) is string problem)
                {
                    report.Error(clusterLine, $"etcd --initial-cluster: \"{member}\": {problem}");
                }
            }
        }

        if (Text(etcd2, "initial_cluster_state") is (string state, int stateLine) && state is not ("new" or "existing"))
        {
            report.Error(stateLine, $"etcd --initial-cluster-state: \"{state}\" is not one of new, existing");
        }

        if (Text(etcd2, "discovery") is (string discovery, int discoveryLine) && !IsHttpUrl(Substitute(discovery)))
        {
            report.Error(discoveryLine, $"etcd --discovery: \"{discovery}\" is not an http(s) URL");
        }

        CheckPair(etcd2, "cert_file", "key_file", report, "etcd: cert_file and key_file must both be set");
        CheckPair(etcd2, "peer_cert_file", "peer_key_file", report, "etcd: peer_cert_file and peer_key_file must both be set");

        long heartbeat = Integer(etcd2, "heartbeat_interval") ?? DefaultHeartbeatMs;
        long election = Integer(etcd2, "election_timeout") ?? DefaultElectionMs;
        int timingLine = (etcd2.Child("election_timeout") ?? etcd2.Child("heartbeat_interval"))?.Line ?? 0;
        if (election < 5 * heartbeat)
        {
            report.Error(timingLine, Invariant($"etcd: election_timeout ({election}ms) must be at least 5 times heartbeat_interval ({heartbeat}ms)"));
        }
        else if (election > MaxElectionMs)
        {
            report.Error(timingLine, Invariant($"etcd: election_timeout ({election}ms) must be at most {MaxElectionMs}ms"));
        }
    }

    public static void CheckFlannel(YamlNode root, ValidationReport report)
    {
        YamlNode? flannel = root.Child("coreos")?.Child("flannel");
        if (flannel is null || flannel.Kind != YamlNodeKind.Map)
        {
            return;
        }

        if (Text(flannel, "etcd_endpoints") is (string endpoints, int line))
        {
            foreach (string url in SplitList(endpoints))
            {
                if (!IsHttpUrl(Substitute(url)))
                {
                    report.Error(line, $"flanneld --etcd-endpoints: \"{url}\" is not an http(s) URL");
                }
            }
        }

        if (Text(flannel, "ip_masq") is (string masq, int masqLine) && !IsGoBool(masq))
        {
            report.Error(masqLine, $"flanneld --ip-masq: \"{masq}\" is not a boolean");
        }

        if (Text(flannel, "public_ip") is (string publicIp, int ipLine)
            && !(IPAddress.TryParse(Substitute(publicIp), out IPAddress? address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork))
        {
            report.Error(ipLine, $"flanneld --public-ip: \"{publicIp}\" is not an IPv4 address");
        }

        if (Text(flannel, "etcd_prefix") is (string prefix, int prefixLine) && !prefix.StartsWith('/'))
        {
            report.Error(prefixLine, $"flanneld --etcd-prefix: \"{prefix}\" must start with '/'");
        }

        CheckPair(flannel, "etcd_certfile", "etcd_keyfile", report, "flanneld uses TLS only when etcd_certfile and etcd_keyfile are both set");
    }

    /// <summary>etcd's types.NewURLs: http/https/unix/unixs, host:port for http(s), no path.</summary>
    internal static string? CheckEtcdUrl(string raw)
    {
        string url = Substitute(raw);
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            return "not a URL";
        }

        if (uri.Scheme is not ("http" or "https" or "unix" or "unixs"))
        {
            return "URL scheme must be http, https, unix, or unixs";
        }

        if (uri.Scheme is "http" or "https" && !HasExplicitPort(url))
        {
            return "URL address does not have the form \"host:port\"";
        }

        if (uri.AbsolutePath is not ("/" or "") || url.EndsWith('/'))
        {
            return "URL must not contain a path";
        }

        return null;
    }

    private static bool HasExplicitPort(string url) => PortPattern().IsMatch(url);

    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;

    /// <summary>Go's strconv.ParseBool, which flanneld's flag package uses.</summary>
    private static bool IsGoBool(string text) =>
        text is "1" or "t" or "T" or "TRUE" or "true" or "True" or "0" or "f" or "F" or "FALSE" or "false" or "False";

    /// <summary>Replaces substitution tokens with addresses of their family so the value can be parsed.</summary>
    internal static string Substitute(string value) =>
        value.Replace("$private_ipv4", "10.0.0.1", StringComparison.Ordinal)
             .Replace("$public_ipv4", "203.0.113.1", StringComparison.Ordinal)
             .Replace("$private_ipv6", "fd00::1", StringComparison.Ordinal)
             .Replace("$public_ipv6", "2001:db8::1", StringComparison.Ordinal);

    private static string[] SplitList(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void CheckPair(YamlNode section, string first, string second, ValidationReport report, string message)
    {
        YamlNode? a = section.Child(first);
        YamlNode? b = section.Child(second);
        bool hasA = a is { IsScalar: true, Text.Length: > 0 };
        bool hasB = b is { IsScalar: true, Text.Length: > 0 };
        if (hasA != hasB)
        {
            report.Warning((hasA ? a : b)!.Line, message);
        }
    }

    private static (string Value, int Line)? Text(YamlNode section, string key)
    {
        YamlNode? node = section.Child(key);
        return node is { IsScalar: true, Text.Length: > 0 } ? (node.Text!, node.Line) : null;
    }

    private static long? Integer(YamlNode section, string key) =>
        section.Child(key) is { Kind: YamlNodeKind.Int, Value: long value } && value != 0 ? value : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[a-z]+://(\[[^\]]*\]|[^/:\[\]]+):\d+(/.*)?$")]
    private static partial Regex PortPattern();
}
