using System.Globalization;
using System.Net;
using System.Text.Json;
using Platform.Etcd.Server;

namespace Platform.Etcd.Peer;

/// <summary>Creates peer transports; asks a running cluster for its members.</summary>
public static class PeerTransports
{
    public static IPeerTransport Create(PeerTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PeerTransport(options);
    }

    /// <summary>
    /// etcd's GetClusterFromRemotePeers: asks each of <paramref name="peerUrls"/> for
    /// <c>/members</c> until one answers (retrying for <paramref name="timeout"/>), for a member
    /// joining with <c>--initial-cluster-state existing</c>.
    /// </summary>
    /// <exception cref="EtcdException">No URL answered in time.</exception>
    public static async Task<ExistingCluster> FetchExistingClusterAsync(IReadOnlyList<string> peerUrls, PeerTlsOptions? tls, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peerUrls);
        using HttpClient client = PeerHttp.CreateClient(tls, TimeSpan.FromSeconds(1));
        client.Timeout = TimeSpan.FromSeconds(2);
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        var errors = new List<string>();
        do
        {
            foreach (string url in peerUrls)
            {
                try
                {
                    using HttpResponseMessage response = await client.GetAsync(new Uri(new Uri(url), "/members"), cancellationToken).ConfigureAwait(false);
                    if (response.StatusCode != HttpStatusCode.OK || !response.Headers.TryGetValues(PeerHttp.ClusterIdHeader, out IEnumerable<string>? ids))
                    {
                        errors.Add($"{url}: {(int)response.StatusCode}");
                        continue;
                    }

                    ulong clusterId = ulong.Parse(ids.First(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                    return new ExistingCluster(clusterId, PeerHttp.ParseMembers(body));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or FormatException or UriFormatException)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }

                    errors.Add($"{url}: {e.Message}");
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
        while (DateTimeOffset.UtcNow < deadline);

        throw new EtcdException(
            EtcdErrorCode.Unavailable,
            $"cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs ({string.Join("; ", errors.Distinct().Take(5))})");
    }
}
