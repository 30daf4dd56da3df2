using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Trees;

public sealed class TreeStoreTests
{
    [Fact]
    public async Task Render_WithDependencies_AppliesDepthFirstThenImageOverrides()
    {
        using var fx = new StoreFixture(nameof(Render_WithDependencies_AppliesDepthFirstThenImageOverrides));
        var fetcher = fx.Fetcher();
        await fetcher.FetchAsync(new TestAci("example.com/base", "1").File("rootfs/etc-base", "base").File("rootfs/shared", "from-base").WriteTo(fx.Directory.Combine("base.aci")));
        await fetcher.FetchAsync(new TestAci("example.com/mid", "1", ",\"dependencies\":[{\"imageName\":\"example.com/base\",\"labels\":[{\"name\":\"version\",\"value\":\"1\"}]}]")
            .File("rootfs/mid", "mid").File("rootfs/shared", "from-mid").WriteTo(fx.Directory.Combine("mid.aci")));
        var top = await fetcher.FetchAsync(new TestAci("example.com/top", "1", ",\"dependencies\":[{\"imageName\":\"example.com/mid\"}]")
            .File("rootfs/top", "top").WriteTo(fx.Directory.Combine("top.aci")));

        using var tree = fx.Trees.Render(top.Id);

        Assert.Equal("base", File.ReadAllText(Path.Combine(tree.RootfsPath, "etc-base")));
        Assert.Equal("from-mid", File.ReadAllText(Path.Combine(tree.RootfsPath, "shared")));
        Assert.Equal("top", File.ReadAllText(Path.Combine(tree.RootfsPath, "top")));
        Assert.Equal(3, tree.Info.Images.Count);
        Assert.Equal(top.Id, tree.Info.Images[^1]);
    }

    [Fact]
    public async Task Render_PathWhitelist_KeepsOnlyListedPathsAndTheirDirectories()
    {
        using var fx = new StoreFixture(nameof(Render_PathWhitelist_KeepsOnlyListedPathsAndTheirDirectories));
        var fetcher = fx.Fetcher();
        await fetcher.FetchAsync(new TestAci("example.com/base", "1").Directory("rootfs/bin").File("rootfs/bin/keep", "k").File("rootfs/bin/drop", "d").File("rootfs/junk", "j").WriteTo(fx.Directory.Combine("base.aci")));
        var top = await fetcher.FetchAsync(new TestAci("example.com/app", "1", ",\"dependencies\":[{\"imageName\":\"example.com/base\"}],\"pathWhitelist\":[\"/bin/keep\",\"/app\"]")
            .File("rootfs/app", "a").File("rootfs/extra", "e").WriteTo(fx.Directory.Combine("app.aci")));

        using var tree = fx.Trees.Render(top.Id);

        string[] files = Directory.EnumerateFileSystemEntries(tree.RootfsPath, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(tree.RootfsPath, p)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["app", "bin", "bin/keep"], files);
    }

    [Fact]
    public async Task Render_MissingDependency_ThrowsKeyNotFound()
    {
        using var fx = new StoreFixture(nameof(Render_MissingDependency_ThrowsKeyNotFound));
        string aci = new TestAci("example.com/app", "1", ",\"dependencies\":[{\"imageName\":\"example.com/absent\"}]").WriteTo(fx.Directory.Combine("a.aci"));

        // Dependencies are fetched through discovery; --pull-policy=never keeps this test off the network.
        var error = await Assert.ThrowsAsync<FetchException>(() => fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Image, PullPolicy = PullPolicy.Never }).FetchAsync(aci));
        Assert.Contains("example.com/absent", error.Message, StringComparison.Ordinal);
        var image = fx.Store.List().Single();
        Assert.Throws<KeyNotFoundException>(() => fx.Trees.Render(image.Id));
        Assert.Empty(fx.Trees.List());
    }

    [Fact]
    public async Task Render_Twice_SecondReusesTree()
    {
        using var fx = new StoreFixture(nameof(Render_Twice_SecondReusesTree));
        var image = await fx.Fetcher().FetchAsync(new TestAci().File("rootfs/a", "a").WriteTo(fx.Directory.Combine("a.aci")));
        string renderedAt;
        using (var first = fx.Trees.Render(image.Id))
        {
            renderedAt = File.ReadAllText(Path.Combine(first.TreePath, "rendered"));
        }

        using var second = fx.Trees.Render(image.Id);

        Assert.Equal(renderedAt, File.ReadAllText(Path.Combine(second.TreePath, "rendered")));
        Assert.Single(fx.Trees.List());
    }

    [Fact]
    public async Task TryRemove_WhileLeased_RefusesThenSucceeds()
    {
        using var fx = new StoreFixture(nameof(TryRemove_WhileLeased_RefusesThenSucceeds));
        var image = await fx.Fetcher().FetchAsync(new TestAci().WriteTo(fx.Directory.Combine("a.aci")));
        var lease = fx.Trees.Render(image.Id);

        Assert.False(fx.Trees.TryRemove(lease.Info.Id));
        Assert.True(Directory.Exists(lease.RootfsPath));

        lease.Dispose();
        Assert.True(fx.Trees.TryRemove(lease.Info.Id));
        Assert.Empty(fx.Trees.List());
    }

    [Fact]
    public async Task Verify_TamperedTree_ReportsDifference()
    {
        using var fx = new StoreFixture(nameof(Verify_TamperedTree_ReportsDifference));
        var image = await fx.Fetcher().FetchAsync(new TestAci().File("rootfs/a", "a").WriteTo(fx.Directory.Combine("a.aci")));
        string treeId;
        using (var tree = fx.Trees.Render(image.Id))
        {
            treeId = tree.Info.Id;
            Assert.Null(fx.Trees.Verify(treeId));
            File.WriteAllText(Path.Combine(tree.RootfsPath, "a"), "b");
        }

        Assert.Contains("was modified", fx.Trees.Verify(treeId), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_HardLinkInImage_LinkedInsideTree()
    {
        using var fx = new StoreFixture(nameof(Render_HardLinkInImage_LinkedInsideTree));
        var image = await fx.Fetcher().FetchAsync(new TestAci().File("rootfs/a", "data").HardLink("rootfs/b", "rootfs/a").WriteTo(fx.Directory.Combine("a.aci")));

        using var tree = fx.Trees.Render(image.Id);

        Assert.Equal("data", File.ReadAllText(Path.Combine(tree.RootfsPath, "b")));
    }
}
