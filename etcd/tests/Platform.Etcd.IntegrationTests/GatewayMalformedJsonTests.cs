using System.Text;
using System.Text.RegularExpressions;
using Platform.Etcd.IntegrationTests.Infrastructure;
using RealEtcdFactAttribute = Platform.Etcd.IntegrationTests.Infrastructure.RealEtcdFactAttribute;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// Malformed and unusual JSON bodies on the gateway, sent to the real etcd 3.4 and to ours: the
/// HTTP status and the whole body (Go's error texts, or the response when Go accepts the input)
/// must be the same. None of these requests writes, so both stores stay empty.
/// </summary>
public sealed partial class GatewayMalformedJsonTests
{
    private static readonly (string Path, string Body)[] s_cases =
    [
        // Syntax (Go's encoding/json scanner; the gateway reads the first value only).
        ("kv/range", "{"), ("kv/range", "{\"key\":"), ("kv/range", "{\"key\":\"Zm9v\""), ("kv/range", "["),
        ("kv/range", "nonsense"), ("kv/range", "{'key':'Zm9v'}"), ("kv/range", "{\"key\":\"Zm9v\",}"),
        ("kv/range", "{,}"), ("kv/range", "{\"a\":[1,]}"), ("kv/range", "{\"a\":[1 2]}"),
        ("kv/range", "{\"key\" \"Zm9v\"}"), ("kv/range", "{\"key\":\"Zm9v\" \"x\"}"),
        ("kv/range", "{\"key\":tru}"), ("kv/range", "{\"key\":fals}"), ("kv/range", "{\"key\":nul}"),
        ("kv/range", "{\"key\":\"Zm9v\\x\"}"), ("kv/range", "{\"key\":\"Zm9v\\u00G1\"}"), ("kv/range", "{\"key\":\"a\tb\"}"),
        ("kv/range", "{\"limit\":01}"), ("kv/range", "{\"limit\":-}"), ("kv/range", "{\"limit\":1.}"), ("kv/range", "{\"limit\":1e}"),
        ("kv/range", "\u00e9"), ("maintenance/status", "{\"x\":[}"),
        ("kv/range", "{\"key\":\"Zm9v\"}}"), ("kv/range", "{\"key\":\"Zm9v\"} {\"x\":1}"), ("kv/range", "{\"key\":\"Zm9v\"}garbage"),
        ("kv/range", " "), ("kv/range", "null"),

        // Types (jsonpb over encoding/json).
        ("kv/range", "[1,2]"), ("kv/range", "\"str\""), ("kv/range", "123"), ("kv/range", "123abc"),
        ("kv/range", "{\"key\":123}"), ("kv/range", "{\"key\":{}}"), ("kv/range", "{\"key\":true}"),
        ("kv/range", "{\"key\":[102,111]}"), ("kv/range", "{\"key\":[300]}"), ("kv/range", "{\"key\":null}"),
        ("kv/range", "{\"limit\":\"abc\"}"), ("kv/range", "{\"limit\":\"12\"}"), ("kv/range", "{\"limit\":1.5}"),
        ("kv/range", "{\"limit\":true}"), ("kv/range", "{\"limit\":1e2}"), ("kv/range", "{\"limit\":[1]}"), ("kv/range", "{\"limit\":{}}"),
        ("kv/range", "{\"key\":\"Zm9vYmFy\",\"limit\":\" 12 \"}"), ("kv/range", "{\"limit\":\"\"}"), ("kv/range", "{\"limit\":\"1 2\"}"),
        ("kv/range", "{\"limit\":\"true\"}"), ("kv/range", "{\"key\":\"Zm9vYmFy\",\"limit\":\"null\"}"), ("kv/range", "{\"key\":\"Zm9vYmFy\",\"limit\":-0}"),
        ("kv/put", "{\"key\":\"Zm9v\",\"value\":\"YmFy\",\"lease\":\"x\"}"), ("kv/put", "{\"key\":\"Zm9v\",\"lease\":99999999999999999999}"),
        ("kv/range", "{\"serializable\":\"yes\"}"), ("kv/range", "{\"key\":\"Zm9v\",\"keys_only\":1}"),
        ("kv/range", "{\"sort_order\":\"BOGUS\"}"), ("kv/range", "{\"sort_order\":7}"), ("kv/range", "{\"key\":\"Zm9v\",\"sort_order\":true}"),
        ("kv/range", "{\"key\":\"Zm9v\",\"sort_order\":\"1\"}"), ("kv/range", "{\"key\":\"Zm9v\",\"sort_order\":1.5}"),
        ("kv/txn", "{\"compare\":{}}"), ("kv/txn", "{\"compare\":[1]}"), ("kv/txn", "{\"success\":\"x\"}"),
        ("kv/txn", "{\"compare\":[{\"target\":\"NOPE\"}]}"), ("kv/txn", "{\"success\":[{\"request_put\":\"x\"}]}"),
        ("kv/txn", "{\"compare\":[{\"key\":\"Zm9v\",\"target\":\"VALUE\",\"result\":\"NOPE\"}]}"),
        ("kv/txn", "{\"compare\":[{\"key\":\"Zm9v\",\"target\":\"VERSION\",\"version\":\"x\"}]}"),
        ("kv/txn", "{\"compare\":[{\"key\":\"Zm9v\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"!\"}]}"),
        ("maintenance/alarm", "{\"action\":\"GET\",\"memberID\":-5}"), ("maintenance/alarm", "{\"action\":\"GET\",\"memberID\":\"18446744073709551616\"}"),
        ("maintenance/alarm", "{\"action\":\"GETX\"}"), ("lease/revoke", "{\"ID\":\"0x10\"}"), ("lease/grant", "{\"TTL\":\"abc\"}"),
        ("auth/user/add", "{\"name\":5}"), ("auth/role/grant", "{\"name\":\"r\",\"perm\":{\"permType\":\"NOPE\"}}"),

        // Base64 (Go's StdEncoding: offsets of the failing quantum).
        ("kv/range", "{\"key\":\"!!!\"}"), ("kv/range", "{\"key\":\"Zm9\"}"), ("kv/range", "{\"key\":\"Zm9v===\"}"),
        ("kv/range", "{\"key\":\"Zm=v\"}"), ("kv/range", "{\"key\":\"Zm9vYg=\"}"), ("kv/range", "{\"key\":\"Zm9v\\u0041\"}"),
        ("kv/range", "{\"key\":\"Zm8=\"}"), ("kv/range", "{\"key\":\"Zm9v\\nYmFy\"}"),

        // Names: unknown fields are ignored, both proto and lowerCamel names work, camel wins, last duplicate wins.
        ("kv/range", "{\"unknown\":1}"), ("kv/range", "{\"Key\":\"Zm9v\"}"), ("kv/range", "{\"rangeEnd\":\"Zm9v\"}"),
        ("kv/range", "{\"key\":\"Zm9v\",\"key\":\"YmFy\"}"), ("kv/range", "{\"key\":\"Zm9v\",\"range_end\":\"AA==\",\"rangeEnd\":\"!!\"}"),
        ("kv/range", "{\"key\":\"Zm9v\",\"range_end\":\"!!\",\"rangeEnd\":\"AA==\"}"),

        // Streams: the first request's decode error is the call's error (code 2, HTTP 500).
        ("watch", "nonsense"), ("watch", "{\"create_request\":"), ("watch", "[1]"), ("watch", "{\"create_request\":{\"key\":\"!!\"}}"),
        ("watch", "{\"create_request\":{\"key\":\"Zm9v\",\"filters\":[\"BOGUS\"]}}"),
        ("lease/keepalive", "nonsense"), ("lease/keepalive", "[1]"), ("lease/keepalive", "{\"ID\":\"x\"}"),
    ];

