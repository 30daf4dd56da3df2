using System.Diagnostics;
using System.Text;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Fetching.Sources.Discovery;
using Platform.Testing;

namespace Platform.Rkt.IntegrationTests;

public sealed class DiscoveryAndCrashTests
{
    [ToolFact(Tools.Actool)]
    public async Task Discover_LoopbackPage_AgreesWithActoolDiscover()
    {
        string? page = null;
        using var server = new LoopbackHttpServer(async context =>
        {
            byte[] body = context.Request.Url!.AbsolutePath == "/org/app" ? [] : Encoding.UTF8.GetBytes(page!);
            context.Response.StatusCode = body.Length == 0 ? 404 : 200;
            await context.Response.OutputStream.WriteAsync(body);
        });
        page = $"<html><head><meta name=\"ac-discovery\" content=\"127.0.0.1/org http://127.0.0.1:{server.Port}/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}\">" +
               $"<meta name=\"ac-discovery-pubkeys\" content=\"127.0.0.1/org http://127.0.0.1:{server.Port}/pubkeys.gpg\"></head></html>";

        var actool = Tools.Run(Tools.Actool, "discover", "--insecure", $"--port={server.Port}", "127.0.0.1/org/app:1.0.0");
        using var http = new HttpClient();
        var app = new AppReference("127.0.0.1/org/app", new Dictionary<string, string> { ["version"] = "1.0.0", ["os"] = "linux", ["arch"] = "amd64" });
        DiscoveryResult ours = await AppcDiscovery.DiscoverAsync(app, http, InsecureOptions.Http, server.Port, publicKeysOnly: false, CancellationToken.None);

        Assert.True(actool.ExitCode == 0, actool.Stderr);
        string expected = string.Join('\n', ours.AciEndpoints.Select(e => $"ACI: {e.Aci}, ASC: {e.Signature}")) + "\n" + $"PublicKeys: {string.Join(',', ours.PublicKeys)}";
        // actool also prints each step of its parent-path walk ("expected a 200 OK got 404" for /org/app).
        string found = string.Join('\n', actool.Stdout.Split('\n').Where(l => l.StartsWith("ACI: ", StringComparison.Ordinal) || l.StartsWith("PublicKeys: ", StringComparison.Ordinal)));
        Assert.Contains("got 404", actool.Stdout + actool.Stderr, StringComparison.Ordinal);
        Assert.Equal(expected, found);
    }

