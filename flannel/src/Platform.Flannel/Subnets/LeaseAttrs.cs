using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Platform.Flannel.Subnets;

/// <summary>
/// What a host publishes with its subnet (flannel's <c>lease.LeaseAttrs</c>). Serialised exactly as
/// flannel's Go struct: <c>PublicIP</c>, <c>PublicIPv6</c> (always written, <c>null</c> without
/// IPv6), then <c>BackendType</c>, <c>BackendData</c>, <c>BackendV6Data</c> only when set.
/// </summary>
public sealed record LeaseAttrs
{
    /// <summary>The host's public IPv4 address, dotted quad.</summary>
    public required string PublicIP { get; init; }

    public string? PublicIPv6 { get; init; }

    /// <summary>null for backends that set none (flannel's udp and alloc).</summary>
    public string? BackendType { get; init; }

    /// <summary>Raw JSON of the backend's data (e.g. vxlan's <c>{"VNI":1,"VtepMAC":"…"}</c>), or null.</summary>
    public string? BackendData { get; init; }

    public string? BackendV6Data { get; init; }

    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(nameof(PublicIP), PublicIP);
            if (PublicIPv6 is null)
            {
                writer.WriteNull(nameof(PublicIPv6));
            }
            else
            {
                writer.WriteString(nameof(PublicIPv6), PublicIPv6);
            }

            if (!string.IsNullOrEmpty(BackendType))
            {
                writer.WriteString(nameof(BackendType), BackendType);
            }

            if (BackendData is not null)
            {
                writer.WritePropertyName(nameof(BackendData));
                writer.WriteRawValue(BackendData);
            }

            if (BackendV6Data is not null)
            {
                writer.WritePropertyName(nameof(BackendV6Data));
                writer.WriteRawValue(BackendV6Data);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads flannel's JSON (field names case-insensitive, as Go's encoding/json).</summary>
    /// <exception cref="JsonException">Not a JSON object.</exception>
    public static LeaseAttrs Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("lease attributes are not a JSON object");
        }

        return new LeaseAttrs
        {
            PublicIP = String(root, nameof(PublicIP)) ?? "",
            PublicIPv6 = String(root, nameof(PublicIPv6)),
            BackendType = String(root, nameof(BackendType)),
            BackendData = Raw(root, nameof(BackendData)),
            BackendV6Data = Raw(root, nameof(BackendV6Data)),
        };
    }

    private static string? String(JsonElement root, string name) =>
        Config.NetworkConfig.Field(root, name) is JsonElement e && e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    private static string? Raw(JsonElement root, string name) =>
        Config.NetworkConfig.Field(root, name) is JsonElement e && e.ValueKind != JsonValueKind.Null ? e.GetRawText() : null;
}

/// <summary>A subnet lease: the subnet, its attributes and when it expires.</summary>
/// <param name="Subnet">The host's subnet, e.g. 10.1.5.0/24.</param>
/// <param name="Attrs">What the host published.</param>
/// <param name="Expiration">When the etcd lease runs out; null for a reservation.</param>
/// <param name="EtcdLeaseId">The etcd lease the key is attached to; 0 for a reservation.</param>
public sealed record SubnetLease(Ip4Net Subnet, LeaseAttrs Attrs, long EtcdLeaseId, DateTimeOffset? Expiration)
{
    public bool IsReservation => EtcdLeaseId == 0;
}

/// <summary>flannel's subnet keys: <c>10.1.5.0-24</c> (<c>pkg/subnet/subnet.go</c> MakeSubnetKey / ParseSubnetKey).</summary>
public static partial class SubnetKey
{
    public static string Make(Ip4Net subnet) => subnet.ToString().Replace('/', '-');

    /// <summary>Parses the last path element of a subnet key; dual-stack keys yield their IPv4 part.</summary>
    public static bool TryParse(string key, out Ip4Net subnet)
    {
        subnet = default;
        Match match = KeyPattern().Match(key);
        return match.Success && Ip4Net.TryParse($"{match.Groups[1].Value}/{match.Groups[2].Value}", out subnet);
    }

    // flannel's subnetRegex, including its unescaped '.' between the 2nd and 3rd octet.
    [GeneratedRegex(@"(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$")]
    private static partial Regex KeyPattern();
}
