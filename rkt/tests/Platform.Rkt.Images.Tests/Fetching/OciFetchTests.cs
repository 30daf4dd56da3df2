using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Tests.Support;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Images.Tests.Fetching;

public sealed class OciFetchTests
{
    private static readonly byte[] s_base = TestOciImage.Layer(("etc", null), ("etc/passwd", "root:x:0:0"), ("etc/old", "old"), ("var", null), ("var/cache", null), ("var/cache/a", "a"), ("var/cache/b", "b"));
    private static readonly byte[] s_top = TestOciImage.Layer(("etc", null), ("etc/.wh.old", string.Empty), ("var/cache", null), ("var/cache/.wh..wh..opq", string.Empty), ("var/cache/c", "c"), ("app", "app"));

    [Fact]
    public async Task Fetch_OciLayout_KeepsSha256AndRendersWhiteouts()
    {
        using var fx = new StoreFixture(nameof(Fetch_OciLayout_KeepsSha256AndRendersWhiteouts));
        var oci = new TestOciImage([s_base, s_top]);
        string layout = oci.WriteLayout(fx.Directory.Combine("layout"), "1.0");

        ImageInfo image = await fx.Fetcher().FetchAsync("oci:" + layout + ":1.0");
        using var tree = fx.Trees.Render(image.Id);

        Assert.Equal(oci.ManifestDigest.Replace(':', '-'), image.Id);
        Assert.Equal(ImageFormat.Oci, image.Format);
        Assert.Equal("1.0", image.Labels["version"]);
        Assert.True(File.Exists(Path.Combine(tree.RootfsPath, "etc", "passwd")));
        Assert.False(File.Exists(Path.Combine(tree.RootfsPath, "etc", "old")));
        Assert.Equal(["c"], Directory.EnumerateFileSystemEntries(Path.Combine(tree.RootfsPath, "var", "cache")).Select(Path.GetFileName));
        Assert.Equal("app", File.ReadAllText(Path.Combine(tree.RootfsPath, "app")));
        ImageManifest manifest = fx.Store.GetManifest(image.Id);
        Assert.Equal(["/bin/sh"], manifest.App!.Exec);
        Assert.Equal("80-tcp", Assert.Single(manifest.App.Ports!).Name);
    }

    [Fact]
    public async Task Fetch_OciArchive_SameImageAsLayout()
    {
        using var fx = new StoreFixture(nameof(Fetch_OciArchive_SameImageAsLayout));
        var oci = new TestOciImage([s_base]);
        string layout = oci.WriteLayout(fx.Directory.Combine("layout"));
        string archive = fx.Write("image.tar", TestOciImage.TarDirectory(layout));

        ImageInfo image = await fx.Fetcher().FetchAsync("oci-archive:" + archive);

        Assert.Equal(oci.ManifestDigest.Replace(':', '-'), image.Id);
        Assert.Equal("image", image.Name);
    }

    [Fact]
    public async Task Fetch_OciWithoutInsecureImage_Refused()
    {
        using var fx = new StoreFixture(nameof(Fetch_OciWithoutInsecureImage_Refused));
        string layout = new TestOciImage([s_base]).WriteLayout(fx.Directory.Combine("layout"));

        await Assert.ThrowsAsync<SignatureException>(() => fx.Fetcher(new FetchOptions()).FetchAsync("oci:" + layout));
    }

    [Fact]
    public async Task Fetch_LayerNotMatchingDiffId_RejectedAndNothingStored()
    {
        using var fx = new StoreFixture(nameof(Fetch_LayerNotMatchingDiffId_RejectedAndNothingStored));
        string layout = new TestOciImage([s_base], tamperDiffId: true).WriteLayout(fx.Directory.Combine("layout"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync("oci:" + layout));

        Assert.Contains("diff ID", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_BlobNotMatchingDigest_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_BlobNotMatchingDigest_Rejected));
        var oci = new TestOciImage([s_base]);
        string layout = oci.WriteLayout(fx.Directory.Combine("layout"));
        File.WriteAllText(Path.Combine(layout, "blobs", "sha256", oci.Layers[0].Digest[7..]), "corrupt");

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync("oci:" + layout));

        Assert.Contains("does not match its digest", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_LayerWithDotDot_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_LayerWithDotDot_Rejected));
        string layout = new TestOciImage([TestOciImage.Layer(("../../outside/x", "x"))]).WriteLayout(fx.Directory.Combine("layout"));

        await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync("oci:" + layout));

        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_DockerArchive_ConfigDigestIdAndDockerName()
    {
        using var fx = new StoreFixture(nameof(Fetch_DockerArchive_ConfigDigestIdAndDockerName));
        string archive = fx.Write("bb.tar", TestOciImage.DockerArchive([s_base, s_top], "busybox:1.36"));

        ImageInfo image = await fx.Fetcher().FetchAsync("docker-archive:" + archive);
        using var tree = fx.Trees.Render(image.Id);

        Assert.Equal("registry-1.docker.io/library/busybox", image.Name);
        Assert.Equal("1.36", image.Labels["version"]);
        Assert.StartsWith("sha256-", image.Id, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(tree.RootfsPath, "etc", "old")));
        ImageManifest manifest = fx.Store.GetManifest(image.Id);
        Assert.Equal("1000", manifest.App!.User);
        Assert.Single(fx.Store.Find("registry-1.docker.io/library/busybox:1.36"));
    }

    [Fact]
    public async Task Fetch_TwoImagesSharingLayer_StoresLayerOnceAndRemoveKeepsShared()
    {
        using var fx = new StoreFixture(nameof(Fetch_TwoImagesSharingLayer_StoresLayerOnceAndRemoveKeepsShared));
        ImageInfo one = await fx.Fetcher().FetchAsync("oci:" + new TestOciImage([s_base]).WriteLayout(fx.Directory.Combine("one")));
        ImageInfo two = await fx.Fetcher().FetchAsync("oci:" + new TestOciImage([s_base, s_top]).WriteLayout(fx.Directory.Combine("two")));
        Assert.Equal(one.Layers[0], two.Layers[0]);

        fx.Store.Remove(one.Id);

        Assert.True(File.Exists(fx.Store.BlobPath(two.Layers[0])));
        using var tree = fx.Trees.Render(two.Id);
        Assert.True(File.Exists(Path.Combine(tree.RootfsPath, "app")));
    }
}
