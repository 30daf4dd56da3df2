using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Fetching.Sources.Discovery;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Fetching;

public sealed class DiscoveryTests
{
    [Fact]
    public async Task Fetch_AppcName_DiscoversTemplateFetchesAndVerifies()
    {
        using var fx = new StoreFixture(nameof(Fetch_AppcName_DiscoversTemplateFetchesAndVerifies));
        using var server = new LoopbackServer();
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), "127.0.0.1/app");
        byte[] aci = TestAci.Gzip(new TestAci("127.0.0.1/app", "1.0.0").ToTar());
        server.Serve("/app", Page($"127.0.0.1/app {server.BaseUrl}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}"), "text/html");
        server.Serve("/images/127.0.0.1/app-1.0.0-linux-amd64.aci", aci);
        server.Serve("/images/127.0.0.1/app-1.0.0-linux-amd64.aci.asc", key.Sign(aci));

        var image = await fx.Fetcher(Options(server, InsecureOptions.Http)).FetchAsync("127.0.0.1/app:1.0.0");

        Assert.Equal("127.0.0.1/app", image.Name);
        Assert.Contains("/app?ac-discovery=1", server.Requests);
    }

    [Fact]
    public async Task Fetch_NoMetaAtFullPath_FallsBackToParentPath()
    {
        using var fx = new StoreFixture(nameof(Fetch_NoMetaAtFullPath_FallsBackToParentPath));
        using var server = new LoopbackServer();
        server.Serve("/org", Page($"127.0.0.1/org {server.BaseUrl}/{{name}}.{{ext}}"), "text/html");
        server.Serve("/127.0.0.1/org/app.aci", TestAci.Gzip(new TestAci("127.0.0.1/org/app", null).ToTar()));

        var image = await fx.Fetcher(Options(server, InsecureOptions.Http | InsecureOptions.Image)).FetchAsync("127.0.0.1/org/app");

        Assert.Equal("127.0.0.1/org/app", image.Name);
        Assert.Equal(["/org/app?ac-discovery=1", "/org?ac-discovery=1"], server.Requests.Where(r => r.Contains("ac-discovery", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Discover_Redirect_Followed()
    {
        using var server = new LoopbackServer();
        server.Route("/app", (_, response) =>
        {
            response.StatusCode = 301;
            response.RedirectLocation = server.BaseUrl + "/meta.html";
            return Task.CompletedTask;
        });
        server.Serve("/meta.html", Page($"127.0.0.1/app {server.BaseUrl}/{{name}}.{{ext}}"), "text/html");
        using var http = new HttpClient();

        DiscoveryResult result = await AppcDiscovery.DiscoverAsync(AppReference.Parse("127.0.0.1/app"), http, InsecureOptions.Http, server.Port, publicKeysOnly: false, CancellationToken.None);

        Assert.Equal($"{server.BaseUrl}/127.0.0.1/app.aci", Assert.Single(result.AciEndpoints).Aci.ToString());
    }

    [Fact]
    public async Task Fetch_ManifestNameDiffersFromRequest_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_ManifestNameDiffersFromRequest_Rejected));
        using var server = new LoopbackServer();
        server.Serve("/app", Page($"127.0.0.1/app {server.BaseUrl}/{{name}}.{{ext}}"), "text/html");
        server.Serve("/127.0.0.1/app.aci", TestAci.Gzip(new TestAci("127.0.0.1/impostor", null).ToTar()));

        var error = await Assert.ThrowsAsync<Appc.InvalidImageException>(() => fx.Fetcher(Options(server, InsecureOptions.Http | InsecureOptions.Image)).FetchAsync("127.0.0.1/app"));

        Assert.Contains("not the requested", error.Message, StringComparison.Ordinal);
        Assert.Empty(fx.Store.List());
    }

    [Fact]
    public async Task Fetch_TrustKeysFromHttpsOverPlainHttp_DoesNotTrust()
    {
        using var fx = new StoreFixture(nameof(Fetch_TrustKeysFromHttpsOverPlainHttp_DoesNotTrust));
        using var server = new LoopbackServer();
        var key = TestKey.Generate();
        byte[] aci = TestAci.Gzip(new TestAci("127.0.0.1/app", null).ToTar());
        server.Serve("/app", Page($"127.0.0.1/app {server.BaseUrl}/{{name}}.{{ext}}", $"127.0.0.1/app {server.BaseUrl}/pubkeys.gpg"), "text/html");
        server.Serve("/127.0.0.1/app.aci", aci);
        server.Serve("/127.0.0.1/app.aci.asc", key.Sign(aci));
        server.Serve("/pubkeys.gpg", key.ArmoredPublicKey());

        await Assert.ThrowsAsync<Platform.Rkt.Images.Trust.SignatureException>(() => fx.Fetcher(Options(server, InsecureOptions.Http) with { TrustKeysFromHttps = true }).FetchAsync("127.0.0.1/app"));

        Assert.Empty(fx.Trust.List(null, all: true));
    }

    [Fact]
    public void Render_TemplateWithUnknownVariable_Skipped()
    {
        var app = AppReference.Parse("example.com/app:1.0,os=linux");

        Assert.Equal("https://example.com/example.com/app-1.0-linux.aci", AppcDiscovery.Render("https://example.com/{name}-{version}-{os}.{ext}", app, "aci"));
        Assert.Null(AppcDiscovery.Render("https://example.com/{name}-{arch}.{ext}", app, "aci"));
    }

    [Fact]
    public void ParseMeta_SingleQuotesAndEntities_Parsed()
    {
        var (templates, keys) = AppcDiscovery.ParseMeta("<html><head><meta name='ac-discovery' content='example.com https://example.com/{name}.{ext}?a=1&amp;b=2'>\n<META content=\"example.com https://example.com/keys\" name=\"ac-discovery-pubkeys\"/></head></html>");

        Assert.Equal(("example.com", "https://example.com/{name}.{ext}?a=1&b=2"), Assert.Single(templates));
        Assert.Equal(("example.com", "https://example.com/keys"), Assert.Single(keys));
    }

    internal static byte[] Page(string discovery, string? pubkeys = null) => System.Text.Encoding.UTF8.GetBytes(
        $"<html><head><meta name=\"ac-discovery\" content=\"{discovery}\">{(pubkeys is null ? string.Empty : $"<meta name=\"ac-discovery-pubkeys\" content=\"{pubkeys}\">")}</head></html>");

    private static FetchOptions Options(LoopbackServer server, InsecureOptions insecure) => new() { Insecure = insecure, DiscoveryPort = server.Port };
}
