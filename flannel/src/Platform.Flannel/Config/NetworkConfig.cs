using System.Globalization;
using System.Text.Json;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Config;

/// <summary>
/// flannel's network config (<c>pkg/subnet/config.go</c> <c>Config</c>), as stored at
/// <c>&lt;prefix&gt;/config</c>, after <see cref="Parse"/> filled flannel's defaults. IPv4 only for now.
/// </summary>
public sealed record NetworkConfig
{
    public required Ip4Net Network { get; init; }

    public required int SubnetLen { get; init; }

    /// <summary>The first subnet handed out (default: Network plus one subnet; the first is skipped).</summary>
    public required uint SubnetMin { get; init; }

    /// <summary>The last subnet handed out (default: the last subnet of Network).</summary>
    public required uint SubnetMax { get; init; }

    public bool EnableIPv4 { get; init; } = true;

    public bool EnableIPv6 { get; init; }

    /// <summary>Lower-cased backend type; <c>udp</c> when the config has no <c>Backend</c> (flannel's code, not its docs).</summary>
    public required string BackendType { get; init; }

    /// <summary>The raw <c>Backend</c> object, for the backend's own options (null when absent).</summary>
    public JsonElement? Backend { get; init; }

    /// <summary>Whether <paramref name="subnet"/> is one this config can hand out (right length, within Min..Max).</summary>
    public bool IsCompatible(Ip4Net subnet) =>
        subnet.PrefixLength == SubnetLen && Network.Contains(subnet.Address) && subnet.Address >= SubnetMin && subnet.Address <= SubnetMax;

    /// <summary>
    /// Parses and checks the JSON text as flannel's <c>ParseConfig</c> + <c>CheckNetworkConfig</c> do:
    /// field names match case-insensitively (Go's <c>encoding/json</c>), defaults are filled.
    /// </summary>
    /// <exception cref="NetworkConfigException">Invalid JSON or config; the message is flannel's.</exception>
    public static NetworkConfig Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new NetworkConfigException($"failed to parse network config: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new NetworkConfigException("failed to parse network config: json: cannot unmarshal " + GoKind(document.RootElement) + " into Go value of type subnet.Config");
            }

