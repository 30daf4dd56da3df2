using System.Diagnostics;
using Platform.Testing;

namespace Platform.Etcd.V2Store.IntegrationTests;

/// <summary>A fact that needs the real etcd binary; skipped with the reason when it is missing and cannot be installed.</summary>
public sealed class RealEtcdFactAttribute : FactAttribute
{
    public RealEtcdFactAttribute()
    {
        if (!File.Exists(RealEtcd.BinaryPath) && !Environment.IsPrivilegedProcess)
        {
            Skip = $"needs {RealEtcd.BinaryPath} (Debian package etcd-server; `./platform test` installs it when run as root)";
        }
    }
}

/// <summary>
/// A single-member etcd 3.4 with the v2 API on, on claimed free ports in a fresh directory,
/// killed (with its children) on <see cref="Dispose"/> whatever happened.
/// </summary>
internal sealed class RealEtcd : IDisposable
{
    public const string BinaryPath = "/usr/bin/etcd";

    private readonly Process _process;
    private readonly TestDirectory _directory;

    private RealEtcd(Process process, TestDirectory directory, Uri clientUrl)
    {
        _process = process;
        _directory = directory;
        ClientUrl = clientUrl;
    }

    public Uri ClientUrl { get; }

    public static async Task<RealEtcd> StartAsync(string name)
    {
        Assert.True(File.Exists(BinaryPath), $"{BinaryPath} is missing: install the etcd-server package (listed in TEST_PACKAGES of ./platform)");
        int[] ports = FreePorts.Next(2);
        string client = $"http://127.0.0.1:{ports[0]}";
        string peer = $"http://127.0.0.1:{ports[1]}";
        TestDirectory directory = TestDirectory.Create(name);
        var start = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "--name", "default", "--data-dir", directory.Combine("data"), "--enable-v2",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"default={peer}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        DataReceivedEventHandler onLine = (_, line) =>
        {
            if (line.Data is null)
            {
                return;
            }

            log.Enqueue(line.Data);
            // etcd logs this once the client listener serves requests.
            if (line.Data.Contains("ready to serve client requests", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("etcd exited early:\n" + string.Join('\n', log)));
        var etcd = new RealEtcd(process, directory, new Uri(client));
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return etcd;
        }
        catch
        {
            etcd.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            _process.Dispose();
            _directory.Dispose();
        }
    }
}
