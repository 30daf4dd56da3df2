using System.Diagnostics;
using Xunit.Sdk;

namespace Platform.Rkt.IntegrationTests;

/// <summary>Runs external tools (actool, xz, the rkt executable) and builds the standard busybox image.</summary>
internal static class Tools
{
    public const string Actool = "/usr/bin/actool";
    public const string Busybox = "/bin/busybox";

    /// <summary>The rkt executable built beside this test assembly (rkt.dll, run through dotnet).</summary>
    public static string RktDll => Path.Combine(AppContext.BaseDirectory, "rkt.dll");

    /// <summary>
    /// The rkt under test: <c>$PLATFORM_RKT</c> when set (e.g. the NativeAOT <c>out/bin/rkt</c> that
    /// <c>./platform build</c> publishes), else <c>dotnet rkt.dll</c> from the build output.
    /// </summary>
    public static (string File, string[] Prefix) RktCommand =>
        Environment.GetEnvironmentVariable("PLATFORM_RKT") is { Length: > 0 } published ? (published, []) : ("dotnet", [RktDll]);

    public static (int ExitCode, string Stdout, string Stderr) Run(string file, params string[] args) => Run(file, args, stdin: null, timeout: TimeSpan.FromMinutes(2));

    public static (int ExitCode, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, string? stdin, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs actool and fails the test with its output when it fails.</summary>
    public static string ActoolOk(params string[] args)
    {
        var result = Run(Actool, args);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"actool {string.Join(' ', args)} failed ({result.ExitCode}): {result.Stdout}{result.Stderr}");
        }

        return result.Stdout;
    }

    /// <summary>Runs <c>rkt ARGS</c> as its own process.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Rkt(params string[] args) => Run(RktCommand.File, [.. RktCommand.Prefix, .. args], stdin: null, timeout: TimeSpan.FromMinutes(2));

    /// <summary>
    /// An actool image layout of the standard test image: busybox-static as /bin/busybox with sh,
    /// echo and true links, and a manifest running /bin/sh.
    /// </summary>
    public static string BusyboxLayout(string dir, string name = "example.com/busybox", string version = "1.35.0")
    {
        string bin = Path.Combine(dir, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy(Busybox, Path.Combine(bin, "busybox"));
        foreach (string applet in (string[])["sh", "echo", "true"])
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        Directory.CreateDirectory(Path.Combine(dir, "rootfs", "etc"));
        File.WriteAllText(Path.Combine(dir, "rootfs", "etc", "hostname"), "busybox\n");
        File.WriteAllText(Path.Combine(dir, "manifest"), $$$"""
            {"acKind":"ImageManifest","acVersion":"0.8.11","name":"{{{name}}}",
             "labels":[{"name":"version","value":"{{{version}}}"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
             "app":{"exec":["/bin/sh","-c","echo hello"],"user":"0","group":"0"}}
            """);
        return dir;
    }
}

/// <summary>A fact that needs external tools; skipped with the reason when one is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools)
    {
        string? missing = tools.FirstOrDefault(t => !File.Exists(t));
        if (missing is not null)
        {
            Skip = $"{missing} is not installed (./platform test installs appc-spec and busybox-static as root)";
        }
    }
}
