using System.Diagnostics;
using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary><c>--interactive</c> under a real pseudo-terminal (util-linux <c>script</c> allocates it).</summary>
public sealed class InteractiveTests
{
    [RootFact("runs pods in new namespaces, mounts and cgroups")]
    public void Run_Interactive_AppGetsTheTerminalAndStdin()
    {
        using var host = new PodTestHost(nameof(Run_Interactive_AppGetsTheTerminalAndStdin));
        host.RktOk("fetch", host.Aci);
        string rkt = $"{string.Join(' ', PodTestHost.RktCommand)} --dir {host.DataDir} --insecure-options=image run --interactive --net=none example.com/busybox "
                     + "--exec=/bin/sh -- -c 'tty; read line; echo got:$line; exit 6'";
        var start = new ProcessStartInfo("script") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["-qec", rkt, "/dev/null"])
        {
            start.ArgumentList.Add(a);
        }

        using Process script = Process.Start(start)!;
        script.StandardInput.WriteLine("typed-in");
        script.StandardInput.Close();
        Task<string> output = script.StandardOutput.ReadToEndAsync();
        Assert.True(script.WaitForExit(120_000));
        string text = output.Result.Replace("\r", string.Empty, StringComparison.Ordinal);
        Assert.Equal(6, script.ExitCode);
        Assert.Matches("(?m)^/dev/pts/[0-9]+$", text); // a terminal, and its name resolves inside the pod
        Assert.Contains("got:typed-in", text, StringComparison.Ordinal);
    }
}
