using System.Globalization;
using System.Text.RegularExpressions;
using Platform.Etcd.V2Store.Json;
using Platform.Testing;

namespace Platform.Etcd.V2Store.IntegrationTests;

/// <summary>
/// One sequence of v2 HTTP requests, sent to the real etcd 3.4 and applied to our store the way
/// etcd's server maps them (keys under the <c>/1</c> namespace, apply_v2's choice of store call).
/// Status codes and bodies must be equal byte for byte once index values are set aside; index
/// values must then correspond one to one and in the same order (real etcd starts higher, as its
/// membership records take indexes too).
/// </summary>
public sealed partial class RealEtcdComparisonTests
{
    private const string KeysPrefix = "/1";

    /// <summary>
    /// The sequence. Form values "$N" stand for the modifiedIndex of step N's node on each side.
    /// GET and DELETE carry their parameters in the query, PUT and POST in a form body (etcd
    /// only parses bodies of PUT/POST).
    /// </summary>
    private static readonly Step[] s_steps =
    [
        new("PUT", "/message", ("value", "Hello world")),
        new("GET", "/message"),
        new("PUT", "/message", ("value", "Hello etcd")),
        new("DELETE", "/message"),
        new("GET", "/message"),
        new("PUT", "/dir/a/b", ("value", "deep")),
        new("GET", "/dir", ("recursive", "true"), ("sorted", "true")),
        new("PUT", "/dir", ("value", "x")),
        new("PUT", "/dir/a/b/c", ("value", "x")),
        new("GET", "/dir/a/b/c"),
        new("POST", "/queue", ("value", "Job1")),
        new("POST", "/queue", ("value", "Job2")),
        new("GET", "/queue", ("recursive", "true"), ("sorted", "true")),
        new("PUT", "/foo", ("value", "one")),
        new("PUT", "/foo", ("value", "three"), ("prevExist", "false")),
        new("PUT", "/foo", ("value", "three"), ("prevValue", "two")),
        new("PUT", "/foo", ("value", "two"), ("prevValue", "one")),
        new("PUT", "/foo", ("value", "three"), ("prevIndex", "$17")),
        new("PUT", "/foo", ("value", "x"), ("prevIndex", "$14")),
        new("PUT", "/foo", ("value", "x"), ("prevIndex", "$14"), ("prevValue", "nope")),
        new("DELETE", "/foo", ("prevValue", "nope")),
        new("DELETE", "/foo", ("prevIndex", "$18")),
        new("PUT", "/emptydir", ("dir", "true")),
        new("DELETE", "/emptydir"),
        new("DELETE", "/dir", ("dir", "true")),
        new("DELETE", "/dir", ("recursive", "true")),
        new("PUT", "/_hidden", ("value", "h")),
        new("PUT", "/shown", ("value", "s")),
        new("GET", "/", ("sorted", "true")),
        new("GET", "/", ("recursive", "true"), ("sorted", "true")),
        new("PUT", "/upd", ("value", "v"), ("prevExist", "true")),
        new("PUT", "/upd", ("value", "v1")),
        new("PUT", "/upd", ("value", "v2"), ("prevExist", "true")),
        new("PUT", "/ttl", ("value", "t"), ("ttl", "100")),
        new("PUT", "/ttl", ("ttl", "200"), ("refresh", "true"), ("prevExist", "true")),
        new("PUT", "/ttl", ("value", "t2"), ("ttl", ""), ("prevExist", "true")),
        new("GET", "/ttl"),
        new("PUT", "/tdir", ("dir", "true"), ("ttl", "300")),
        new("PUT", "/tdir", ("dir", "true"), ("ttl", "400"), ("prevExist", "true")),
        new("DELETE", "/", ("recursive", "true")),
        new("PUT", "/", ("value", "x")),
        new("GET", "/message", ("wait", "true"), ("waitIndex", "$1")),
        new("GET", "/dir/a/b", ("wait", "true"), ("waitIndex", "$6")),
        new("PUT", "/esc", ("value", "a\"b\\c<d>&e\u00e9\u2713\n\ttab")),
        new("GET", "/esc"),
        new("PUT", "/file", ("value", "f")),
        new("GET", "/file/below"),
        new("POST", "/file", ("value", "x")),
        new("PUT", "/emptyvalue", ("value", "")),
        new("GET", "/emptyvalue"),
    ];

