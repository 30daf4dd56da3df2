using System.Text;
using System.Text.RegularExpressions;
using Platform.Etcd.IntegrationTests.Infrastructure;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;
using RealEtcdFactAttribute = Platform.Etcd.IntegrationTests.Infrastructure.RealEtcdFactAttribute;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// Key-range permissions merged across a user's roles as etcd 3.4 merges them
/// (auth/range_perm_cache.go: one interval set per permission type; a range is permitted when the
/// overlapping intervals cover it without a gap; a point permission is [key, key+"\0")), checked by
/// sending the same requests with a token to the real etcd and to ours over the gateway.
/// </summary>
public sealed partial class AuthPermissionMergeTests
{
    [RealEtcdFact]
    public async Task RangesSplitAcrossRoles_AreMergedAsEtcdMergesThem()
    {
        await using EtcdProcess real = await EtcdProcess.StartRealAsync("perm-real");
        await using InProcessEtcd ours = await InProcessEtcd.StartAsync("perm-ours");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        List<string> expected = await RunAsync(http, real.ClientUrl);
        List<string> actual = await RunAsync(http, ours.ClientUrl);
        Assert.Equal(expected, actual);

        // The interesting answers, so that a change on both sides does not go unnoticed.
        Assert.Contains(expected, l => l.StartsWith("range [a, e) => 200", StringComparison.Ordinal));
        Assert.Contains(expected, l => l.StartsWith("range [a, f) => 403", StringComparison.Ordinal));
        Assert.Contains(expected, l => l.StartsWith("range [k, k\\0) => 200", StringComparison.Ordinal));
    }

    private static async Task<List<string>> RunAsync(HttpClient http, Uri server)
    {
        async Task<(int Status, string Body)> Post(string path, string body, string? token = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, "/v3/" + path)) { Content = new StringContent(body, Encoding.UTF8) };
            if (token is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", token);
            }

            using HttpResponseMessage response = await http.SendAsync(request);
            return ((int)response.StatusCode, HeaderIds().Replace(await response.Content.ReadAsStringAsync(), ""));
        }

        async Task Ok(string path, string body, string? token = null)
        {
            (int status, string text) = await Post(path, body, token);
            Assert.True(status == 200, $"{server} {path} {body}: {status} {text}");
        }

        string Perm(string role, string type, string key, string? end) =>
            $"{{\"name\":\"{role}\",\"perm\":{{\"permType\":\"{type}\",\"key\":\"{B64(key)}\"{(end is null ? "" : $",\"range_end\":\"{B64(end)}\"")}}}}}";

        await Ok("auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}");
        await Ok("auth/role/add", "{\"name\":\"root\"}");
        await Ok("auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
        await Ok("auth/user/add", "{\"name\":\"bob\",\"password\":\"bobpw\"}");
        var roles = new HashSet<string>();
        foreach ((string role, string type, string key, string? end) in new[]
        {
            ("r1", "READ", "a", "c"), ("r2", "READ", "c", "e"), ("r3", "READWRITE", "k", null), ("r4", "WRITE", "x", "\0"),
            ("r5", "READ", "m", "n"), ("r5", "READ", "o", "p"), ("r6", "WRITE", "g", "h"), ("r6", "READ", "h", "i"),
        })
        {
            if (roles.Add(role))
            {
                await Ok("auth/role/add", $"{{\"name\":\"{role}\"}}");
                await Ok("auth/user/grant", $"{{\"user\":\"bob\",\"role\":\"{role}\"}}");
            }

            await Ok("auth/role/grant", Perm(role, type, key, end));
        }

        await Ok("kv/put", $"{{\"key\":\"{B64("k")}\",\"value\":\"{B64("v")}\"}}");
        await Ok("auth/enable", "{}");
        (_, string auth) = await Post("auth/authenticate", "{\"name\":\"bob\",\"password\":\"bobpw\"}");
        string token = Json(auth).GetProperty("token").GetString()!;

        var lines = new List<string>();
        foreach ((string key, string? end) in new[]
        {
            ("a", "e"), ("a", "f"), ("b", "d"), ("a", "c"), ("c", "e"), ("b", null), ("e", null), ("k", null), ("k", "k\0"), ("k", "l"),
            ("m", "p"), ("m", "n"), ("n", "o"), ("g", "i"), ("h", "i"), ("x", null), ("x", "\0"), ("\0", "\0"),
        })
        {
            string body = $"{{\"key\":\"{B64(key)}\"{(end is null ? "" : $",\"range_end\":\"{B64(end)}\"")}}}";
            (int status, string text) = await Post("kv/range", body, token);
            lines.Add($"range [{Show(key)}, {(end is null ? "" : Show(end))}) => {status} {text}");
        }

        foreach ((string key, string? end) in new[] { ("x", null), ("y", null), ("x", "\0"), ("g", null), ("h", null), ("k", null), ("a", null) })
        {
            (int status, string text) = end is null
                ? await Post("kv/put", $"{{\"key\":\"{B64(key)}\",\"value\":\"{B64("w")}\"}}", token)
                : await Post("kv/deleterange", $"{{\"key\":\"{B64(key)}\",\"range_end\":\"{B64(end)}\"}}", token);
            lines.Add($"{(end is null ? "put" : "delete")} [{Show(key)}, {(end is null ? "" : Show(end))}) => {status} {text}");
        }

        return lines;
    }

    private static string Show(string key) => key.Replace("\0", "\\0", StringComparison.Ordinal);

    [GeneratedRegex("\"(cluster_id|member_id|raft_term|revision)\":\"[0-9]+\",?")]
    private static partial Regex HeaderIds();
}
