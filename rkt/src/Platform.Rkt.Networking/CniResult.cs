using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Platform.Rkt.Networking;

/// <summary>Reads the parts of a CNI result rkt uses, from both result shapes: 0.1/0.2 (<c>ip4</c>) and 0.3+ (<c>ips</c>, <c>interfaces</c>).</summary>
internal static class CniResult
{
    /// <summary>The pod's IPv4 address on <paramref name="ifName"/> (or the first IPv4), its prefix length and gateway.</summary>
    public static (string? Ip, int PrefixLength, string? Gateway) IPv4Of(JsonObject? result, string ifName)
    {
        if (result is null)
        {
            return (null, 0, null);
        }

        if (result["ips"] is JsonArray ips)
        {
            var interfaces = result["interfaces"] as JsonArray;
            (string? Ip, int Prefix, string? Gateway)? first = null;
            foreach (JsonObject entry in ips.OfType<JsonObject>())
            {
                if (!TryCidr((string?)entry["address"], out IPAddress? ip, out int prefix) || ip.AddressFamily != AddressFamily.InterNetwork)
                {
                    continue;
                }

                var candidate = (ip.ToString(), prefix, (string?)entry["gateway"]);
                first ??= candidate;
                if (entry["interface"] is JsonValue index && index.TryGetValue(out int n) && interfaces is not null && n >= 0 && n < interfaces.Count
                    && (string?)interfaces[n]?["name"] == ifName && !string.IsNullOrEmpty((string?)interfaces[n]?["sandbox"]))
                {
                    return candidate;
                }
            }

            return first ?? (null, 0, null);
        }

        if (result["ip4"] is JsonObject ip4 && TryCidr((string?)ip4["ip"], out IPAddress? address, out int length))
        {
            return (address.ToString(), length, (string?)ip4["gateway"]);
        }

        return (null, 0, null);
    }

    /// <summary>The DNS part of a result (empty lists when there is none).</summary>
    public static (IReadOnlyList<string> Nameservers, IReadOnlyList<string> Search) DnsOf(JsonObject? result)
    {
        if (result?["dns"] is not JsonObject dns)
        {
            return ([], []);
        }

        static List<string> Strings(JsonNode? node) => node is JsonArray a ? a.Select(n => (string?)n).OfType<string>().ToList() : [];
        return (Strings(dns["nameservers"]), Strings(dns["search"]));
    }

    private static bool TryCidr(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? ip, out int prefix)
    {
        ip = null;
        prefix = 0;
        if (text is null)
        {
            return false;
        }

        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out ip) || !int.TryParse(text[(slash + 1)..], out prefix))
        {
            ip = null;
            return false;
        }

        return true;
    }
}
