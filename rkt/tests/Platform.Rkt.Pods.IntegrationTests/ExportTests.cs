using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary><c>rkt export</c>: an exited pod's app with its changes, as an ACI that actool accepts and rkt runs.</summary>
public sealed class ExportTests
{
    private const string Why = "runs pods in new namespaces, mounts and cgroups";

    [RootTheory(Why)]
    [InlineData("default")]
    [InlineData("fly")]
    public void Export_ExitedPod_RoundTripsWithTheAppsChanges(string stage1)
    {
        using var host = new PodTestHost(nameof(Export_ExitedPod_RoundTripsWithTheAppsChanges) + "-" + stage1);
        string uuidFile = host.Combine("uuid");
        host.RktOk("run", $"--uuid-file-save={uuidFile}", $"--stage1-name={stage1}", "--net=none", host.Aci,
            "--exec=/bin/sh", "--", "-c", "echo made-in-pod > /made; rm /bin/false; mkdir -p /var/lib/app");
        string uuid = File.ReadAllText(uuidFile);
        string aci = host.Combine("exported.aci");

        string pod = host.PodDir(uuid);
        IReadOnlyList<string> mountsBefore = Platform.Linux.Namespaces.Mounts.MountPointsUnder(pod);

        host.RktOk("export", uuid, aci);

        Assert.Equal(mountsBefore, Platform.Linux.Namespaces.Mounts.MountPointsUnder(pod)); // the overlay was mounted privately

        var validate = Run(PodTestHost.Actool, "validate", aci);
        Assert.True(validate.ExitCode == 0, $"actool validate: {validate.Output}");
        var names = TarNames(aci);
        Assert.Equal("manifest", names[0]);
        Assert.Contains("rootfs/made", names);
        Assert.Contains("rootfs/var/lib/app", names);
        Assert.DoesNotContain("rootfs/bin/false", names); // the overlay's whiteout applied
        Assert.DoesNotContain(names, n => n.StartsWith("rootfs/proc/", StringComparison.Ordinal)); // no kernel filesystems
        Assert.Contains("rootfs/bin/busybox", names);

        // The manifest is the app's image manifest; fetch the export and run it.
        string id = host.RktOk("fetch", "--full", aci).Trim();
        Assert.StartsWith("sha512-", id, StringComparison.Ordinal);
        var run = host.Rkt("run", "--net=none", id, "--exec=/bin/sh", "--", "-c", "cat /made; test -e /bin/false || echo no-false; echo $IMAGE_VAR");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("made-in-pod\nno-false\nfrom-image\n", run.Stdout);
    }

    [RootFact(Why)]
    public void Export_RunningPod_IsRefusedAndWritesNothing()
    {
        using var host = new PodTestHost(nameof(Export_RunningPod_IsRefusedAndWritesNothing));
        (Process run, string uuid) = host.StartRun("--net=none", host.Aci, "--exec=/bin/sleep", "--", "600");
        using (run)
        {
            host.WaitRunning(uuid, run);
            string aci = host.Combine("running.aci");
            var export = host.Rkt("export", uuid, aci);
            Assert.Equal(254, export.ExitCode);
            Assert.Contains("pod is not exited. Only exited pods can be exported", export.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(aci));
            host.RktOk("stop", "--force", uuid);
            Assert.True(run.WaitForExit(60_000));
        }
    }

    [RootFact(Why)]
    public void Export_BadArguments_ClearErrorsAndExistingOutputKept()
    {
        using var host = new PodTestHost(nameof(Export_BadArguments_ClearErrorsAndExistingOutputKept));
        string uuidFile = host.Combine("uuid");
        host.RktOk("run", $"--uuid-file-save={uuidFile}", "--net=none",
            host.Aci, "--name=one", "--exec=/bin/sh", "--", "-c", "echo 1 > /one", "---",
            host.Aci, "--name=two", "--exec=/bin/sh", "--", "-c", "echo 2 > /two");
        string uuid = File.ReadAllText(uuidFile);

        var wrongExtension = host.Rkt("export", uuid, host.Combine("out.tar"));
        Assert.Equal(254, wrongExtension.ExitCode);
        Assert.Contains("extension must be .aci", wrongExtension.Stderr, StringComparison.Ordinal);

        string aci = host.Combine("out.aci");
        var ambiguous = host.Rkt("export", uuid, aci);
        Assert.Equal(254, ambiguous.ExitCode);
        Assert.Contains("pod contains multiple apps (one, two)", ambiguous.Stderr, StringComparison.Ordinal);
        Assert.Contains("specify app using \"rkt export --app= ...\"", ambiguous.Stderr, StringComparison.Ordinal);

        var missing = host.Rkt("export", "--app=three", uuid, aci);
        Assert.Equal(254, missing.ExitCode);
        Assert.Contains("app three is not present in pod", missing.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(aci));

        host.RktOk("export", "--app=two", uuid, aci);
        var names = TarNames(aci);
        Assert.Contains("rootfs/two", names);
        Assert.DoesNotContain("rootfs/one", names);

        byte[] before = File.ReadAllBytes(aci);
        var exists = host.Rkt("export", "--app=one", uuid, aci);
        Assert.Equal(254, exists.ExitCode);
        Assert.Contains("target file exists (try --overwrite)", exists.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(aci));

        host.RktOk("export", "--app=one", "--overwrite", uuid, aci);
        Assert.Contains("rootfs/one", TarNames(aci));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(aci)!, "*rkt-export*")); // no temp files left
    }

    private static List<string> TarNames(string aci)
    {
        using var file = File.OpenRead(aci);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name.TrimEnd('/'));
        }

        return names;
    }

    private static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        return (process.ExitCode, stdout.Result + stderr);
    }
}
