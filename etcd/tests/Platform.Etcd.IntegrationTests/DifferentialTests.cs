using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Etcd.IntegrationTests.Infrastructure;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// The same request sequence against the real etcd 3.4 and ours, side by side: HTTP status and
/// body compared field by field after normalising what legitimately differs (cluster and member
/// ids, raft terms, lease ids; revisions and v2 indexes relative to each server's first write).
/// A difference is a bug in ours (or a deliberate one, listed in etcd/README.md).
/// </summary>
public sealed class DifferentialTests : IAsyncLifetime
{
    private EtcdProcess? _real;
    private InProcessEtcd? _ours;

    public async Task InitializeAsync()
    {
        if (Binaries.SkipReason(Binaries.RealEtcd, Binaries.Etcdctl) is not null)
        {
            return;
        }

        _real = await EtcdProcess.StartRealAsync("diff-real", ["--enable-v2"]);
        _ours = await InProcessEtcd.StartAsync("diff-ours");
    }

    public async Task DisposeAsync()
    {
        if (_real is not null)
        {
            await _real.DisposeAsync();
        }

        if (_ours is not null)
        {
            await _ours.DisposeAsync();
        }
    }

    [RealEtcdFact]
    public async Task Gateway_KvLeaseAuthSequence_SameAnswers()
    {
        (string Path, string Body)[] steps =
        [
            ("/v3/kv/put", $"{{\"key\":\"{B64("a")}\",\"value\":\"{B64("1")}\"}}"),
            ("/v3/kv/put", $"{{\"key\":\"{B64("a")}\",\"value\":\"{B64("2")}\",\"prev_kv\":true}}"),
            ("/v3/kv/put", $"{{\"key\":\"{B64("b")}\",\"value\":\"{B64("3")}\"}}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\"}}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"range_end\":\"{B64("c")}\",\"limit\":1}}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"range_end\":\"{B64("c")}\",\"sort_order\":\"DESCEND\",\"sort_target\":\"VALUE\"}}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"range_end\":\"{B64("c")}\",\"count_only\":true}}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"range_end\":\"{B64("c")}\",\"keys_only\":true}}"),
            ("/v3/kv/range", $"{{\"key\":\"AA==\",\"range_end\":\"AA==\"}}"),
            ("/v3/kv/range", "{}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"revision\":\"100000\"}}"),
            ("/v3/kv/txn", $"{{\"compare\":[{{\"key\":\"{B64("a")}\",\"target\":\"VALUE\",\"value\":\"{B64("2")}\"}}],\"success\":[{{\"request_put\":{{\"key\":\"{B64("a")}\",\"value\":\"{B64("4")}\"}}}},{{\"request_range\":{{\"key\":\"{B64("b")}\"}}}}],\"failure\":[]}}"),
            ("/v3/kv/txn", $"{{\"compare\":[{{\"key\":\"{B64("a")}\",\"target\":\"VERSION\",\"result\":\"GREATER\",\"version\":\"10\"}}],\"failure\":[{{\"request_delete_range\":{{\"key\":\"{B64("b")}\",\"prev_kv\":true}}}}]}}"),
            ("/v3/kv/txn", $"{{\"success\":[{{\"request_put\":{{\"key\":\"{B64("d")}\"}}}},{{\"request_put\":{{\"key\":\"{B64("d")}\"}}}}]}}"),
            ("/v3/kv/txn", $"{{\"success\":[{{\"request_txn\":{{\"success\":[{{\"request_put\":{{\"key\":\"{B64("n")}\",\"value\":\"{B64("x")}\"}}}}]}}}}]}}"),
            ("/v3/kv/deleterange", $"{{\"key\":\"{B64("a")}\",\"range_end\":\"{B64("z")}\",\"prev_kv\":true}}"),
            ("/v3/kv/put", $"{{\"key\":\"{B64("c")}\",\"value\":\"{B64("5")}\",\"ignore_value\":true}}"),
            ("/v3/kv/put", $"{{\"key\":\"{B64("c")}\",\"lease\":\"12345\"}}"),
            ("/v3/kv/compaction", "{\"revision\":\"3\"}"),
            ("/v3/kv/range", $"{{\"key\":\"{B64("a")}\",\"revision\":\"2\"}}"),
            ("/v3/kv/compaction", "{\"revision\":\"2\"}"),
            ("/v3/lease/grant", "{\"TTL\":\"60\"}"),
            ("/v3/lease/revoke", "{\"ID\":\"999\"}"),
            ("/v3/lease/timetolive", "{\"ID\":\"999\"}"),
            ("/v3/kv/lease/timetolive", "{\"ID\":\"999\"}"),
            ("/v3/auth/user/get", "{\"name\":\"nobody\"}"),
            ("/v3/auth/role/get", "{\"role\":\"nobody\"}"),
            ("/v3/auth/user/add", "{\"name\":\"\",\"password\":\"x\"}"),
            ("/v3/auth/enable", "{}"),
            ("/v3/auth/user/list", "{}"),
            ("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"x\"}"),
            ("/v3/cluster/member/remove", "{\"ID\":\"1\"}"),
            ("/v3/maintenance/alarm", "{\"action\":\"GET\"}"),
            ("/v3/maintenance/status", "{}"),
            ("/v3/maintenance/hash", "{}"),
            ("/v3/cluster/member/list", "{}"),
            ("/v3/lease/leases", "{}"),
            ("/v3/kv/put", $"{{\"key\":\"{B64("big")}\",\"value\":\"{Convert.ToBase64String(new byte[2 * 1024 * 1024])}\"}}"),
            ("/v3alpha/kv/range", "{}"),
        ];

        AssertSameTranscript(await RunAsync(_real!.ClientUrl, steps), await RunAsync(_ours!.ClientUrl, steps));
    }

