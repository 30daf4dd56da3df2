using System.Globalization;

namespace Platform.Flannel.Cni;

/// <summary>
/// flanneld's <c>subnet.env</c> as the flannel CNI plugin reads it (<c>loadFlannelSubnetEnv</c>): one
/// <c>KEY=value</c> per line, no quoting or trimming; <c>FLANNEL_NETWORK</c> (and the IPv6 form) may
/// list several comma-separated networks, duplicates dropped; <c>FLANNEL_IPMASQ</c> is true only for
/// the exact text <c>true</c>. Unknown keys are ignored. A network or subnet for at least one family,
/// the MTU and the masquerade flag are required.
/// </summary>
internal sealed class SubnetEnv
{
    public IReadOnlyList<IpNet> Networks { get; private init; } = [];

    public IpNet? Subnet { get; private init; }

    public IReadOnlyList<IpNet> Ipv6Networks { get; private init; } = [];

    public IpNet? Ipv6Subnet { get; private init; }

    public uint Mtu { get; private init; }

    public bool IpMasq { get; private init; }

    /// <summary>Reads and parses the file.</summary>
    /// <exception cref="FormatException">A value does not parse, or keys are missing (flannel's wording).</exception>
    /// <exception cref="IOException">The file cannot be read (message in Go's <c>open PATH: reason</c> form).</exception>
    public static SubnetEnv Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new IOException($"open {path}: no such file or directory", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && Directory.Exists(path))
        {
            throw new IOException($"read {path}: is a directory", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"open {path}: permission denied", e);
        }

        return Parse(text, path);
    }

    public static SubnetEnv Parse(string text, string path)
    {
        List<IpNet>? networks = null;
        List<IpNet>? ipv6Networks = null;
        IpNet? subnet = null;
        IpNet? ipv6Subnet = null;
        uint? mtu = null;
        bool? ipMasq = null;

        // bufio.Scanner's lines: split on \n, a trailing \r dropped, no final empty line.
        string[] lines = text.Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (int i = 0; i < count; i++)
        {
            string line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? line : line[..equals];
            if (key is not ("FLANNEL_NETWORK" or "FLANNEL_SUBNET" or "FLANNEL_IPV6_NETWORK" or "FLANNEL_IPV6_SUBNET" or "FLANNEL_MTU" or "FLANNEL_IPMASQ"))
            {
                continue;
            }

            if (equals < 0)
            {
                // flannel's Go code indexes the missing value and panics; we say what is wrong.
                throw new FormatException($"{path}: {key} has no value");
            }

            string value = line[(equals + 1)..];
            switch (key)
            {
                case "FLANNEL_NETWORK":
                    networks = ParseNetworks(value);
                    break;
                case "FLANNEL_SUBNET":
                    subnet = IpNet.ParseCidr(value);
                    break;
                case "FLANNEL_IPV6_NETWORK":
                    ipv6Networks = ParseNetworks(value);
                    break;
                case "FLANNEL_IPV6_SUBNET":
                    ipv6Subnet = IpNet.ParseCidr(value);
                    break;
                case "FLANNEL_MTU":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint parsed))
                    {
                        string reason = value.Length > 0 && value.All(char.IsAsciiDigit) ? "value out of range" : "invalid syntax";
                        throw new FormatException($"strconv.ParseUint: parsing {Cni.GoJson.Quote(value)}: {reason}");
                    }

                    mtu = parsed;
                    break;
                default:
                    ipMasq = value == "true";
                    break;
            }
        }

        var missing = new List<string>();
        if ((networks is null || networks.Count == 0) && (ipv6Networks is null || ipv6Networks.Count == 0))
        {
            missing.AddRange(["FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"]);
        }

        if (subnet is null && ipv6Subnet is null)
        {
            missing.AddRange(["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"]);
        }

        if (mtu is null)
        {
            missing.Add("FLANNEL_MTU");
        }

        if (ipMasq is null)
        {
            missing.Add("FLANNEL_IPMASQ");
        }

        if (missing.Count > 0)
        {
            throw new FormatException($"{path} is missing {string.Join(", ", missing)}");
        }

        return new SubnetEnv
        {
            Networks = networks ?? [],
            Subnet = subnet,
            Ipv6Networks = ipv6Networks ?? [],
            Ipv6Subnet = ipv6Subnet,
            Mtu = mtu!.Value,
            IpMasq = ipMasq!.Value,
        };
    }

    private static List<IpNet> ParseNetworks(string value)
    {
        var networks = new List<IpNet>();
        foreach (string cidr in value.Split(','))
        {
            IpNet network = IpNet.ParseCidr(cidr);
            if (!networks.Contains(network))
            {
                networks.Add(network);
            }
        }

        return networks;
    }
}