    [RealEtcdFact]
    public async Task MalformedBodies_GetTheRealGatewaysStatusAndText()
    {
        await using EtcdProcess real = await EtcdProcess.StartRealAsync("gw-json-real");
        await using InProcessEtcd ours = await InProcessEtcd.StartAsync("gw-json-ours");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var differences = new List<string>();
        foreach ((string path, string body) in s_cases)
        {
            string expected = await PostAsync(http, real.ClientUrl, path, body);
            string actual = await PostAsync(http, ours.ClientUrl, path, body);
            if (expected != actual)
            {
                differences.Add($"POST /v3/{path} {body}\n  real: {expected}\n  ours: {actual}");
            }
        }

        Assert.True(differences.Count == 0, string.Join('\n', differences));
    }

    private static async Task<string> PostAsync(HttpClient http, Uri server, string path, string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        using HttpResponseMessage response = await http.PostAsync(new Uri(server, "/v3/" + path), content);
        string text = await response.Content.ReadAsStringAsync();
        return $"{(int)response.StatusCode} {HeaderIds().Replace(text, "")}";
    }

    // Member and cluster ids, terms and revisions differ between the two members.
    [GeneratedRegex("\"(cluster_id|member_id|raft_term|revision)\":\"[0-9]+\",?")]
    private static partial Regex HeaderIds();
}
