using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>
/// Our flanneld executable as a child process. Lines of its JSON log are kept; <see cref="WaitForLogAsync"/>
/// completes when a line containing the text appears (or has appeared). Killed by PID on dispose.
/// </summary>
internal sealed class Flanneld : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _waiters = [];
    private readonly Lock _lock = new();

    private Flanneld(Process process)
    {
        _process = process;
    }

    public static string ExecutablePath { get; } = typeof(Flanneld).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FlanneldExecutable").Value!;

    public int Pid => _process.Id;

    public string Log => string.Join('\n', _log);

    /// <param name="arguments">flanneld's command line.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="ns">A network namespace to start it in (the child inherits the starting thread's namespace).</param>
    public static Flanneld Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, Platform.Linux.Netns.NetworkNamespace? ns = null)
    {
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // flanneld installs FLANNEL-FWD rules by default (as flannel does); a test running it in the
        // root network namespace must not touch the machine's iptables, so it opts in explicitly.
        start.Environment["FLANNELD_IPTABLES_FORWARD_RULES"] = "false";
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var flanneld = new Flanneld(process);
        DataReceivedEventHandler onLine = (_, line) =>
        {
            if (line.Data is not null)
            {
                flanneld.OnLine(line.Data);
            }
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        if (ns is null)
        {
            process.Start();
        }
        else
        {
            ns.Run(() => process.Start());
        }

        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return flanneld;
    }

    public Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_log.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((text, seen));
        }

        Task exited = _process.WaitForExitAsync();
        return WaitAsync();

        async Task WaitAsync()
        {
            Task first = await Task.WhenAny(seen.Task, exited).WaitAsync(timeout);
            if (first != seen.Task && !seen.Task.IsCompleted)
            {
                throw new InvalidOperationException($"flanneld exited ({_process.ExitCode}) before logging \"{text}\":\n{Log}");
            }
        }
    }

    /// <summary>Sends SIGTERM (as systemd does) and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (Process kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string line)
    {
        lock (_lock)
        {
            _log.Enqueue(line);
            foreach ((string text, TaskCompletionSource seen) in _waiters.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                seen.TrySetResult();
                _waiters.Remove((text, seen));
            }
        }
    }
}
