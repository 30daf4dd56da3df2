using System.Diagnostics;
using System.Text.Json;

namespace Platform.Etcd.Cluster.IntegrationTests.Infrastructure;

/// <summary>One run of the real etcdctl 3.4.</summary>
internal sealed record EtcdctlResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;

    /// <summary>The error line etcdctl prints ("Error: etcdserver: ..."), without the prefix.</summary>
    public string Error => Stderr.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Error:", StringComparison.Ordinal))?["Error:".Length..].Trim() ?? Stderr.Trim();

    public JsonDocument Json() => JsonDocument.Parse(Stdout);

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

internal static class Etcdctl
{
    public static async Task<EtcdctlResult> RunAsync(IEnumerable<string> endpoints, params string[] arguments)
    {
        var start = new ProcessStartInfo(Binaries.Etcdctl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        start.ArgumentList.Add("--endpoints");
        start.ArgumentList.Add(string.Join(',', endpoints));
        start.ArgumentList.Add("--dial-timeout=2s");
        start.ArgumentList.Add("--command-timeout=10s");
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"etcdctl {string.Join(' ', arguments)} did not finish in 60 s");
        }

        return new EtcdctlResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<EtcdctlResult> RunAsync(string endpoint, params string[] arguments) => RunAsync([endpoint], arguments);

    /// <summary>Runs until it succeeds (or the deadline passes: the last result is returned).</summary>
    public static async Task<EtcdctlResult> UntilOkAsync(string endpoint, TimeSpan deadline, params string[] arguments)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            EtcdctlResult r = await RunAsync(endpoint, arguments);
            if (r.Ok || watch.Elapsed > deadline)
            {
                return r;
            }

            await Task.Delay(100);
        }
    }
}