    [RealEtcdFact]
    public async Task V2Keys_SameRequestSequence_SameAnswersAsRealEtcd()
    {
        await using var etcd = new EtcdMember(EtcdMember.RealEtcdPath, nameof(V2Keys_SameRequestSequence_SameAnswersAsRealEtcd), "--enable-v2");
        await etcd.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(etcd.ClientUrl), Timeout = TimeSpan.FromSeconds(30) };
        IV2Store store = V2Stores.Create("/0", KeysPrefix);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var realIndexes = new Dictionary<int, string>();
        var ourIndexes = new Dictionary<int, string>();
        var mapping = new IndexMapping();

        for (int n = 0; n < s_steps.Length; n++)
        {
            Step step = s_steps[n];
            Answer real = await SendAsync(http, step, realIndexes);
            Answer ours = await ApplyAsync(store, step, ourIndexes, now);
            string where = $"step {n + 1}: {step}\n real: {real.Status} {real.Body}\n ours: {ours.Status} {ours.Body}";

            Assert.True(real.Status == ours.Status, where);
            (string realShape, List<ulong> realTokens) = Normalise(real);
            (string ourShape, List<ulong> ourTokens) = Normalise(ours);
            Assert.True(realShape == ourShape, where);
            Assert.True(realTokens.Count == ourTokens.Count, where);
            for (int i = 0; i < realTokens.Count; i++)
            {
                Assert.True(mapping.TryAdd(realTokens[i], ourTokens[i], out string? conflict), $"{where}\n {conflict}");
            }

            realIndexes[n + 1] = ModifiedIndex(real.Body);
            ourIndexes[n + 1] = ModifiedIndex(ours.Body);
        }
    }

    private static async Task<Answer> SendAsync(HttpClient http, Step step, Dictionary<int, string> indexes)
    {
        List<KeyValuePair<string, string>> form = step.Resolve(indexes);
        string path = "/v2/keys" + step.Path;
        using var request = new HttpRequestMessage(new HttpMethod(step.Method), path);
        if (step.Method is "PUT" or "POST")
        {
            request.Content = new FormUrlEncodedContent(form);
        }
        else if (form.Count > 0)
        {
            request.RequestUri = new Uri(path + "?" + string.Join('&', form.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}")), UriKind.Relative);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        string body = (await response.Content.ReadAsStringAsync()).TrimEnd('\n');
        string index = response.Headers.TryGetValues("X-Etcd-Index", out IEnumerable<string>? values) ? values.Single() : "";
        return new Answer((int)response.StatusCode, body, index);
    }

    /// <summary>What etcd's v2 HTTP handler and apply_v2 do with a request, against our store.</summary>
    private static async Task<Answer> ApplyAsync(IV2Store store, Step step, Dictionary<int, string> indexes, DateTimeOffset now)
    {
        Dictionary<string, string> form = step.Resolve(indexes).ToDictionary(p => p.Key, p => p.Value);
        string path = KeysPrefix + step.Path;
        bool Flag(string name) => form.TryGetValue(name, out string? v) && bool.Parse(v);
        ulong Index(string name) => form.TryGetValue(name, out string? v) ? ulong.Parse(v, CultureInfo.InvariantCulture) : 0;
        string value = form.GetValueOrDefault("value", "");
        string prevValue = form.GetValueOrDefault("prevValue", "");
        TimeSpan? ttlSeconds = form.TryGetValue("ttl", out string? ttlText) && ttlText.Length > 0 ? TimeSpan.FromSeconds(double.Parse(ttlText, CultureInfo.InvariantCulture)) : null;
        var ttl = new V2TtlOptions(ttlSeconds, Flag("refresh"));
        try
        {
            V2Event e;
            switch (step.Method)
            {
                case "GET" when Flag("wait"):
                    using (IV2Watcher watcher = store.Watch(path, Flag("recursive"), stream: false, Index("waitIndex")))
                    {
                        Task<V2Event> next = watcher.NextAsync();
                        Assert.True(next.IsCompleted, "the sequence only waits for events already in the history");
                        return new Answer(200, V2Json.Serialize(await next, KeysPrefix), watcher.StartIndex.ToString(CultureInfo.InvariantCulture));
                    }

                case "GET":
                    e = store.Get(path, Flag("recursive"), Flag("sorted"), now);
                    break;
                case "POST":
                    e = store.Create(path, Flag("dir"), value, unique: true, ttl, now);
                    break;
                case "PUT" when form.TryGetValue("prevExist", out string? prevExist):
                    e = bool.Parse(prevExist)
                        ? (Index("prevIndex") == 0 && prevValue.Length == 0
                            ? store.Update(path, value, ttl, now)
                            : store.CompareAndSwap(path, prevValue, Index("prevIndex"), value, ttl, now))
                        : store.Create(path, Flag("dir"), value, unique: false, ttl, now);
                    break;
                case "PUT" when Index("prevIndex") > 0 || prevValue.Length > 0:
                    e = store.CompareAndSwap(path, prevValue, Index("prevIndex"), value, ttl, now);
                    break;
                case "PUT":
                    e = store.Set(path, Flag("dir"), value, ttl, now);
                    break;
                case "DELETE" when Index("prevIndex") > 0 || prevValue.Length > 0:
                    e = store.CompareAndDelete(path, prevValue, Index("prevIndex"), now);
                    break;
                case "DELETE":
                    e = store.Delete(path, Flag("dir"), Flag("recursive"), now);
                    break;
                default:
                    throw new NotSupportedException(step.Method);
            }

            return new Answer(e.IsCreated ? 201 : 200, V2Json.Serialize(e, KeysPrefix), e.EtcdIndex.ToString(CultureInfo.InvariantCulture));
        }
        catch (V2StoreException failure)
        {
            return new Answer(failure.Error.HttpStatus, V2Json.Serialize(failure.Error, KeysPrefix), failure.Error.Index.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// The answer with every index value replaced by '#', and those values in order: index
    /// fields, in-order key names, numbers in compare-failure causes, the X-Etcd-Index header.
    /// Expirations are replaced too (the two sides' clocks differ) after checking their format.
    /// </summary>
    private static (string Shape, List<ulong> Tokens) Normalise(Answer answer)
    {
        var tokens = new List<ulong>();
        string body = ExpirationPattern().Replace(answer.Body, m =>
        {
            Assert.Matches(Rfc3339NanoUtcPattern(), m.Groups[1].Value);
            return "\"expiration\":\"T\"";
        });
        body = IndexTokenPattern().Replace(body, m =>
        {
            Group number = m.Groups["number"];
            tokens.Add(ulong.Parse(number.Value, CultureInfo.InvariantCulture));
            return m.Value[..(number.Index - m.Index)] + "#" + m.Value[(number.Index - m.Index + number.Length)..];
        });
        body = CausePattern().Replace(body, m => DigitsPattern().Replace(m.Value, d =>
        {
            tokens.Add(ulong.Parse(d.Value, CultureInfo.InvariantCulture));
            return "#";
        }));
        if (answer.EtcdIndex.Length > 0)
        {
            tokens.Add(ulong.Parse(answer.EtcdIndex, CultureInfo.InvariantCulture));
        }

        return (body, tokens);
    }

    private static string ModifiedIndex(string body) => ModifiedIndexPattern().Match(body) is { Success: true } m ? m.Groups[1].Value : "0";

    [GeneratedRegex("\"expiration\":\"([^\"]*)\"")]
    private static partial Regex ExpirationPattern();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")]
    private static partial Regex Rfc3339NanoUtcPattern();

    [GeneratedRegex("\"(?:createdIndex|modifiedIndex|index)\":(?<number>\\d+)|/(?<number>\\d{20})(?=[\"/])")]
    private static partial Regex IndexTokenPattern();

    [GeneratedRegex("\"cause\":\"\\[[^\"]*\\]\"")]
    private static partial Regex CausePattern();

    [GeneratedRegex(@"\d+")]
    private static partial Regex DigitsPattern();

    [GeneratedRegex("\"node\":\\{[^{}]*?\"modifiedIndex\":(\\d+)")]
    private static partial Regex ModifiedIndexPattern();

    private sealed record Answer(int Status, string Body, string EtcdIndex);

    private sealed record Step(string Method, string Path, params (string Name, string Value)[] Form)
    {
        public List<KeyValuePair<string, string>> Resolve(Dictionary<int, string> modifiedIndexes) =>
            [.. Form.Select(f => KeyValuePair.Create(f.Name, f.Value.StartsWith('$') ? modifiedIndexes[int.Parse(f.Value[1..], CultureInfo.InvariantCulture)] : f.Value))];

        public override string ToString() => $"{Method} {Path} {string.Join('&', Form.Select(f => $"{f.Name}={f.Value}"))}";
    }

    /// <summary>A growing one-to-one, order-preserving correspondence between real and our indexes.</summary>
    private sealed class IndexMapping
    {
        private readonly List<(ulong Real, ulong Ours)> _pairs = [];

        public bool TryAdd(ulong real, ulong ours, out string? conflict)
        {
            foreach ((ulong r, ulong o) in _pairs)
            {
                if (real.CompareTo(r) != ours.CompareTo(o))
                {
                    conflict = $"index {real} (real) / {ours} (ours) contradicts the earlier correspondence {r} / {o}";
                    return false;
                }
            }

            _pairs.Add((real, ours));
            conflict = null;
            return true;
        }
    }
}
