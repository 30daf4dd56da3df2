using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Platform.Etcd.IntegrationTests.Infrastructure;

/// <summary>The outcome of a finished command.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public CommandResult EnsureSuccess(string what)
    {
        Assert.True(ExitCode == 0, $"{what} exited {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        return this;
    }
}

/// <summary>
/// A child process we started, tracked by its PID and killed with its descendants on
/// <see cref="Dispose"/> whatever happened (never by name). Output lines are collected and can be awaited.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public string Output => string.Join('\n', _lines);

    public Task Exited => _exited.Task;

    public int ExitCode => _process.ExitCode;

    public static ChildProcess Start(string file, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A test decides every ETCD*_ variable itself.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(key);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child.OnExited();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        return child;
    }

    /// <summary>Runs to completion (killed after <paramref name="timeout"/>) and returns what it printed.</summary>
    public static async Task<CommandResult> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, IDictionary<string, string>? environment = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(key);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = new Process { StartInfo = start };
        process.Start();
        try
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cts.Token);
            return new CommandResult(process.ExitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {timeout}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>The first line (already printed or still to come) that matches; fails when the process exits first or time runs out.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            string? seen = _lines.FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }

            _waiters.Add((match, done));
        }

        Task finished = await Task.WhenAny(done.Task, _exited.Task, Task.Delay(timeout));
        if (finished == done.Task)
        {
            return await done.Task;
        }

        lock (_lock)
        {
            string? seen = _lines.FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }
        }

        throw finished == _exited.Task
            ? new InvalidOperationException($"process exited ({_process.ExitCode}) before the expected line; output:\n{Output}")
            : new TimeoutException($"no expected line within {timeout}; output so far:\n{Output}");
    }

    /// <summary>Sends SIGTERM (a graceful stop).</summary>
    public void Terminate() => Posix.Kill(_process.Id, Posix.SigTerm);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(30_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _lines.Enqueue(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    _waiters[i].Done.TrySetResult(line);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void OnExited()
    {
        // Let the output readers drain first.
        _process.WaitForExit();
        _exited.TrySetResult();
    }
}

internal static class Posix
{
    public const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public static void Kill(int pid, int signal)
    {
        if (SysKill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }
}

/// <summary>UTF-8 helpers for tests.</summary>
internal static class Text
{
    public static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    public static string FromB64(string s) => Encoding.UTF8.GetString(Convert.FromBase64String(s));

    public static System.Text.Json.JsonElement Json(string text)
    {
        using var document = System.Text.Json.JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
