using System.Security.Cryptography;
using System.Text.Json;
using Platform.Testing;

namespace Platform.Rkt.IntegrationTests;

/// <summary>Interoperability with Debian's actool (appc-spec 0.8.11) and real compressors, through the rkt executable.</summary>
public sealed class ActoolInteropTests
{
    [ToolFact(Tools.Actool, Tools.Busybox)]
    public void Fetch_ActoolBuiltBusybox_IdIsSha512OfUncompressedTarAndRenders()
    {
        using var dir = TestDirectory.Create(nameof(Fetch_ActoolBuiltBusybox_IdIsSha512OfUncompressedTarAndRenders));
        string layout = Tools.BusyboxLayout(dir.Combine("layout"));
        string aci = dir.Combine("busybox.aci");
        Tools.ActoolOk("build", layout, aci);
        string uncompressed = dir.Combine("busybox-plain.aci");
        Tools.ActoolOk("build", "--no-compression", layout, uncompressed);
        string expected = "sha512-" + Convert.ToHexStringLower(SHA512.HashData(File.ReadAllBytes(uncompressed)))[..32];

        var fetch = Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", aci);
        var render = Tools.Rkt("--dir", dir.Combine("rkt"), "image", "render", "example.com/busybox:1.35.0", dir.Combine("out"));

        Assert.True(fetch.ExitCode == 0, fetch.Stderr);
        Assert.Equal(expected, fetch.Stdout.Trim());
        Assert.True(render.ExitCode == 0, render.Stderr);
        Assert.Equal(File.ReadAllBytes(Tools.Busybox), File.ReadAllBytes(dir.Combine("out", "rootfs", "bin", "busybox")));
        Assert.Equal("busybox", new FileInfo(dir.Combine("out", "rootfs", "bin", "sh")).LinkTarget);
        var echo = Tools.Run(dir.Combine("out", "rootfs", "bin", "busybox"), "echo", "rendered");
        Assert.Equal("rendered", echo.Stdout.Trim());
    }

    [ToolFact(Tools.Actool, Tools.Busybox, "/usr/bin/xz", "/bin/bzip2")]
    public void Fetch_XzAndBzip2Compressed_SameIdAsGzip()
    {
        using var dir = TestDirectory.Create(nameof(Fetch_XzAndBzip2Compressed_SameIdAsGzip));
        string tar = dir.Combine("bb-plain.aci");
        Tools.ActoolOk("build", "--no-compression", Tools.BusyboxLayout(dir.Combine("layout")), tar);
        File.Copy(tar, dir.Combine("bb-xz.aci"));
        File.Copy(tar, dir.Combine("bb-bz2.aci"));
        Assert.Equal(0, Tools.Run("/usr/bin/xz", "-z", "-k", "-T1", dir.Combine("bb-xz.aci")).ExitCode);
        Assert.Equal(0, Tools.Run("/bin/bzip2", "-z", "-k", dir.Combine("bb-bz2.aci")).ExitCode);

        var plain = Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", "--full", tar);
        var xz = Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", "--full", dir.Combine("bb-xz.aci.xz"));
        var bz2 = Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", "--full", dir.Combine("bb-bz2.aci.bz2"));

        Assert.True(xz.ExitCode == 0, xz.Stderr);
        Assert.True(bz2.ExitCode == 0, bz2.Stderr);
        Assert.Equal(plain.Stdout, xz.Stdout);
        Assert.Equal(plain.Stdout, bz2.Stdout);
    }

    [ToolFact(Tools.Actool, Tools.Busybox)]
    public void Export_FetchedImage_PassesActoolValidate()
    {
        using var dir = TestDirectory.Create(nameof(Export_FetchedImage_PassesActoolValidate));
        string aci = dir.Combine("busybox.aci");
        Tools.ActoolOk("build", Tools.BusyboxLayout(dir.Combine("layout")), aci);
        Assert.Equal(0, Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", aci).ExitCode);

        var export = Tools.Rkt("--dir", dir.Combine("rkt"), "image", "export", "example.com/busybox", dir.Combine("exported.aci"));
        var validate = Tools.Run(Tools.Actool, "validate", dir.Combine("exported.aci"));
        var catManifest = Tools.Run(Tools.Actool, "cat-manifest", dir.Combine("exported.aci"));

        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);
        Assert.Contains("example.com/busybox", catManifest.Stdout, StringComparison.Ordinal);
    }

    [ToolFact(Tools.Actool)]
    public void Export_OciImage_PassesActoolValidate()
    {
        using var dir = TestDirectory.Create(nameof(Export_OciImage_PassesActoolValidate));
        string layout = OciLayouts.Write(dir.Combine("oci"));
        Assert.Equal(0, Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", "oci:" + layout + ":2.0").ExitCode);

        var export = Tools.Rkt("--dir", dir.Combine("rkt"), "image", "export", "oci:2.0", dir.Combine("exported.aci"));
        var validate = Tools.Run(Tools.Actool, "validate", dir.Combine("exported.aci"));

        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);
    }

    [ToolFact(Tools.Actool, Tools.Busybox)]
    public void ImageList_Json_ShowsFetchedImage()
    {
        using var dir = TestDirectory.Create(nameof(ImageList_Json_ShowsFetchedImage));
        string aci = dir.Combine("busybox.aci");
        Tools.ActoolOk("build", Tools.BusyboxLayout(dir.Combine("layout")), aci);
        string id = Tools.Rkt("--dir", dir.Combine("rkt"), "--insecure-options=image", "fetch", "--full", aci).Stdout.Trim();

        var list = Tools.Rkt("--dir", dir.Combine("rkt"), "image", "list", "--format=json");
        var table = Tools.Rkt("--dir", dir.Combine("rkt"), "image", "list", "--no-legend");

        using JsonDocument doc = JsonDocument.Parse(list.Stdout);
        JsonElement entry = Assert.Single(doc.RootElement.EnumerateArray().ToList());
        Assert.Equal(id, entry.GetProperty("id").GetString());
        Assert.Equal("example.com/busybox:1.35.0", entry.GetProperty("name").GetString());
        Assert.StartsWith(id[..19], table.Stdout, StringComparison.Ordinal);
    }
}
