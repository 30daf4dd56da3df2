using System.Net;
using System.Text;
using System.Text.Json;
using Platform.Etcd.IntegrationTests.Infrastructure;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>Plain HTTP (what curl sends) against our member: the gateway's streams and the v2 API's long polls.</summary>
public sealed class GatewayAndV2Tests : IClassFixture<InProcessEtcdFixture>, IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;

    public GatewayAndV2Tests(InProcessEtcdFixture fixture)
    {
        _http = new HttpClient { BaseAddress = fixture.Etcd.ClientUrl, Timeout = Timeout.InfiniteTimeSpan };
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonElement> PostAsync(string path, string body)
    {
        using HttpResponseMessage response = await _http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} {body} => {(int)response.StatusCode} {text}");
        return Json(text);
    }

    [Fact]
    public async Task GatewayWatch_CreatedThenEvents_AsResultLines()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/watch")
        {
            Content = new StringContent($"{{\"create_request\":{{\"key\":\"{B64("gw/")}\",\"range_end\":\"{B64("gw0")}\",\"prev_kv\":true}}}}"),
        };
        using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        JsonElement created = Json((await reader.ReadLineAsync().WaitAsync(s_wait))!).GetProperty("result");
        Assert.True(created.GetProperty("created").GetBoolean());

        await PostAsync("/v3/kv/put", $"{{\"key\":\"{B64("gw/a")}\",\"value\":\"{B64("1")}\"}}");
        await PostAsync("/v3/kv/put", $"{{\"key\":\"{B64("gw/a")}\",\"value\":\"{B64("2")}\"}}");
        var events = new List<JsonElement>();
        while (events.Count < 2)
        {
            JsonElement result = Json((await reader.ReadLineAsync().WaitAsync(s_wait))!).GetProperty("result");
            events.AddRange(result.GetProperty("events").EnumerateArray());
        }

        Assert.Equal(B64("1"), events[0].GetProperty("kv").GetProperty("value").GetString());
        Assert.False(events[0].TryGetProperty("type", out _), "PUT is the default enum value and is left out");
        Assert.Equal(B64("1"), events[1].GetProperty("prev_kv").GetProperty("value").GetString());
    }

    [Fact]
    public async Task GatewayKeepAlive_Lease_RenewsAsResultLine()
    {
        string id = (await PostAsync("/v3/lease/grant", "{\"TTL\":\"30\"}")).GetProperty("ID").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/lease/keepalive") { Content = new StringContent($"{{\"ID\":\"{id}\"}}") };
        using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        JsonElement result = Json((await reader.ReadLineAsync().WaitAsync(s_wait))!).GetProperty("result");
        Assert.Equal(id, result.GetProperty("ID").GetString());
        Assert.Equal("30", result.GetProperty("TTL").GetString());

        JsonElement ttl = await PostAsync("/v3/kv/lease/timetolive", $"{{\"ID\":\"{id}\"}}");
        Assert.Equal("30", ttl.GetProperty("grantedTTL").GetString());
    }

    [Fact]
    public async Task V2Wait_LongPoll_AnswersWithTheNextChange()
    {
        using HttpResponseMessage put = await _http.PutAsync(new Uri("/v2/keys/lp/k", UriKind.Relative), Form("value=1"));
        long index = long.Parse(put.Headers.GetValues("X-Etcd-Index").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Task<HttpResponseMessage> wait = _http.GetAsync(new Uri($"/v2/keys/lp/k?wait=true&waitIndex={index + 1}", UriKind.Relative));
        using HttpResponseMessage change = await _http.PutAsync(new Uri("/v2/keys/lp/k", UriKind.Relative), Form("value=2"));
        using HttpResponseMessage answer = await wait.WaitAsync(s_wait);
        JsonElement body = Json(await answer.Content.ReadAsStringAsync());
        Assert.Equal("set", body.GetProperty("action").GetString());
        Assert.Equal("2", body.GetProperty("node").GetProperty("value").GetString());
        Assert.Equal("1", body.GetProperty("prevNode").GetProperty("value").GetString());
    }

    [Fact]
    public async Task V2Stream_Recursive_DeliversEachChangeUntilTheClientLeaves()
    {
        using var cts = new CancellationTokenSource(s_wait);
        using HttpResponseMessage response = await _http.GetAsync(new Uri("/v2/keys/st?wait=true&recursive=true&stream=true", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        (await _http.PutAsync(new Uri("/v2/keys/st/a", UriKind.Relative), Form("value=1"))).Dispose();
        (await _http.PutAsync(new Uri("/v2/keys/st/b", UriKind.Relative), Form("value=2"))).Dispose();
        string? first = await reader.ReadLineAsync(cts.Token);
        string? second = await reader.ReadLineAsync(cts.Token);
        Assert.Equal("/st/a", Json(first!).GetProperty("node").GetProperty("key").GetString());
        Assert.Equal("/st/b", Json(second!).GetProperty("node").GetProperty("key").GetString());
    }

    [Fact]
    public async Task V2InOrderKeys_Post_CreatesTwentyDigitNames()
    {
        using HttpResponseMessage first = await _http.PostAsync(new Uri("/v2/keys/q", UriKind.Relative), Form("value=a"));
        using HttpResponseMessage second = await _http.PostAsync(new Uri("/v2/keys/q", UriKind.Relative), Form("value=b"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        string k1 = Json(await first.Content.ReadAsStringAsync()).GetProperty("node").GetProperty("key").GetString()!;
        string k2 = Json(await second.Content.ReadAsStringAsync()).GetProperty("node").GetProperty("key").GetString()!;
        Assert.Matches("^/q/[0-9]{20}$", k1);
        Assert.True(string.CompareOrdinal(k1, k2) < 0);
        JsonElement list = Json(await _http.GetStringAsync(new Uri("/v2/keys/q?sorted=true", UriKind.Relative)));
        Assert.Equal(["a", "b"], list.GetProperty("node").GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task V2MembersAndStats_EtcdsShapes()
    {
        JsonElement members = Json(await _http.GetStringAsync(new Uri("/v2/members", UriKind.Relative)));
        JsonElement member = Assert.Single(members.GetProperty("members").EnumerateArray());
        Assert.Equal("default", member.GetProperty("name").GetString());
        JsonElement self = Json(await _http.GetStringAsync(new Uri("/v2/stats/self", UriKind.Relative)));
        Assert.Equal(member.GetProperty("id").GetString(), self.GetProperty("id").GetString());
        Assert.Equal("StateLeader", self.GetProperty("state").GetString());
        JsonElement leader = Json(await _http.GetStringAsync(new Uri("/v2/stats/leader", UriKind.Relative)));
        Assert.Equal(member.GetProperty("id").GetString(), leader.GetProperty("leader").GetString());
        Assert.True(Json(await _http.GetStringAsync(new Uri("/v2/stats/store", UriKind.Relative))).TryGetProperty("watchers", out _));
    }

    private static StringContent Form(string form) => new(form, Encoding.UTF8, "application/x-www-form-urlencoded");
}
