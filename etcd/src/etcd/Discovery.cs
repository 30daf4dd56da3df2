using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Platform.Etcd.Main;

/// <summary>Why discovery failed; the message is etcd's (v2discovery).</summary>
internal sealed class DiscoveryException : Exception
{
    public DiscoveryException()
    {
    }

    public DiscoveryException(string message)
        : base(message)
    {
    }

    public DiscoveryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// etcd's v2 discovery protocol against any etcd's v2 keys API (what a cloud-config
/// <c>$discovery</c> URL points at, e.g. <c>http://host:2379/v2/keys/discovery/&lt;token&gt;</c>):
/// reads the wanted size from <c>&lt;url&gt;/_config/size</c>, registers this member as
/// <c>&lt;url&gt;/&lt;member id hex&gt;</c> = <c>name=peerURL[,name=peerURL]</c> (create only), then waits
/// until <c>size</c> members registered; the first <c>size</c> by creation index are the cluster.
/// The member id is etcd's with the discovery URL as the cluster token.
/// </summary>
internal static class Discovery
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(300);

    /// <summary>Returns the <c>--initial-cluster</c> string the discovery service gave.</summary>
    /// <exception cref="DiscoveryException">No size key, the cluster is full, a duplicate id, or the service does not answer.</exception>
    public static async Task<string> JoinAsync(string discoveryUrl, string name, IReadOnlyList<string> peerUrls, ulong memberId, TimeSpan timeout, ILogger log, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string baseUrl = discoveryUrl.TrimEnd('/');
        string self = memberId.ToString("x", CultureInfo.InvariantCulture);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            int size = await SizeAsync(http, baseUrl, deadline.Token).ConfigureAwait(false);
            string value = string.Join(',', peerUrls.Select(u => $"{name}={u}"));
            using (var register = new FormUrlEncodedContent([new KeyValuePair<string, string>("value", value)]))
            {
                using HttpResponseMessage created = await http.PutAsync(new Uri($"{baseUrl}/{self}?prevExist=false"), register, deadline.Token).ConfigureAwait(false);
                if (created.StatusCode == HttpStatusCode.PreconditionFailed)
                {
                    throw new DiscoveryException("discovery: found duplicate id");
                }

                if (!created.IsSuccessStatusCode)
                {
                    throw new DiscoveryException($"discovery: registering {self} failed: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false)}");
                }
            }

            log.LogInformation("discovery: registered member {MemberId} ({Value}) at {Url}, waiting for {Size} members", self, value, discoveryUrl, size);
            while (true)
            {
                List<(long Created, string Key, string Value)> nodes = await MembersAsync(http, baseUrl, deadline.Token).ConfigureAwait(false);
                if (nodes.Count >= size)
                {
                    List<(long Created, string Key, string Value)> cluster = [.. nodes.OrderBy(n => n.Created).Take(size)];
                    if (!cluster.Any(n => n.Key == self))
                    {
                        throw new DiscoveryException("discovery: cluster is full");
                    }

                    string initialCluster = string.Join(',', cluster.Select(n => n.Value));
                    log.LogInformation("discovery: found the whole cluster {InitialCluster}", initialCluster);
                    return initialCluster;
                }

                await Task.Delay(s_poll, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException($"discovery: timed out waiting for the cluster at {discoveryUrl}");
        }
        catch (HttpRequestException e)
        {
            throw new DiscoveryException($"discovery: cannot reach {discoveryUrl}: {e.Message}", e);
        }
    }

    private static async Task<int> SizeAsync(HttpClient http, string baseUrl, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await http.GetAsync(new Uri($"{baseUrl}/_config/size"), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new DiscoveryException("discovery: size key not found");
        }

        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        string? text = doc.RootElement.GetProperty("node").GetProperty("value").GetString();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int size) && size > 0
            ? size
            : throw new DiscoveryException("discovery: bad size key value " + text);
    }

    private static async Task<List<(long Created, string Key, string Value)>> MembersAsync(HttpClient http, string baseUrl, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await http.GetAsync(new Uri(baseUrl), cancellationToken).ConfigureAwait(false);
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var members = new List<(long, string, string)>();
        if (!doc.RootElement.TryGetProperty("node", out JsonElement dir) || !dir.TryGetProperty("nodes", out JsonElement nodes))
        {
            return members;
        }

        foreach (JsonElement n in nodes.EnumerateArray())
        {
            string key = n.GetProperty("key").GetString() ?? string.Empty;
            string last = key[(key.LastIndexOf('/') + 1)..];
            if (last == "_config" || (n.TryGetProperty("dir", out JsonElement isDir) && isDir.GetBoolean()))
            {
                continue;
            }

            members.Add((n.GetProperty("createdIndex").GetInt64(), last, n.GetProperty("value").GetString() ?? string.Empty));
        }

        return members;
    }
}
