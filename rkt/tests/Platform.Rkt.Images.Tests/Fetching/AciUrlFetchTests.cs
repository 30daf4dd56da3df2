using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Fetching;

public sealed class AciUrlFetchTests
{
    private static readonly FetchOptions s_insecureHttp = new() { Insecure = InsecureOptions.Http };

    [Fact]
    public async Task Fetch_HttpUrlWithSignature_VerifiesAndRecordsRemote()
    {
        using var fx = new StoreFixture(nameof(Fetch_HttpUrlWithSignature_VerifiesAndRecordsRemote));
        using var server = new LoopbackServer();
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), "example.com/app");
        byte[] aci = TestAci.Gzip(new TestAci("example.com/app").ToTar());
        server.Serve("/app.aci", aci);
        server.Serve("/app.aci.asc", key.Sign(aci));

        var image = await fx.Fetcher(s_insecureHttp).FetchAsync(server.BaseUrl + "/app.aci");

        Assert.Equal(image.Id, fx.Store.GetRemote(server.BaseUrl + "/app.aci")!.ImageId);
        Assert.Contains("/app.aci.asc", server.Requests);
    }

    [Fact]
    public async Task Fetch_PlainHttpWithoutInsecureHttp_Refused()
    {
        using var fx = new StoreFixture(nameof(Fetch_PlainHttpWithoutInsecureHttp_Refused));
        using var server = new LoopbackServer();
        server.Serve("/app.aci", TestAci.Gzip(new TestAci().ToTar()));

        var error = await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Image }).FetchAsync(server.BaseUrl + "/app.aci"));

        Assert.Contains("--insecure-options=http", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Fetch_PullPolicies_NewReusesNeverLooksUpdateRevalidates()
    {
        using var fx = new StoreFixture(nameof(Fetch_PullPolicies_NewReusesNeverLooksUpdateRevalidates));
        using var server = new LoopbackServer();
        server.Serve("/app.aci", TestAci.Gzip(new TestAci().ToTar()));
        string url = server.BaseUrl + "/app.aci";
        var insecure = InsecureOptions.Http | InsecureOptions.Image;

        await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(new FetchOptions { Insecure = insecure, PullPolicy = PullPolicy.Never }).FetchAsync(url));
        var first = await fx.Fetcher(new FetchOptions { Insecure = insecure, PullPolicy = PullPolicy.New }).FetchAsync(url);
        int afterFirst = server.Requests.Count;
        var again = await fx.Fetcher(new FetchOptions { Insecure = insecure, PullPolicy = PullPolicy.New }).FetchAsync(url);
        Assert.Equal(afterFirst, server.Requests.Count);
        var never = await fx.Fetcher(new FetchOptions { Insecure = insecure, PullPolicy = PullPolicy.Never }).FetchAsync(url);
        var updated = await fx.Fetcher(new FetchOptions { Insecure = insecure, PullPolicy = PullPolicy.Update }).FetchAsync(url);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Id, never.Id);
        Assert.Equal(first.Id, updated.Id);
        Assert.Equal(afterFirst + 1, server.Requests.Count); // update: one conditional GET answered 304
    }

    [Fact]
    public async Task Fetch_Redirect_Followed()
    {
        using var fx = new StoreFixture(nameof(Fetch_Redirect_Followed));
        using var server = new LoopbackServer();
        server.Serve("/real.aci", TestAci.Gzip(new TestAci().ToTar()));
        server.Route("/moved.aci", (_, response) =>
        {
            response.StatusCode = 302;
            response.RedirectLocation = server.BaseUrl + "/real.aci";
            return Task.CompletedTask;
        });

        var image = await fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Http | InsecureOptions.Image }).FetchAsync(server.BaseUrl + "/moved.aci");

        Assert.Equal("example.com/test", image.Name);
    }

    [Fact]
    public async Task Fetch_NotFound_FetchExceptionWithStatus()
    {
        using var fx = new StoreFixture(nameof(Fetch_NotFound_FetchExceptionWithStatus));
        using var server = new LoopbackServer();

        var error = await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Http | InsecureOptions.Image }).FetchAsync(server.BaseUrl + "/none.aci"));

        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }
}
