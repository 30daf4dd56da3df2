using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Platform.Testing;

namespace Platform.Rkt.Metadata.Tests;

public sealed class MetadataServiceTests : IAsyncLifetime, IDisposable
{
    private const string PodManifest = """
        {"acKind":"PodManifest","acVersion":"0.8.11",
         "apps":[{"name":"web","image":{"name":"example.com/web","id":"sha512-0123abcd"},
                  "annotations":[{"name":"role","value":"frontend"},{"name":"shared","value":"from-pod"}]}],
         "annotations":[{"name":"ip-address","value":"10.1.2.3"},{"name":"example.com/owner","value":"team"}]}
        """;

    private const string ImageManifest = """
        {"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/web",
         "annotations":[{"name":"shared","value":"from-image"},{"name":"authors","value":"us"}]}
        """;

    private readonly TestDirectory _dir = TestDirectory.Create("mds");
    private readonly HttpClient _http = new();
    private IMetadataService _service = null!;
    private MetadataRegistrationClient _client = null!;
    private readonly Guid _uuid = Guid.NewGuid();
    private readonly string _token = MetadataRegistrationClient.NewToken();

    private string Socket => _dir.Combine("mds.sock");

    private string BaseUrl => MetadataRegistrationClient.MetadataUrl("127.0.0.1", _service.Port, _token) + "/acMetadata/v1";