    /// <summary>
    /// Malformed JSON: both answer 400 with code 3 (InvalidArgument). The message is the JSON
    /// parser's own words (Go's encoding/json there, Google.Protobuf here), a known difference.
    /// </summary>
    [RealEtcdFact]
    public async Task Gateway_MalformedJson_Both400Code3()
    {
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            using var http = new HttpClient { BaseAddress = member.ClientUrl };
            using HttpResponseMessage response = await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent("not json"));
            Assert.Equal(400, (int)response.StatusCode);
            JsonElement body = Json(await response.Content.ReadAsStringAsync());
            Assert.Equal(3, body.GetProperty("code").GetInt32());
            Assert.Equal(body.GetProperty("error").GetString(), body.GetProperty("message").GetString());
        }
    }

    [RealEtcdFact]
    public async Task V2Keys_Sequence_SameAnswers()
    {
        (string Method, string Path, string? Form)[] steps =
        [
            ("PUT", "/v2/keys/dir/a", "value=1"),
            ("PUT", "/v2/keys/dir/a", "value=2"),
            ("GET", "/v2/keys/dir/a", null),
            ("GET", "/v2/keys/dir", null),
            ("GET", "/v2/keys/dir?recursive=true&sorted=true", null),
            ("GET", "/v2/keys/missing", null),
            ("PUT", "/v2/keys/dir/a?prevExist=false", "value=3"),
            ("PUT", "/v2/keys/dir/a?prevValue=nope", "value=3"),
            ("PUT", "/v2/keys/dir/a?prevValue=2", "value=3"),
            ("PUT", "/v2/keys/dir/b?prevExist=true", "value=3"),
            ("PUT", "/v2/keys/dir/a", "value=1&ttl=abc"),
            ("PUT", "/v2/keys/dir2", "dir=true"),
            ("PUT", "/v2/keys/dir2", "dir=true"),
            ("POST", "/v2/keys/queue", "value=job1"),
            ("GET", "/v2/keys/queue?sorted=true", null),
            ("DELETE", "/v2/keys/dir", null),
            ("DELETE", "/v2/keys/dir?dir=true", null),
            ("DELETE", "/v2/keys/dir/a?prevValue=wrong", null),
            ("DELETE", "/v2/keys/dir?recursive=true", null),
            ("GET", "/v2/keys/dir/a?wait=true&waitIndex=1", null),
            ("PATCH", "/v2/keys/x", "value=1"),
            ("HEAD", "/v2/keys/queue", null),
            ("GET", "/v2/machines", null),
            ("POST", "/v2/stats/self", null),
            ("GET", "/version", null),
            ("GET", "/health", null),
            ("GET", "/nowhere", null),
        ];

        AssertSameTranscript(await RunV2Async(_real!.ClientUrl, steps), await RunV2Async(_ours!.ClientUrl, steps));
    }

    /// <summary>Users, roles, auth enable, tokens in the Authorization header, permission checks, through the gateway.</summary>
    [RealEtcdFact]
    public async Task GatewayAuth_UsersRolesTokens_SameAnswers()
    {
        var transcripts = new List<string>();
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            using var http = new HttpClient { BaseAddress = member.ClientUrl };
            var normaliser = new Normaliser();
            var transcript = new StringBuilder();
            string? token = null;
            async Task<string> Step(string path, string body, string? as_ = null)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body) };
                if (as_ is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", as_);
                }

                using HttpResponseMessage response = await http.SendAsync(request);
                string text = await response.Content.ReadAsStringAsync();
                transcript.Append(path).Append(' ').Append(body).Append(as_ is null ? "" : " (token)").Append(" => ").Append((int)response.StatusCode).Append(' ')
                    .AppendLine(normaliser.Normalise(text));
                return text;
            }

            await Step("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}");
            await Step("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}");
            await Step("/v3/auth/user/add", "{\"name\":\"alice\",\"password\":\"alicepw\"}");
            await Step("/v3/auth/role/add", "{\"name\":\"app\"}");
            await Step("/v3/auth/role/grant", $"{{\"name\":\"app\",\"perm\":{{\"permType\":\"READWRITE\",\"key\":\"{B64("app/")}\",\"range_end\":\"{B64("app0")}\"}}}}");
            await Step("/v3/auth/user/grant", "{\"user\":\"alice\",\"role\":\"app\"}");
            await Step("/v3/auth/user/grant", "{\"user\":\"alice\",\"role\":\"nope\"}");
            await Step("/v3/auth/user/get", "{\"name\":\"alice\"}");
            await Step("/v3/auth/role/get", "{\"role\":\"app\"}");
            await Step("/v3/auth/role/list", "{}");
            await Step("/v3/auth/enable", "{}");
            await Step("/v3/auth/role/add", "{\"name\":\"root\"}");
            await Step("/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
            await Step("/v3/auth/enable", "{}");
            await Step("/v3/auth/enable", "{}");
            await Step("/v3/kv/put", $"{{\"key\":\"{B64("app/k")}\",\"value\":\"{B64("v")}\"}}");
            await Step("/v3/auth/authenticate", "{\"name\":\"alice\",\"password\":\"wrong\"}");
            string auth = await Step("/v3/auth/authenticate", "{\"name\":\"alice\",\"password\":\"alicepw\"}");
            Assert.True(Json(auth).TryGetProperty("token", out JsonElement aliceToken), $"{member.Description}:\n{transcript}");
            token = aliceToken.GetString();
            await Step("/v3/kv/put", $"{{\"key\":\"{B64("app/k")}\",\"value\":\"{B64("v")}\"}}", token);
            await Step("/v3/kv/range", $"{{\"key\":\"{B64("app/k")}\"}}", token);
            await Step("/v3/kv/put", $"{{\"key\":\"{B64("other")}\",\"value\":\"{B64("v")}\"}}", token);
            await Step("/v3/kv/range", $"{{\"key\":\"{B64("app/k")}\"}}", "not-a-token");
            await Step("/v3/auth/user/list", "{}", token);
            string rootAuth = await Step("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"rootpw\"}");
            Assert.True(Json(rootAuth).TryGetProperty("token", out JsonElement rootTokenElement), $"{member.Description}:\n{transcript}");
            string rootToken = rootTokenElement.GetString()!;
            await Step("/v3/auth/user/delete", "{\"name\":\"alice\"}", rootToken);
            await Step("/v3/auth/disable", "{}", rootToken);
            await Step("/v3/kv/range", $"{{\"key\":\"{B64("app/k")}\"}}");
            transcripts.Add(transcript.ToString());
        }

        AssertSameTranscript(transcripts[0], transcripts[1]);
    }

    /// <summary>v3lock through the gateway: the second holder waits until the first unlocks.</summary>
    [RealEtcdFact]
    public async Task GatewayLock_SecondWaitsForUnlock_SameOnBoth()
    {
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            using var http = new HttpClient { BaseAddress = member.ClientUrl, Timeout = Timeout.InfiniteTimeSpan };
            async Task<JsonElement> Post(string path, string body)
            {
                using HttpResponseMessage response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body));
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{member.Description}: {path} {body} => {text}");
                return Json(text);
            }

            string a = (await Post("/v3/lease/grant", "{\"TTL\":\"60\"}")).GetProperty("ID").GetString()!;
            string b = (await Post("/v3/lease/grant", "{\"TTL\":\"60\"}")).GetProperty("ID").GetString()!;
            string Hex(string id) => long.Parse(id, CultureInfo.InvariantCulture).ToString("x", CultureInfo.InvariantCulture);

            JsonElement first = await Post("/v3/lock/lock", $"{{\"name\":\"{B64("l")}\",\"lease\":\"{a}\"}}");
            Assert.Equal("l/" + Hex(a), FromB64(first.GetProperty("key").GetString()!));
            Task<JsonElement> second = Post("/v3/lock/lock", $"{{\"name\":\"{B64("l")}\",\"lease\":\"{b}\"}}");
            // The second lock cannot complete while the first key exists: its key is written, it waits on the watch.
            JsonElement waiting = await Post("/v3/kv/range", $"{{\"key\":\"{B64("l/")}\",\"range_end\":\"{B64("l0")}\",\"count_only\":true}}");
            Assert.False(second.IsCompleted, member.Description);
            Assert.True(waiting.TryGetProperty("count", out _));

            await Post("/v3/lock/unlock", $"{{\"key\":\"{first.GetProperty("key").GetString()}\"}}");
            JsonElement acquired = await second.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("l/" + Hex(b), FromB64(acquired.GetProperty("key").GetString()!));
        }
    }

    /// <summary>v3election through the gateway: campaign, leader, proclaim, a waiting candidate, resign, errors.</summary>
    [RealEtcdFact]
    public async Task GatewayElection_CampaignProclaimResign_SameAnswers()
    {
        var transcripts = new List<string>();
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            using var http = new HttpClient { BaseAddress = member.ClientUrl, Timeout = Timeout.InfiniteTimeSpan };
            var normaliser = new Normaliser();
            var transcript = new StringBuilder();
            var leases = new Dictionary<string, string>(StringComparer.Ordinal);
            string Scrub(string text)
            {
                foreach ((string id, string alias) in leases)
                {
                    text = text.Replace(B64("e/" + long.Parse(id, CultureInfo.InvariantCulture).ToString("x", CultureInfo.InvariantCulture)), alias, StringComparison.Ordinal).Replace(id, alias, StringComparison.Ordinal);
                }

                return text;
            }

            async Task<string> Step(string path, string body)
            {
                using HttpResponseMessage response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body));
                string text = await response.Content.ReadAsStringAsync();
                transcript.Append(path).Append(' ').Append(Scrub(body)).Append(" => ").Append((int)response.StatusCode).Append(' ').AppendLine(Scrub(normaliser.Normalise(text)));
                return text;
            }

            string a = Json(await http.PostAsync(new Uri("/v3/lease/grant", UriKind.Relative), new StringContent("{\"TTL\":\"60\"}")).Result.Content.ReadAsStringAsync()).GetProperty("ID").GetString()!;
            string b = Json(await http.PostAsync(new Uri("/v3/lease/grant", UriKind.Relative), new StringContent("{\"TTL\":\"60\"}")).Result.Content.ReadAsStringAsync()).GetProperty("ID").GetString()!;
            leases[a] = "leaseA";
            leases[b] = "leaseB";
            await Step("/v3/election/leader", $"{{\"name\":\"{B64("e")}\"}}");
            string campaign = await Step("/v3/election/campaign", $"{{\"name\":\"{B64("e")}\",\"lease\":\"{a}\",\"value\":\"{B64("x")}\"}}");
            JsonElement leader = Json(campaign).GetProperty("leader");
            await Step("/v3/election/leader", $"{{\"name\":\"{B64("e")}\"}}");
            await Step("/v3/election/proclaim", $"{{\"leader\":{leader.GetRawText()},\"value\":\"{B64("y")}\"}}");
            await Step("/v3/election/proclaim", $"{{\"leader\":{{\"name\":\"{B64("e")}\",\"key\":\"{leader.GetProperty("key").GetString()}\",\"rev\":\"1\",\"lease\":\"{a}\"}},\"value\":\"{B64("z")}\"}}");
            await Step("/v3/election/proclaim", "{}");
            await Step("/v3/election/leader", $"{{\"name\":\"{B64("e")}\"}}");
            Task<HttpResponseMessage> second = http.PostAsync(new Uri("/v3/election/campaign", UriKind.Relative), new StringContent($"{{\"name\":\"{B64("e")}\",\"lease\":\"{b}\",\"value\":\"{B64("w")}\"}}"));

            // The second candidate must have written its key before the leader resigns, or it simply wins at a different revision.
            using var candidateDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                using HttpResponseMessage count = await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("e/")}\",\"range_end\":\"{B64("e0")}\",\"count_only\":true}}"), candidateDeadline.Token);
                if (Json(await count.Content.ReadAsStringAsync(candidateDeadline.Token)).TryGetProperty("count", out JsonElement n) && n.GetString() == "2")
                {
                    break;
                }

                await Task.Delay(20, candidateDeadline.Token);
            }

            await Step("/v3/election/resign", $"{{\"leader\":{leader.GetRawText()}}}");
            using HttpResponseMessage won = await second.WaitAsync(TimeSpan.FromSeconds(30));
            transcript.Append("second campaign => ").Append((int)won.StatusCode).Append(' ').AppendLine(Scrub(normaliser.Normalise(await won.Content.ReadAsStringAsync())));
            await Step("/v3/election/leader", $"{{\"name\":\"{B64("e")}\"}}");
            transcripts.Add(transcript.ToString());
        }

        Assert.Contains("election: no leader", transcripts[0], StringComparison.Ordinal);
        Assert.Contains("election: not leader", transcripts[0], StringComparison.Ordinal);
        Assert.Contains(B64("w"), transcripts[0], StringComparison.Ordinal);
        AssertSameTranscript(transcripts[0], transcripts[1]);
    }

    [RealEtcdFact]
    public async Task GatewayWatch_HistoryFromStartRevision_SameEvents()
    {
        var transcripts = new List<string>();
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            using var http = new HttpClient { BaseAddress = member.ClientUrl, Timeout = Timeout.InfiniteTimeSpan };
            var normaliser = new Normaliser();
            string first = await (await http.PostAsync(new Uri("/v3/kv/put", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("w/a")}\",\"value\":\"{B64("1")}\"}}"))).Content.ReadAsStringAsync();
            long start = long.Parse(Json(first).GetProperty("header").GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
            normaliser.Normalise(first);
            foreach (string body in new[]
            {
                $"{{\"key\":\"{B64("w/a")}\",\"value\":\"{B64("2")}\"}}",
                $"{{\"key\":\"{B64("w/b")}\",\"value\":\"{B64("3")}\"}}",
            })
            {
                (await http.PostAsync(new Uri("/v3/kv/put", UriKind.Relative), new StringContent(body))).Dispose();
            }

            (await http.PostAsync(new Uri("/v3/kv/deleterange", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("w/a")}\"}}"))).Dispose();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/watch")
            {
                Content = new StringContent($"{{\"create_request\":{{\"key\":\"{B64("w/")}\",\"range_end\":\"{B64("w0")}\",\"start_revision\":\"{start}\",\"prev_kv\":true,\"filters\":[]}}}}"),
            };
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var lines = new StringBuilder();
            int events = 0;
            while (events < 4)
            {
                string line = (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)))!;
                events += Json(line).GetProperty("result").TryGetProperty("events", out JsonElement e) ? e.GetArrayLength() : 0;
                lines.AppendLine(normaliser.Normalise(line));
            }

            transcripts.Add(lines.ToString());
        }

        AssertSameTranscript(transcripts[0], transcripts[1]);
    }

    [RealEtcdFact]
    public async Task EtcdctlJson_GetAndTxn_SameOutputAfterNormalising()
    {
        var outputs = new List<string>();
        foreach (IEtcdMember member in new IEtcdMember[] { _real!, _ours! })
        {
            var ctl = new Etcdctl(member.ClientUrl);
            var lines = new StringBuilder();
            var normaliser = new Normaliser();
            foreach (string[] args in new[]
            {
                new[] { "put", "e/k", "v1" },
                new[] { "put", "e/k", "v2", "--prev-kv", "-w", "json" },
                new[] { "get", "e/", "--prefix", "-w", "json" },
                new[] { "get", "e/k", "--rev=1", "-w", "json" },
                new[] { "del", "e/k", "--prev-kv", "-w", "json" },
                new[] { "get", "", "--from-key", "--keys-only" },
            })
            {
                CommandResult result = await ctl.RunAsync(args);
                string stdout = result.Stdout.TrimStart().StartsWith('{') ? normaliser.Normalise(result.Stdout) : result.Stdout;
                lines.Append(string.Join(' ', args)).Append(" => ").Append(result.ExitCode).Append(' ').Append(stdout.Trim()).Append(' ').AppendLine(result.Stderr.Trim());
            }

            outputs.Add(lines.ToString());
        }

        AssertSameTranscript(outputs[0], outputs[1]);
    }

    /// <summary>Every differing step, real first, so one run shows all the differences.</summary>
    private static void AssertSameTranscript(string real, string ours)
    {
        string[] realLines = real.Split('\n');
        string[] ourLines = ours.Split('\n');
        var differences = new StringBuilder();
        for (int i = 0; i < Math.Max(realLines.Length, ourLines.Length); i++)
        {
            string r = i < realLines.Length ? realLines[i] : "(none)";
            string o = i < ourLines.Length ? ourLines[i] : "(none)";
            if (r != o)
            {
                differences.Append("real: ").AppendLine(r).Append("ours: ").AppendLine(o).AppendLine();
            }
        }

        Assert.True(differences.Length == 0, "ours differs from etcd 3.4:\n" + differences);
    }

    private static async Task<string> RunAsync(Uri endpoint, (string Path, string Body)[] steps)
    {
        using var http = new HttpClient { BaseAddress = endpoint };
        var normaliser = new Normaliser();
        var transcript = new StringBuilder();
        foreach ((string path, string body) in steps)
        {
            using HttpResponseMessage response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body));
            string text = await response.Content.ReadAsStringAsync();
            transcript.Append(path).Append(' ').Append(body).Append(" => ").Append((int)response.StatusCode).Append(' ')
                .AppendLine(text.StartsWith('{') ? normaliser.Normalise(text) : text.Trim());
        }

        return transcript.ToString();
    }

    private static async Task<string> RunV2Async(Uri endpoint, (string Method, string Path, string? Form)[] steps)
    {
        using var http = new HttpClient { BaseAddress = endpoint };
        var normaliser = new Normaliser();
        var transcript = new StringBuilder();
        foreach ((string method, string path, string? form) in steps)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (form is not null)
            {
                request.Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");
            }

            using HttpResponseMessage response = await http.SendAsync(request);
            // A server's own URL differs only by port.
            string text = (await response.Content.ReadAsStringAsync()).Replace(endpoint.ToString().TrimEnd('/'), "<self>", StringComparison.Ordinal);
            string index = response.Headers.TryGetValues("X-Etcd-Index", out IEnumerable<string>? values) ? normaliser.V2Index(values.Single()) : "-";
            transcript.Append(method).Append(' ').Append(path).Append(' ').Append(form).Append(" => ").Append((int)response.StatusCode)
                .Append(" index=").Append(index).Append(' ')
                .AppendLine(text.StartsWith('{') ? normaliser.Normalise(text) : text.Trim());
        }

        return transcript.ToString();
    }

    /// <summary>Rewrites a JSON body so two servers' answers compare: ids dropped, revisions and indexes relative.</summary>
    private sealed class Normaliser
    {
        private readonly Dictionary<string, string> _leases = new(StringComparer.Ordinal);
        private long? _firstRevision;
        private long? _firstV2Index;

        public string Normalise(string json)
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(json);
            }
            catch (JsonException)
            {
                return json.Trim();
            }

            return Walk(node)?.ToJsonString() ?? "null";
        }

        public string V2Index(string text)
        {
            long value = long.Parse(text, CultureInfo.InvariantCulture);
            if (value == 0)
            {
                return "0";
            }

            _firstV2Index ??= value;
            return (value - _firstV2Index.Value).ToString(CultureInfo.InvariantCulture);
        }

        private JsonNode? Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (string key in o.Select(p => p.Key).ToArray())
                    {
                        JsonNode? value = o[key];
                        switch (key)
                        {
                            case "cluster_id" or "member_id" or "raft_term" or "expiration" or "ttl" or "dbSize" or "dbSizeInUse"
                                or "raftIndex" or "raftAppliedIndex" or "leader" or "peerURLs" or "clientURLs" or "hash" or "token":
                                o[key] = "*";
                                break;
                            case "revision" or "create_revision" or "mod_revision" or "compact_revision":
                                o[key] = Revision(value);
                                break;
                            case "modifiedIndex" or "createdIndex" or "index":
                                o[key] = value is null ? null : V2Index(value.ToString());
                                break;
                            case "ID":
                                string id = value!.ToString();
                                o[key] = _leases.TryGetValue(id, out string? alias) ? alias : _leases[id] = $"lease{_leases.Count}";
                                break;
                            case "key" when value is JsonValue v && v.ToString().StartsWith("/queue/", StringComparison.Ordinal):
                                o[key] = "/queue/*";
                                break;
                            default:
                                o[key] = Walk(value?.DeepClone());
                                break;
                        }
                    }

                    return o;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++)
                    {
                        a[i] = Walk(a[i]?.DeepClone());
                    }

                    return a;
                default:
                    return node;
            }
        }

        private string Revision(JsonNode? value)
        {
            long revision = long.Parse(value!.ToString(), CultureInfo.InvariantCulture);
            _firstRevision ??= revision;
            return (revision - _firstRevision.Value).ToString(CultureInfo.InvariantCulture);
        }
    }
}
