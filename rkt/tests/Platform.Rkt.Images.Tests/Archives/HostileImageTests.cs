using System.Formats.Tar;
using System.Text;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Tests.Support;

namespace Platform.Rkt.Images.Tests.Archives;

/// <summary>
/// The security rules of issue 6: each hostile tar is refused with a message naming the problem,
/// nothing is written outside the store, and the store is left empty and consistent.
/// </summary>
public sealed class HostileImageTests
{
    [Fact]
    public async Task Fetch_EntryWithDotDot_RejectedNothingWritten()
    {
        using var fx = new StoreFixture(nameof(Fetch_EntryWithDotDot_RejectedNothingWritten));
        string aci = new TestAci().File("rootfs/../../outside/pwned", "x").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("\"..\"", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_AbsolutePath_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_AbsolutePath_Rejected));
        string aci = new TestAci().File(fx.Outside + "/pwned", "x").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("absolute path", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_SymlinkEscapingRoot_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_SymlinkEscapingRoot_Rejected));
        string aci = new TestAci().Directory("rootfs/etc").Symlink("rootfs/etc/escape", "../../../outside").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("points outside the root", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_HardlinkOutsideRootfs_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_HardlinkOutsideRootfs_Rejected));
        string aci = new TestAci().HardLink("rootfs/passwd", "/etc/passwd").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("absolute path", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_HardlinkToManifest_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_HardlinkToManifest_Rejected));
        string aci = new TestAci().HardLink("rootfs/m", "manifest").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("inside rootfs/", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Theory]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    public async Task Fetch_DeviceNode_Rejected(TarEntryType type)
    {
        using var fx = new StoreFixture(nameof(Fetch_DeviceNode_Rejected));
        var device = new PaxTarEntry(type, "rootfs/sda") { DeviceMajor = 8, DeviceMinor = 0, Mode = (UnixFileMode)0b110_110_000 };
        string aci = new TestAci().Entry(device).WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("device node", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_SetuidFileWhenNotAllowed_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_SetuidFileWhenNotAllowed_Rejected), new ExtractionPolicy { AllowSetuid = false });
        string aci = new TestAci().File("rootfs/su", "#!/bin/sh", (UnixFileMode)0b100_111_101_101).WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("setuid", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_SetuidDirectory_RejectedEvenWhenSetuidAllowed()
    {
        using var fx = new StoreFixture(nameof(Fetch_SetuidDirectory_RejectedEvenWhenSetuidAllowed), new ExtractionPolicy { AllowSetuid = true });
        string aci = new TestAci().Directory("rootfs/d", (UnixFileMode)0b100_111_101_101).WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("directory with the setuid bit", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Render_SetuidFileWhenAllowed_KeepsTheBit()
    {
        using var fx = new StoreFixture(nameof(Render_SetuidFileWhenAllowed_KeepsTheBit), new ExtractionPolicy { AllowSetuid = true });
        string aci = new TestAci().File("rootfs/su", "#!/bin/sh", (UnixFileMode)0b100_111_101_101).WriteTo(fx.Directory.Combine("ok.aci"));
        var image = await fx.Fetcher().FetchAsync(aci);

        using var tree = fx.Trees.Render(image.Id);

        Assert.True((File.GetUnixFileMode(Path.Combine(tree.RootfsPath, "su")) & UnixFileMode.SetUser) != 0);
    }

    [Fact]
    public async Task Fetch_DuplicateEntry_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_DuplicateEntry_Rejected));
        string aci = new TestAci().File("rootfs/a", "first").File("rootfs/./a", "second").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("duplicate tar entry", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_OversizedPaxHeader_RejectedBeforeBuffering()
    {
        using var fx = new StoreFixture(nameof(Fetch_OversizedPaxHeader_RejectedBeforeBuffering), new ExtractionPolicy { MaxMetadataHeaderBytes = 64 * 1024 });
        var huge = new Dictionary<string, string> { ["comment"] = new string('A', 200 * 1024) };
        var entry = new PaxTarEntry(TarEntryType.RegularFile, "rootfs/f", huge) { DataStream = new MemoryStream("x"u8.ToArray()) };
        string aci = new TestAci().Entry(entry).WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("exceeds the limit", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_OverlongEntryName_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_OverlongEntryName_Rejected));
        string aci = new TestAci().File("rootfs/" + string.Join('/', Enumerable.Repeat(new string('d', 200), 25)), "x").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("exceeds 4096 bytes", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_DecompressionBomb_RejectedWithClearError()
    {
        using var fx = new StoreFixture(nameof(Fetch_DecompressionBomb_RejectedWithClearError), new ExtractionPolicy { MaxUncompressedBytes = 8 * 1024 * 1024 });
        var zeros = new PaxTarEntry(TarEntryType.RegularFile, "rootfs/zeros") { DataStream = new MemoryStream(new byte[64 * 1024 * 1024]) };
        byte[] bomb = TestAci.Gzip(new TestAci().Entry(zeros).ToTar());
        Assert.True(bomb.Length < 1024 * 1024, "the bomb is small compressed");
        string aci = fx.Write("bomb.aci", bomb);

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("decompression bomb", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Fetch_EntryOutsideManifestAndRootfs_Rejected()
    {
        using var fx = new StoreFixture(nameof(Fetch_EntryOutsideManifestAndRootfs_Rejected));
        string aci = new TestAci().File("extra", "x").WriteTo(fx.Directory.Combine("evil.aci"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("outside manifest and rootfs/", error.Message, StringComparison.Ordinal);
        fx.AssertStoreEmptyAndNothingOutside();
    }

    [Fact]
    public async Task Render_AbsoluteSymlinkThenFileThroughIt_StaysInsideRoot()
    {
        // "rootfs/escape -> /outside-abs" is legal (resolved inside the root at run time); a later
        // entry "rootfs/escape/pwned" must land inside the rootfs, never at the host's /outside-abs.
        using var fx = new StoreFixture(nameof(Render_AbsoluteSymlinkThenFileThroughIt_StaysInsideRoot));
        string hostTarget = fx.Outside;
        string aci = new TestAci().Symlink("rootfs/escape", hostTarget).File("rootfs/escape/pwned", "gotcha").WriteTo(fx.Directory.Combine("tricky.aci"));
        var image = await fx.Fetcher().FetchAsync(aci);

        using var tree = fx.Trees.Render(image.Id);

        Assert.Empty(Directory.EnumerateFileSystemEntries(fx.Outside));
        Assert.Equal("gotcha", File.ReadAllText(Path.Combine(tree.RootfsPath, hostTarget.TrimStart('/'), "pwned")));
        Assert.Equal(hostTarget, new FileInfo(Path.Combine(tree.RootfsPath, "escape")).LinkTarget);
    }

    [Fact]
    public async Task Render_RelativeSymlinkParentThenFile_ResolvedWithinRoot()
    {
        using var fx = new StoreFixture(nameof(Render_RelativeSymlinkParentThenFile_ResolvedWithinRoot));
        string aci = new TestAci().Directory("rootfs/usr").Directory("rootfs/usr/lib").Symlink("rootfs/lib", "usr/lib").File("rootfs/lib/libc.so", "elf").WriteTo(fx.Directory.Combine("usrmerge.aci"));
        var image = await fx.Fetcher().FetchAsync(aci);

        using var tree = fx.Trees.Render(image.Id);

        Assert.Equal("elf", File.ReadAllText(Path.Combine(tree.RootfsPath, "usr", "lib", "libc.so")));
    }

    [Fact]
    public async Task Fetch_NotATar_RejectedWithClearError()
    {
        using var fx = new StoreFixture(nameof(Fetch_NotATar_RejectedWithClearError));
        string aci = fx.Write("junk.aci", TestAci.Gzip(Encoding.UTF8.GetBytes(new string('x', 5000))));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => fx.Fetcher().FetchAsync(aci));

        Assert.Contains("tar", error.Message, StringComparison.OrdinalIgnoreCase);
        fx.AssertStoreEmptyAndNothingOutside();
    }
}