            JsonElement root = document.RootElement;
            Ip4Net? network = null;
            if (Field(root, "Network") is JsonElement n && n.ValueKind != JsonValueKind.Null)
            {
                network = Ip4Net.TryParse(n.ValueKind == JsonValueKind.String ? n.GetString() : null, out Ip4Net parsed)
                    ? parsed
                    : throw new NetworkConfigException($"failed to parse network config: invalid CIDR address: {n.GetRawText().Trim('"')}");
            }

            bool enableIPv4 = Field(root, "EnableIPv4") is not JsonElement e4 || Bool(e4, "EnableIPv4");
            bool enableIPv6 = Field(root, "EnableIPv6") is JsonElement e6 && Bool(e6, "EnableIPv6");
            int subnetLen = Field(root, "SubnetLen") is JsonElement sl ? Int(sl, "SubnetLen") : 0;
            uint subnetMin = Field(root, "SubnetMin") is JsonElement smin ? Address(smin) : 0;
            uint subnetMax = Field(root, "SubnetMax") is JsonElement smax ? Address(smax) : 0;

            string backendType = "udp";
            JsonElement? backend = null;
            if (Field(root, "Backend") is JsonElement b && b.ValueKind != JsonValueKind.Null)
            {
                if (b.ValueKind != JsonValueKind.Object)
                {
                    throw new NetworkConfigException("error decoding Backend property of config: json: cannot unmarshal " + GoKind(b) + " into Go value of type struct { Type string }");
                }

                backend = b.Clone();
                backendType = Field(b, "Type") is JsonElement t && t.ValueKind == JsonValueKind.String ? t.GetString()!.ToLowerInvariant() : "";
            }

            if (enableIPv6)
            {
                // Truthful limit: IPv6 leases (the "&v6-len" key part) are not implemented yet.
                throw new NetworkConfigException("EnableIPv6 is not supported by this flanneld yet");
            }

            if (!enableIPv4)
            {
                throw new NetworkConfigException("at least one of EnableIPv4 and EnableIPv6 must be set");
            }

            // CheckNetworkConfig, IPv4 part.
            if (network is not Ip4Net net || (net.Address == 0 && net.PrefixLength == 0))
            {
                throw new NetworkConfigException("please define a correct Network parameter in the flannel config");
            }

            if (subnetLen > 0)
            {
                // A tunnel and a bridge address per host need at least a /30.
                if (subnetLen > 30)
                {
                    throw new NetworkConfigException("SubnetLen must be less than /31");
                }

                // The first subnet is skipped, so fewer than four would leave too few usable ones.
                if (subnetLen < net.PrefixLength + 2)
                {
                    throw new NetworkConfigException("network must be able to accommodate at least four subnets");
                }
            }
            else if (net.PrefixLength > 28)
            {
                throw new NetworkConfigException("network is too small. Minimum useful network prefix is /28");
            }
            else
            {
                subnetLen = net.PrefixLength <= 22 ? 24 : net.PrefixLength + 2;
            }

            uint subnetSize = 1u << (32 - subnetLen);
            if (subnetMin == 0)
            {
                subnetMin = net.Address + subnetSize;
            }
            else if (!net.Contains(subnetMin))
            {
                throw new NetworkConfigException("SubnetMin is not in the range of the Network");
            }

            if (subnetMax == 0)
            {
                subnetMax = net.NextAddress - subnetSize;
            }
            else if (!net.Contains(subnetMax))
            {
                throw new NetworkConfigException("SubnetMax is not in the range of the Network");
            }

            uint mask = Ip4Net.Mask(subnetLen);
            if (subnetMin != (subnetMin & mask))
            {
                throw new NetworkConfigException($"SubnetMin is not on a SubnetLen boundary: {Ip4Net.FormatAddress(subnetMin)}");
            }

            if (subnetMax != (subnetMax & mask))
            {
                throw new NetworkConfigException($"SubnetMax is not on a SubnetLen boundary: {Ip4Net.FormatAddress(subnetMax)}");
            }

            return new NetworkConfig
            {
                Network = net,
                SubnetLen = subnetLen,
                SubnetMin = subnetMin,
                SubnetMax = subnetMax,
                EnableIPv4 = enableIPv4,
                EnableIPv6 = enableIPv6,
                BackendType = backendType,
                Backend = backend,
            };
        }
    }

    /// <summary>Go's encoding/json: an exact name match wins, otherwise the last case-insensitive one.</summary>
    internal static JsonElement? Field(JsonElement obj, string name)
    {
        JsonElement? found = null;
        foreach (JsonProperty property in obj.EnumerateObject())
        {
            if (property.NameEquals(name))
            {
                return property.Value;
            }

            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                found = property.Value;
            }
        }

        return found;
    }

    private static bool Bool(JsonElement e, string name) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null => false,
        _ => throw new NetworkConfigException($"failed to parse network config: json: cannot unmarshal {GoKind(e)} into Go struct field Config.{name} of type bool"),
    };

    private static int Int(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Null ? 0
        : e.ValueKind == JsonValueKind.Number && e.TryGetUInt32(out uint v) && v <= 128 ? (int)v
        : throw new NetworkConfigException($"failed to parse network config: json: cannot unmarshal {GoKind(e)} into Go struct field Config.{name} of type uint");

    private static uint Address(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        string? text = e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        return Ip4Net.TryParseAddress(text, out uint address)
            ? address
            : throw new NetworkConfigException($"failed to parse network config: invalid IP address: {text ?? e.GetRawText()}");
    }

    private static string GoKind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.Array => "array",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "object",
    };

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"Network={Network} SubnetLen={SubnetLen} SubnetMin={Ip4Net.FormatAddress(SubnetMin)} SubnetMax={Ip4Net.FormatAddress(SubnetMax)} Backend={BackendType}");
}

/// <summary>The network config is invalid; <see cref="Exception.Message"/> is flannel's wording.</summary>
public sealed class NetworkConfigException : Exception
{
    public NetworkConfigException()
    {
    }

    public NetworkConfigException(string message)
        : base(message)
    {
    }

    public NetworkConfigException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
