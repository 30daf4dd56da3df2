using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>A fact that needs the real etcd binary; skipped with the reason when it is missing and cannot be installed.</summary>
public sealed class EtcdFactAttribute : FactAttribute
{
    public EtcdFactAttribute()
    {
        if (!File.Exists(RealEtcd34.BinaryPath) && !Environment.IsPrivilegedProcess)
        {
            Skip = $"needs {RealEtcd34.BinaryPath} (Debian package etcd-server; `./platform test` installs it when run as root)";
        }
    }
}

/// <summary>A single-member etcd 3.4 (Debian's etcd-server).</summary>
public sealed class RealEtcd34 : EtcdProcessFixture
{
    public const string BinaryPath = "/usr/bin/etcd";

    public override string Name => "etcd 3.4";

    public override string VersionPrefix => "3.4.";

    protected override string Executable => BinaryPath;
}

/// <summary>
/// A single-member etcd executable started with etcd 3.4's flags on claimed free ports in a fresh
/// directory, ready once it logs "ready to serve client requests". The process is killed by PID
/// on stop and on dispose, whatever the tests did.
/// </summary>
public abstract class EtcdProcessFixture : EtcdServerFixture
{
    private readonly TestDirectory _directory = TestDirectory.Create("client-etcd");
    private readonly int _clientPort;
    private readonly int _peerPort;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    protected EtcdProcessFixture()
    {
        int[] ports = FreePorts.Next(2);
        _clientPort = ports[0];
        _peerPort = ports[1];
    }

    public override IReadOnlyList<string> ClientUrls => [$"http://127.0.0.1:{_clientPort}"];

    protected abstract string Executable { get; }

    public override async Task StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing (real etcd: the etcd-server package, listed in TEST_PACKAGES of ./platform)");
        Assert.Null(_process);
        string client = ClientUrls[0];
        string peer = $"http://127.0.0.1:{_peerPort}";
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "--name", "default", "--data-dir", _directory.Combine("data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"default={peer}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, line) =>
        {
            if (line.Data is null)
            {
                return;
            }

            _log.Enqueue(line.Data);
            // etcd logs this once the client listener serves requests.
            if (line.Data.Contains("ready to serve client requests", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"{Name} exited early:\n" + string.Join('\n', _log)));
        _process = process;
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await StopAsync();
            throw;
        }
    }

    public override async Task StopAsync()
    {
        Process? process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            process.Dispose();
        }
    }

    public override async Task DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
