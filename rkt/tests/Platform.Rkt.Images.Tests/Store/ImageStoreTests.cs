using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Store;

public sealed class ImageStoreTests
{
    [Fact]
    public async Task Fetch_GzipBzip2AndPlain_SameImageIdFromUncompressedTar()
    {
        using var fx = new StoreFixture(nameof(Fetch_GzipBzip2AndPlain_SameImageIdFromUncompressedTar));
        byte[] tar = new TestAci().File("rootfs/a", "a").ToTar();
        string expected = "sha512-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(tar));

        var plain = await fx.Fetcher().FetchAsync(fx.Write("p.aci", tar));
        var gzip = await fx.Fetcher().FetchAsync(fx.Write("g.aci", TestAci.Gzip(tar)));
        var bzip2 = await fx.Fetcher().FetchAsync(fx.Write("b.aci", TestAci.Bzip2(tar)));

        Assert.Equal(expected, plain.Digest);
        Assert.Equal(expected[..71], plain.Id);
        Assert.Equal(plain.Id, gzip.Id);
        Assert.Equal(plain.Id, bzip2.Id);
        Assert.Single(fx.Store.List());
    }

    [Fact]
    public async Task Find_ByIdPrefixNameAndVersion_Matches()
    {
        using var fx = new StoreFixture(nameof(Find_ByIdPrefixNameAndVersion_Matches));
        var one = await fx.Fetcher().FetchAsync(new TestAci("example.com/app", "1.0.0").WriteTo(fx.Directory.Combine("1.aci")));
        var two = await fx.Fetcher().FetchAsync(new TestAci("example.com/app", "2.0.0").WriteTo(fx.Directory.Combine("2.aci")));

        Assert.Equal(one.Id, Assert.Single(fx.Store.Find(one.Id[..20])).Id);
        Assert.Equal(one.Id, Assert.Single(fx.Store.Find(one.Digest)).Id);
        Assert.Equal(two.Id, Assert.Single(fx.Store.Find("example.com/app:2.0.0")).Id);
        Assert.Equal(2, fx.Store.Find("example.com/app").Count);
        Assert.Empty(fx.Store.Find("example.com/app:3.0.0"));
        Assert.Equal(one.Id, fx.Store.FindByName("example.com/app", new Dictionary<string, string> { ["version"] = "1.0.0", ["os"] = "linux" })!.Id);
    }

    [Fact]
    public async Task Remove_Image_DeletesRecordManifestAndUnsharedBlobs()
    {
        using var fx = new StoreFixture(nameof(Remove_Image_DeletesRecordManifestAndUnsharedBlobs));
        var image = await fx.Fetcher().FetchAsync(new TestAci().WriteTo(fx.Directory.Combine("a.aci")));

        Assert.True(fx.Store.Remove(image.Id));

        fx.AssertStoreEmptyAndNothingOutside();
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(fx.Store.Root, "imageManifest")));
        Assert.False(fx.Store.Remove(image.Id));
    }

    [Fact]
    public void Open_AfterKilledImport_SweepsStagingAndOrphanBlobsInvisible()
    {
        using var fx = new StoreFixture(nameof(Open_AfterKilledImport_SweepsStagingAndOrphanBlobsInvisible));
        // What a SIGKILL between "blob renamed" and "record written" leaves: a staging directory whose
        // owner is gone (no lock held) and a blob no record references.
        string staging = Path.Combine(fx.Store.Root, "tmp", "deadbeef");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "image.tar"), "half");
        File.WriteAllText(Path.Combine(fx.Store.Root, "blob", "sha512-" + new string('a', 64)), "orphan");

        var reopened = StoreFactory.OpenImageStore(fx.Options);

        Assert.False(Directory.Exists(staging));
        Assert.Empty(reopened.List());
        Assert.Equal(1, reopened.RemoveOrphanBlobs());
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public void Open_WhileAnotherImportStages_LeavesItsDirectory()
    {
        using var fx = new StoreFixture(nameof(Open_WhileAnotherImportStages_LeavesItsDirectory));
        using IImageImport import = fx.Store.BeginImport();

        _ = StoreFactory.OpenImageStore(fx.Options);

        Assert.True(Directory.Exists(import.TempDirectory));
    }

    [Fact]
    public async Task Fetch_SameImageConcurrently_OneRecord()
    {
        using var fx = new StoreFixture(nameof(Fetch_SameImageConcurrently_OneRecord));
        string aci = new TestAci().File("rootfs/big", new string('x', 1 << 20)).WriteTo(fx.Directory.Combine("a.aci"));

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => fx.Fetcher().FetchAsync(aci))));

        Assert.Single(results.Select(r => r.Id).Distinct());
        Assert.Single(fx.Store.List());
        Assert.Single(Directory.EnumerateFiles(Path.Combine(fx.Store.Root, "blob")));
    }

    [Fact]
    public async Task MarkUsed_UpdatesLastUsedOnly()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var fx = new StoreFixture(nameof(MarkUsed_UpdatesLastUsedOnly));
        var store = StoreFactory.OpenImageStore(fx.Options with { Time = time });
        var image = await FetcherFactory.Create(store, fx.Trust, new FetchOptions { Insecure = InsecureOptions.Image })
            .FetchAsync(new TestAci().WriteTo(fx.Directory.Combine("a.aci")));
        time.Advance(TimeSpan.FromHours(5));

        store.MarkUsed(image.Id);

        ImageInfo after = store.Get(image.Id)!;
        Assert.Equal(image.ImportTime, after.ImportTime);
        Assert.Equal(image.ImportTime + TimeSpan.FromHours(5), after.LastUsed);
    }

    [Fact]
    public async Task MarkUsed_WithinAMinute_RewritesNothing()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var fx = new StoreFixture(nameof(MarkUsed_WithinAMinute_RewritesNothing));
        var store = StoreFactory.OpenImageStore(fx.Options with { Time = time });
        var image = await FetcherFactory.Create(store, fx.Trust, new FetchOptions { Insecure = InsecureOptions.Image })
            .FetchAsync(new TestAci().WriteTo(fx.Directory.Combine("a.aci")));
        string record = Path.Combine(fx.Store.Root, "index", image.Id + ".json");
        File.SetLastWriteTimeUtc(record, new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        time.Advance(TimeSpan.FromSeconds(59));
        store.MarkUsed(image.Id);
        Assert.Equal(image.LastUsed, store.Get(image.Id)!.LastUsed);
        Assert.Equal(2000, File.GetLastWriteTimeUtc(record).Year); // not even rewritten

        time.Advance(TimeSpan.FromSeconds(2));
        store.MarkUsed(image.Id);
        Assert.Equal(image.LastUsed + TimeSpan.FromSeconds(61), store.Get(image.Id)!.LastUsed);
    }

    [Fact]
    public async Task Fetch_InvalidManifest_RejectedWithRule()
    {
        using var fx = new StoreFixture(nameof(Fetch_InvalidManifest_RejectedWithRule));
        string aci = new TestAci("Example.com/UPPER").WriteTo(fx.Directory.Combine("a.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("not a valid AC Identifier", error.Message, StringComparison.Ordinal);
    }
}
