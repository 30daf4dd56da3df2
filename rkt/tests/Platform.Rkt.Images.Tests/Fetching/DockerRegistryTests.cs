using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Config;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Fetching;

public sealed class DockerRegistryTests
{
    private static readonly byte[] s_layer = TestOciImage.Layer(("bin", null), ("bin/hello", "hello"));

    [Fact]
    public async Task Fetch_WithBearerToken_PullsVerifiesAndStoresByManifestDigest()
    {
        using var fx = new StoreFixture(nameof(Fetch_WithBearerToken_PullsVerifiesAndStoresByManifestDigest));
        using var registry = new TestRegistry();
        var image = new TestOciImage([s_layer]);
        registry.Push("test/hello", "1.0", image);

        ImageInfo info = await fx.Fetcher(Insecure()).FetchAsync($"docker://{registry.Host}/test/hello:1.0");
        using var tree = fx.Trees.Render(info.Id);

        Assert.Equal(image.ManifestDigest.Replace(':', '-'), info.Id);
        Assert.Equal("1.0", info.Labels["version"]);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(tree.RootfsPath, "bin", "hello")));
        Assert.Contains("repository:test/hello:pull", registry.TokenScopes);
    }

    [Fact]
    public async Task Fetch_TokenRealmNeedsCredentials_UsesAuthDDockerAuth()
    {
        using var fx = new StoreFixture(nameof(Fetch_TokenRealmNeedsCredentials_UsesAuthDDockerAuth));
        using var registry = new TestRegistry { RequireCredentials = true };
        registry.Push("test/hello", "1.0", new TestOciImage([s_layer]));
        string authDir = Path.Combine(fx.Config.LocalConfig, "auth.d");
        Directory.CreateDirectory(authDir);

        await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(Insecure()).FetchAsync($"docker://{registry.Host}/test/hello:1.0"));

        File.WriteAllText(Path.Combine(authDir, "registry.json"), $"{{\"rktKind\":\"dockerAuth\",\"rktVersion\":\"v1\",\"registries\":[\"{registry.Host}\"],\"credentials\":{{\"user\":\"user\",\"password\":\"secret\"}}}}");
        var options = Insecure() with { Auth = AuthConfig.Load(fx.Config.InPrecedenceOrder()) };
        ImageInfo info = await fx.Fetcher(options).FetchAsync($"docker://{registry.Host}/test/hello:1.0");
        Assert.Equal(ImageFormat.Oci, info.Format);
    }

    [Fact]
    public async Task Fetch_PullPolicyNewThenUpdate_ReusesWithoutBlobDownloads()
    {
        using var fx = new StoreFixture(nameof(Fetch_PullPolicyNewThenUpdate_ReusesWithoutBlobDownloads));
        using var registry = new TestRegistry();
        registry.Push("test/hello", "1.0", new TestOciImage([s_layer]));
        string image = $"docker://{registry.Host}/test/hello:1.0";
        ImageInfo first = await fx.Fetcher(Insecure()).FetchAsync(image);
        int requests = registry.Requests.Count;

        ImageInfo again = await fx.Fetcher(Insecure()).FetchAsync(image);
        Assert.Equal(requests, registry.Requests.Count);
        ImageInfo updated = await fx.Fetcher(Insecure() with { PullPolicy = PullPolicy.Update }).FetchAsync(image);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Id, updated.Id);
        Assert.DoesNotContain(registry.Requests.Skip(requests), r => r.Contains("/blobs/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fetch_ByDigest_Works()
    {
        using var fx = new StoreFixture(nameof(Fetch_ByDigest_Works));
        using var registry = new TestRegistry();
        var image = new TestOciImage([s_layer]);
        registry.Push("test/hello", "1.0", image);

        ImageInfo info = await fx.Fetcher(Insecure()).FetchAsync($"docker://{registry.Host}/test/hello@{image.ManifestDigest}");

        Assert.Equal(image.ManifestDigest, info.Digest.Replace("sha256-", "sha256:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fetch_TamperedBlob_RejectedNothingStored()
    {
        using var fx = new StoreFixture(nameof(Fetch_TamperedBlob_RejectedNothingStored));
        using var registry = new TestRegistry();
        var image = new TestOciImage([s_layer]);
        image.Layers[0] = (image.Layers[0].Digest, TestAci.Gzip(TestOciImage.Layer(("evil", "x"))));
        registry.Push("test/hello", "1.0", image);

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher(Insecure()).FetchAsync($"docker://{registry.Host}/test/hello:1.0"));

        Assert.Contains("does not match its digest", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_HttpsDefault_RefusesPlainHttpRegistryWithoutOption()
    {
        using var fx = new StoreFixture(nameof(Fetch_HttpsDefault_RefusesPlainHttpRegistryWithoutOption));
        using var registry = new TestRegistry();
        registry.Push("test/hello", "1.0", new TestOciImage([s_layer]));

        // Without --insecure-options=http the client speaks TLS to a plain HTTP port and fails.
        await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Image }).FetchAsync($"docker://{registry.Host}/test/hello:1.0"));
        Assert.Empty(fx.Store.List());
    }

    [Fact]
    public void ParseChallenge_QuotedCommas_Split()
    {
        var parameters = Platform.Rkt.Images.Fetching.Sources.DockerRegistry.RegistryClient.ParseChallenge("realm=\"https://auth.example/token\",service=\"registry\",scope=\"repository:a/b:pull,push\"");

        Assert.Equal("https://auth.example/token", parameters["realm"]);
        Assert.Equal("repository:a/b:pull,push", parameters["scope"]);
    }

    [Fact]
    public void DockerReference_Normalises_LikeDocker()
    {
        var hub = Platform.Rkt.Images.Oci.DockerReference.Parse("busybox");
        var local = Platform.Rkt.Images.Oci.DockerReference.Parse("localhost:5000/team/app:v2");

        Assert.Equal(("registry-1.docker.io", "library/busybox", "latest"), (hub.Registry, hub.Repository, hub.Tag));
        Assert.Equal(("localhost:5000", "team/app", "v2"), (local.Registry, local.Repository, local.Tag));
        Assert.Equal("registry-1.docker.io/library/busybox", hub.AppcName);
    }

    private static FetchOptions Insecure() => new() { Insecure = InsecureOptions.Image | InsecureOptions.Http };
}
