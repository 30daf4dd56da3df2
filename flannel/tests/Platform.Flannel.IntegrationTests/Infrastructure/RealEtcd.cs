using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Etcd.Client;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>A fact that needs the real etcd 3.4; skipped with the reason when it is missing and cannot be installed.</summary>
public sealed class EtcdFactAttribute : FactAttribute
{
    public EtcdFactAttribute()
    {
        if (!File.Exists(RealEtcd.BinaryPath) && !Environment.IsPrivilegedProcess)
        {
            Skip = $"needs {RealEtcd.BinaryPath} (Debian package etcd-server; `./platform test` installs it when run as root)";
        }
    }
}

/// <summary>
/// One real etcd 3.4 (Debian's etcd-server) per test class, on claimed free ports in a fresh
/// directory, ready once it logs "ready to serve client requests"; killed by PID on dispose.
/// Tests isolate themselves with their own key prefix.
/// </summary>
public sealed class RealEtcd : IAsyncLifetime
{
    public const string BinaryPath = "/usr/bin/etcd";

    private readonly TestDirectory _directory = TestDirectory.Create("flannel-etcd");
    private readonly ConcurrentQueue<string> _log = new();
    private readonly int _clientPort;
    private readonly int _peerPort;
    private Process? _process;
    private IEtcdClient? _client;

    public RealEtcd()
    {
        int[] ports = FreePorts.Next(2);
        _clientPort = ports[0];
        _peerPort = ports[1];
    }

    public string ClientUrl => $"http://127.0.0.1:{_clientPort}";

    /// <summary>A client shared by the class; tests that need their own call <see cref="NewClient"/>.</summary>
    public IEtcdClient Client => _client ?? throw new InvalidOperationException("etcd is not started");

    public IEtcdClient NewClient() => EtcdClient.Create(new EtcdClientOptions { Endpoints = [ClientUrl] });

    public async Task InitializeAsync()
    {
        if (!File.Exists(BinaryPath))
        {
            // The facts skip; nothing to start.
            return;
        }

        string peer = $"http://127.0.0.1:{_peerPort}";
        var start = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "--name", "default", "--data-dir", _directory.Combine("data"),
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
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
            if (line.Data.Contains("ready to serve client requests", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("etcd exited early:\n" + string.Join('\n', _log)));
        _process = process;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        _client = NewClient();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }

            if (_process is not null)
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }

                await _process.WaitForExitAsync();
                _process.Dispose();
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