    [Fact]
    public void Fetch_KilledMidDownload_LeavesNoImageAndStagingIsSwept()
    {
        using var dir = TestDirectory.Create(nameof(Fetch_KilledMidDownload_LeavesNoImageAndStagingIsSwept));
        var hang = new TaskCompletionSource();
        using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.ContentLength64 = 64L * 1024 * 1024;
            await context.Response.OutputStream.WriteAsync(new byte[1024 * 1024]);
            await context.Response.OutputStream.FlushAsync();
            await hang.Task; // never finishes the body
        });
        string data = dir.Combine("rkt");
        var start = new ProcessStartInfo(Tools.RktCommand.File) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in (string[])[.. Tools.RktCommand.Prefix, "--dir", data, "--insecure-options=image,http", "fetch", server.BaseUrl + "/big.aci"])
        {
            start.ArgumentList.Add(arg);
        }

        using Process rkt = Process.Start(start)!;
        string tmp = Path.Combine(data, "cas", "tmp");
        bool downloading = SpinWait.SpinUntil(
            () => Directory.Exists(tmp) && Directory.EnumerateFiles(tmp, "image.aci", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0),
            TimeSpan.FromSeconds(60));
        Assert.True(downloading, "rkt never started writing the download");

        rkt.Kill(); // SIGKILL: no cleanup code runs
        rkt.WaitForExit();
        hang.SetResult();

        var list = Tools.Rkt("--dir", data, "image", "list", "--format=json");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal("[]", list.Stdout.Trim());
        Assert.Empty(Directory.EnumerateDirectories(tmp));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(data, "cas", "blob")));
    }

    [Fact]
    public void Cli_UnknownCommandAndBadFlag_ExitWith254()
    {
        var unknown = Tools.Rkt("frobnicate");
        var badFlag = Tools.Rkt("image", "list", "--no-such-flag");
        var badInsecure = Tools.Rkt("--insecure-options=bogus", "image", "list");

        Assert.Equal(254, unknown.ExitCode);
        Assert.Contains("unknown command", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal(254, badFlag.ExitCode);
        Assert.Equal(254, badInsecure.ExitCode);
        Assert.Contains("permissible values", badInsecure.Stderr, StringComparison.Ordinal);
    }

    [ToolFact(Tools.Actool, Tools.Busybox, "/usr/bin/gpg", "/usr/bin/gpg-agent")]
    public void Trust_AddListRemove_ThenSignedFetchVerifies()
    {
        using var dir = TestDirectory.Create(nameof(Trust_AddListRemove_ThenSignedFetchVerifies));
        // gpg-agent's socket path must fit in sun_path (108 bytes): keep the home short.
        string gnupg = Path.Combine(Path.GetTempPath(), "rkt-gpg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            TrustWithGpg(dir, gnupg);
        }
        finally
        {
            Tools.Run("/usr/bin/gpgconf", ["--homedir", gnupg, "--kill", "gpg-agent"], null, TimeSpan.FromSeconds(30));
            Directory.Delete(gnupg, recursive: true);
        }
    }

    private static void TrustWithGpg(TestDirectory dir, string gnupg)
    {
        Directory.CreateDirectory(gnupg);
        File.SetUnixFileMode(gnupg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string[] gpg = ["--homedir", gnupg, "--batch", "--pinentry-mode", "loopback", "--passphrase", string.Empty];
        Assert.Equal(0, Tools.Run("/usr/bin/gpg", [.. gpg, "--quick-gen-key", "Platform Test <test@example.com>", "rsa2048", "sign", "never"], null, TimeSpan.FromMinutes(2)).ExitCode);
        var export = Tools.Run("/usr/bin/gpg", [.. gpg, "--armor", "--export"], null, TimeSpan.FromMinutes(1));
        File.WriteAllText(dir.Combine("pubkey.gpg"), export.Stdout);
        string aci = dir.Combine("busybox.aci");
        Tools.ActoolOk("build", Tools.BusyboxLayout(dir.Combine("layout")), aci);
        Assert.Equal(0, Tools.Run("/usr/bin/gpg", [.. gpg, "--armor", "--detach-sign", "--output", aci + ".asc", aci], null, TimeSpan.FromMinutes(1)).ExitCode);
        string[] config = ["--dir", dir.Combine("rkt"), "--local-config", dir.Combine("etc-rkt"), "--system-config", dir.Combine("usr-lib-rkt")];

        var unsigned = Tools.Rkt([.. config, "fetch", aci]);
        var trust = Tools.Run(Tools.RktCommand.File, [.. Tools.RktCommand.Prefix, .. config, "trust", "--prefix=example.com/busybox", dir.Combine("pubkey.gpg")], "yes\n", TimeSpan.FromMinutes(1));
        var list = Tools.Rkt([.. config, "trust", "list"]);
        var signed = Tools.Rkt([.. config, "fetch", aci]);
        string fingerprint = list.Stdout.Split('\n')[1].Split('\t')[1];
        var remove = Tools.Rkt([.. config, "trust", "remove", "--prefix=example.com/busybox", fingerprint]);
        var afterRemove = Tools.Rkt([.. config, "trust", "list"]);

        Assert.Equal(254, unsigned.ExitCode);
        Assert.Contains("no keys trusted", unsigned.Stderr, StringComparison.Ordinal);
        Assert.True(trust.ExitCode == 0, trust.Stderr);
        Assert.Contains("GPG key fingerprint is:", trust.Stderr, StringComparison.Ordinal);
        Assert.Contains($"prefix.d/example.com/busybox/{fingerprint}", trust.Stderr, StringComparison.Ordinal);
        Assert.True(signed.ExitCode == 0, signed.Stderr);
        Assert.Contains("signature verified", signed.Stderr, StringComparison.Ordinal);
        Assert.Contains("Platform Test <test@example.com>", signed.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, remove.ExitCode);
        Assert.DoesNotContain(fingerprint, afterRemove.Stdout, StringComparison.Ordinal);
    }
}
