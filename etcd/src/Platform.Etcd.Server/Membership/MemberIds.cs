using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Etcd.Server.Membership;

/// <summary>etcd's member and cluster ids (membership/member.go, cluster.go), so ids match etcd's for the same flags.</summary>
// SHA-1 is etcd's id function, used for compatibility of ids, not for security.
#pragma warning disable CA5350
internal static class MemberIds
{
    /// <summary>
    /// sha1(sorted peer URLs concatenated + cluster token [+ unix seconds of "now" for members
    /// added at runtime]), first 8 bytes big-endian.
    /// </summary>
    public static ulong ComputeMemberId(IEnumerable<string> peerUrls, string clusterToken, DateTimeOffset? now)
    {
        var sb = new StringBuilder();
        foreach (string url in peerUrls.Order(StringComparer.Ordinal))
        {
            sb.Append(url);
        }

        sb.Append(clusterToken);
        if (now is DateTimeOffset time)
        {
            sb.Append(time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        }

        byte[] hash = SHA1.HashData(Encoding.UTF8.GetBytes(sb.ToString()));
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    /// <summary>sha1 of the sorted member ids (8 bytes big-endian each), first 8 bytes big-endian.</summary>
    public static ulong ComputeClusterId(IEnumerable<ulong> memberIds)
    {
        ulong[] ids = [.. memberIds.Order()];
        byte[] bytes = new byte[8 * ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8 * i), ids[i]);
        }

        return BinaryPrimitives.ReadUInt64BigEndian(SHA1.HashData(bytes));
    }

    /// <summary>Parses <c>--initial-cluster</c> (<c>name=url,name=url</c>; a name may repeat for several URLs).</summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<string> PeerUrls)> ParseInitialCluster(string initialCluster)
    {
        var byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (string part in initialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1)
            {
                throw new ArgumentException($"invalid --initial-cluster entry \"{part}\"");
            }

            string name = part[..eq];
            string url = part[(eq + 1)..];
            ValidateUrl(url);
            if (!byName.TryGetValue(name, out List<string>? urls))
            {
                byName[name] = urls = [];
                order.Add(name);
            }

            urls.Add(url);
        }

        return [.. order.Select(n => (n, (IReadOnlyList<string>)byName[n]))];
    }

    /// <summary>etcd's URL checks for peer URLs (types.NewURLs): scheme http/https/unix(s), a host with a port, no path.</summary>
    public static void ValidateUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri)
            || uri.Scheme is not ("http" or "https" or "unix" or "unixs")
            || (uri.Scheme is "http" or "https" && (uri.IsDefaultPort && !url.Contains(':', StringComparison.Ordinal)))
            || (uri.AbsolutePath.Length > 1))
        {
            throw new ArgumentException($"URL address does not have the form \"host:port\": {url}");
        }
    }
}
#pragma warning restore CA5350
