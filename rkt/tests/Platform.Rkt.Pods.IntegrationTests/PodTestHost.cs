using System.Diagnostics;
using Platform.Testing;
using Xunit.Sdk;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary>
/// One test's rkt: its own <c>--dir</c>, the busybox ACI, helpers to run rkt and to wait for pod states.
/// Dispose collects every pod (so no mounts, network namespaces or cgroups stay behind) and deletes the directory.
/// </summary>
internal sealed class PodTestHost : IDisposable
{
    public const string Busybox = "/bin/busybox";
    public const string Actool = "/usr/bin/actool";

    private readonly TestDirectory _dir;
    private readonly Lazy<string> _aci;

    public PodTestHost(string name)
    {
        _dir = TestDirectory.Create(name);
        DataDir = _dir.Combine("data");
        _aci = new Lazy<string>(() => BuildAci(_dir.Combine("aci")));
    }

    public string DataDir { get; }

    /// <summary>The busybox ACI, built with actool in this test's directory.</summary>
    public string Aci => _aci.Value;

    public string Combine(params string[] parts) => _dir.Combine(parts);

    /// <summary>The rkt executable built beside this assembly.</summary>
    public static string RktDll => Path.Combine(AppContext.BaseDirectory, "rkt.dll");

    /// <summary>
    /// The rkt under test: <c>$PLATFORM_RKT</c> when set (e.g. the NativeAOT <c>out/bin/rkt</c> that
    /// <c>./platform build</c> publishes), else <c>dotnet rkt.dll</c> from the build output.
    /// </summary>
    public static IReadOnlyList<string> RktCommand =>
        Environment.GetEnvironmentVariable("PLATFORM_RKT") is { Length: > 0 } published ? [published] : ["dotnet", RktDll];

    public ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(RktCommand[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in (string[])[.. RktCommand.Skip(1), "--dir", DataDir, "--insecure-options=image", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Runs rkt to completion.</summary>
    public (int ExitCode, string Stdout, string Stderr) Rkt(params string[] args)
    {
        using Process process = Process.Start(StartInfo(args))!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"rkt {string.Join(' ', args)} did not finish within 2 minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs rkt and fails the test unless it exits 0.</summary>
    public string RktOk(params string[] args)
    {
        var result = Rkt(args);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"rkt {string.Join(' ', args)} exited {result.ExitCode}\nstdout: {result.Stdout}\nstderr: {result.Stderr}");
        }

        return result.Stdout;
    }

    /// <summary>Starts <c>rkt run</c> in the background with <c>--uuid-file-save</c>; returns the process and the pod's UUID once saved.</summary>
    public (Process Process, string Uuid) StartRun(params string[] args)
    {
        string uuidFile = Combine($"uuid-{Guid.NewGuid():N}");
        Process process = Process.Start(StartInfo(["run", $"--uuid-file-save={uuidFile}", .. args]))!;
        process.StandardInput.Close();
        string uuid = Poll(() => File.Exists(uuidFile) && File.ReadAllText(uuidFile).Length == 36 ? File.ReadAllText(uuidFile) : null, "the pod UUID to be saved", process);
        return (process, uuid);
    }

    /// <summary>Waits (no fixed sleep: polls with a generous deadline) until the pod is running.</summary>
    public void WaitRunning(string uuid, Process? run = null) =>
        Poll(() => Rkt("status", uuid).Stdout.Contains("state=running", StringComparison.Ordinal) && PidReady(uuid) ? "ok" : null, $"pod {uuid} to be running", run);

    /// <summary>Polls <paramref name="probe"/> every 20 ms for up to 60 s.</summary>
    public static T Poll<T>(Func<T?> probe, string what, Process? process = null)
        where T : class
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (process is { HasExited: true })
            {
                throw new XunitException($"waiting for {what}: rkt exited {process.ExitCode}: {process.StandardOutput.ReadToEnd()} {process.StandardError.ReadToEnd()}");
            }

            Thread.Sleep(20);
        }

        throw new XunitException($"timed out waiting for {what}");
    }

    /// <summary>The pod's started file exists: stage1 has started its apps.</summary>
    private bool PidReady(string uuid) => File.Exists(Path.Combine(DataDir, "pods", "run", uuid, "started"));

    /// <summary>The pod's directory in whichever state directory holds it (never walks into a pod: fly pods have /proc bound inside).</summary>
    public string PodDir(string uuid) =>
        Directory.EnumerateDirectories(Path.Combine(DataDir, "pods")).Select(state => Path.Combine(state, uuid)).Single(Directory.Exists);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path.Combine(DataDir, "pods")))
            {
                // Stop what still runs, then collect everything.
                foreach (string pod in Directory.EnumerateDirectories(Path.Combine(DataDir, "pods", "run")))
                {
                    Rkt("stop", "--force", Path.GetFileName(pod));
                }

                Poll(() => Rkt("list", "--no-legend").Stdout.Contains("running", StringComparison.Ordinal) ? null : "ok", "all pods to stop");
                Rkt("gc", "--grace-period=0s", "--expire-prepared=0s");
            }
        }
        finally
        {
            // Never let the directory cleanup walk into a bind of /proc, /sys or /dev (fly pods) left mounted.
            foreach (string mount in Platform.Linux.Namespaces.Mounts.MountPointsUnder(_dir.Path))
            {
                Platform.Linux.Namespaces.Mounts.Unmount(mount, detach: true);
            }

            _dir.Dispose();
        }
    }

    private static string BuildAci(string root)
    {
        string bin = Path.Combine(root, "layout", "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy(Busybox, Path.Combine(bin, "busybox"));
        foreach (string applet in (string[])["sh", "echo", "true", "false", "ps", "ls", "cat", "id", "hostname", "sleep", "ping", "grep", "pwd", "touch", "head", "tail", "wc", "env", "ip", "wget"])
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        string etc = Path.Combine(root, "layout", "rootfs", "etc");
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(etc, "group"), "root:x:0:\nnogroup:x:65534:\nusers:x:1000:\n");
        File.WriteAllText(Path.Combine(root, "layout", "manifest"), """
            {"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/busybox",
             "labels":[{"name":"version","value":"1.35.0"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
             "app":{"exec":["/bin/sh","-c","echo hello from busybox"],"user":"0","group":"0",
                    "environment":[{"name":"IMAGE_VAR","value":"from-image"}],
                    "mountPoints":[{"name":"data","path":"/data"}]}}
            """);
        string aci = Path.Combine(root, "busybox.aci");
        var start = new ProcessStartInfo(Actool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["build", Path.Combine(root, "layout"), aci])
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string err = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? aci : throw new XunitException($"actool build failed: {err}");
    }
}