    public async Task InitializeAsync()
    {
        _service = await MetadataServices.StartAsync(new MetadataServiceOptions { ListenPort = FreePorts.Next(), ListenAddress = IPAddress.Loopback, RegistrationSocket = Socket }, CancellationToken.None);
        _client = new MetadataRegistrationClient(Socket);
        await _client.RegisterPodAsync(_uuid, _token, Encoding.UTF8.GetBytes(PodManifest), IPAddress.Loopback, CancellationToken.None);
        await _client.RegisterAppAsync(_uuid, "web", Encoding.UTF8.GetBytes(ImageManifest), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _dir.Dispose();
    }

    public void Dispose()
    {
        _client.Dispose();
        _http.Dispose();
    }

    [Fact]
    public async Task Pod_UuidManifestAnnotations_ServedWithSpecContentTypes()
    {
        using HttpResponseMessage uuid = await _http.GetAsync(new Uri(BaseUrl + "/pod/uuid"));
        Assert.Equal(HttpStatusCode.OK, uuid.StatusCode);
        Assert.Equal("text/plain; charset=us-ascii", uuid.Content.Headers.ContentType!.ToString());
        Assert.Equal(_uuid.ToString(), await uuid.Content.ReadAsStringAsync());

        using HttpResponseMessage manifest = await _http.GetAsync(new Uri(BaseUrl + "/pod/manifest"));
        Assert.Equal("application/json", manifest.Content.Headers.ContentType!.MediaType);
        Assert.Equal("web", (string?)JsonNode.Parse(await manifest.Content.ReadAsStringAsync())!["apps"]![0]!["name"]);

        var annotations = JsonNode.Parse(await _http.GetStringAsync(new Uri(BaseUrl + "/pod/annotations")))!.AsArray();
        Assert.Equal(["ip-address", "example.com/owner"], annotations.Select(a => (string?)a!["name"]));
        Assert.Equal("team", await _http.GetStringAsync(new Uri(BaseUrl + "/pod/annotations/example.com/owner")));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(BaseUrl + "/pod/annotations/nope"))).StatusCode);
    }

    [Fact]
    public async Task App_AnnotationsMergedPodOverImage_ImageManifestAndId()
    {
        var merged = JsonNode.Parse(await _http.GetStringAsync(new Uri(BaseUrl + "/apps/web/annotations")))!.AsArray();
        Assert.Equal(["shared=from-pod", "authors=us", "role=frontend"], merged.Select(a => $"{a!["name"]}={a["value"]}"));
        Assert.Equal("from-pod", await _http.GetStringAsync(new Uri(BaseUrl + "/apps/web/annotations/shared")));
        Assert.Equal("example.com/web", (string?)JsonNode.Parse(await _http.GetStringAsync(new Uri(BaseUrl + "/apps/web/image/manifest")))!["name"]);
        Assert.Equal("sha512-0123abcd", await _http.GetStringAsync(new Uri(BaseUrl + "/apps/web/image/id")));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(BaseUrl + "/apps/db/image/id"))).StatusCode);
    }

    [Fact]
    public async Task UnknownToken_Unauthorized()
    {
        string url = MetadataRegistrationClient.MetadataUrl("127.0.0.1", _service.Port, MetadataRegistrationClient.NewToken()) + "/acMetadata/v1/pod/uuid";
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync(new Uri(url))).StatusCode);
    }

    [Fact]
    public async Task Hmac_SignThenVerify_OnlyForSameUuidAndContent()
    {
        using HttpResponseMessage signed = await _http.PostAsync(new Uri(BaseUrl + "/pod/hmac/sign"), Form(("content", "hello world")));
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        string signature = await signed.Content.ReadAsStringAsync();
        Assert.Equal(64, Convert.FromBase64String(signature).Length); // HMAC-SHA512

        Assert.Equal(HttpStatusCode.OK, await Verify(_uuid.ToString(), "hello world", signature));
        Assert.Equal(HttpStatusCode.Forbidden, await Verify(Guid.NewGuid().ToString(), "hello world", signature));
        Assert.Equal(HttpStatusCode.Forbidden, await Verify(_uuid.ToString(), "hello world!", signature));
        Assert.Equal(HttpStatusCode.BadRequest, await Verify(_uuid.ToString(), "hello world", "%%%"));
        Assert.Equal(HttpStatusCode.BadRequest, await Verify("not-a-uuid", "hello world", signature));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync(new Uri(BaseUrl + "/pod/hmac/sign"), Form(("other", "x")))).StatusCode);
    }

    [Fact]
    public async Task NoToken_RequesterIpAndFlavorHeader()
    {
        string url = $"http://127.0.0.1:{_service.Port}/acMetadata/v1/pod/uuid";
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync(new Uri(url))).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
        request.Headers.Add("Metadata-Flavor", "AppContainer");
        using HttpResponseMessage response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_uuid.ToString(), await response.Content.ReadAsStringAsync());
        Assert.Equal("AppContainer", response.Headers.GetValues("Metadata-Flavor").Single());
    }

    [Fact]
    public async Task Unregister_PodGone_Idempotent()
    {
        await _client.UnregisterPodAsync(_uuid, CancellationToken.None);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync(new Uri(BaseUrl + "/pod/uuid"))).StatusCode);
        await _client.UnregisterPodAsync(_uuid, CancellationToken.None);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => _client.RegisterAppAsync(_uuid, "web", Encoding.UTF8.GetBytes(ImageManifest), CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Register_BadManifest_RejectedAndNothingRegistered()
    {
        var other = Guid.NewGuid();
        string token = MetadataRegistrationClient.NewToken();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => _client.RegisterPodAsync(other, token, Encoding.UTF8.GetBytes("{\"acKind\":"), null, CancellationToken.None));
        Assert.Contains("JSON-decoding failed", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<HttpRequestException>(() => _client.RegisterPodAsync(other, token, Encoding.UTF8.GetBytes(ImageManifest), null, CancellationToken.None));
        Assert.Contains("expected \"PodManifest\"", e.Message, StringComparison.Ordinal);
        string url = MetadataRegistrationClient.MetadataUrl("127.0.0.1", _service.Port, token) + "/acMetadata/v1/pod/uuid";
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync(new Uri(url))).StatusCode);
    }

    [Fact]
    public async Task Registration_NotReachableOverTcp()
    {
        using var content = new StringContent(PodManifest);
        using HttpResponseMessage response = await _http.PutAsync(new Uri($"http://127.0.0.1:{_service.Port}/pods/{Guid.NewGuid()}?token=abc"), content);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Start_SocketOfLiveService_Refused_StaleSocket_Replaced()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => MetadataServices.StartAsync(new MetadataServiceOptions { ListenPort = 0, ListenAddress = IPAddress.Loopback, RegistrationSocket = Socket }, CancellationToken.None));
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);

        string stale = _dir.Combine("stale.sock");
        using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            listener.Bind(new UnixDomainSocketEndPoint(stale));
        }

        await using IMetadataService second = await MetadataServices.StartAsync(new MetadataServiceOptions { ListenPort = 0, ListenAddress = IPAddress.Loopback, RegistrationSocket = stale }, CancellationToken.None);
        using var client = new MetadataRegistrationClient(stale);
        await client.RegisterPodAsync(Guid.NewGuid(), "t0k3n", Encoding.UTF8.GetBytes(PodManifest), null, CancellationToken.None);
    }

    private async Task<HttpStatusCode> Verify(string uuid, string content, string signature)
    {
        using HttpResponseMessage response = await _http.PostAsync(new Uri(BaseUrl + "/pod/hmac/verify"), Form(("uuid", uuid), ("content", content), ("signature", signature)));
        return response.StatusCode;
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
}
