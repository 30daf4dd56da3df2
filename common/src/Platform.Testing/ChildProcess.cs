using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Platform.Testing;

/// <summary>
/// A long-running child process a test started (a server, <c>etcdctl watch</c>, ...): tracked by its
/// PID and killed with its descendants on <see cref="KillAsync"/> or <see cref="Dispose"/> whatever
/// happened (never by name). Its stdout and stderr lines are collected and can be awaited;
/// <see cref="Exited"/> completes only once the output has been read to the end, so
/// <see cref="Output"/> is complete in failure messages. Inherited <c>ETCD*</c> variables are dropped:
/// a test decides every etcd and etcdctl setting itself.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _keepLines;
    private readonly Action<string>? _onLine;

    private ChildProcess(Process process, int keepLines, Action<string>? onLine)
    {
        _process = process;
        _keepLines = keepLines;
        _onLine = onLine;
    }

    public int Pid => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The lines written so far (the last <c>keepLines</c> of them).</summary>
    public string Output => string.Join('\n', _lines);

    /// <summary>Completes when the process exited and its output was read to the end.</summary>
    public Task Exited => _exited.Task;

    public int ExitCode => _process.ExitCode;

    /// <param name="file">The executable.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="environment">Variables set for it (after inherited ETCD* ones are dropped).</param>
    /// <param name="stdin">Written to its stdin, which is then closed; null leaves stdin alone.</param>
    /// <param name="keepLines">How many of the last output lines to keep.</param>
    /// <param name="onLine">Called with every output line as it arrives.</param>
    public static ChildProcess Start(string file, IEnumerable<string> arguments, IEnumerable<KeyValuePair<string, string>>? environment = null, string? stdin = null, int keepLines = int.MaxValue, Action<string>? onLine = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
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

        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(key);
        }

        foreach ((string key, string value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process, keepLines, onLine);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child.OnExited();
        try
        {
            process.Start();
        }
        catch
        {
            process.Dispose();
            throw;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        return child;
    }

    /// <summary>The first line (already printed or still to come) that matches; fails when the process exits first or time runs out.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lines.FirstOrDefault(match) is { } seen)
            {
                return seen;
            }

            _waiters.Add((match, done));
        }

        Task finished = await Task.WhenAny(done.Task, _exited.Task, Task.Delay(timeout)).ConfigureAwait(false);
        if (finished == done.Task)
        {
            return await done.Task.ConfigureAwait(false);
        }

        lock (_lock)
        {
            _waiters.RemoveAll(w => w.Done == done);
            if (_lines.FirstOrDefault(match) is { } seen)
            {
                return seen;
            }
        }

        throw finished == _exited.Task
            ? new InvalidOperationException($"{_process.StartInfo.FileName} exited ({_process.ExitCode}) before the expected line; output:\n{Output}")
            : new TimeoutException($"{_process.StartInfo.FileName}: no expected line within {timeout}; output so far:\n{Output}");
    }

    /// <summary>Sends SIGTERM (a graceful stop).</summary>
    public void Terminate()
    {
        if (SysKill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>SIGKILL to the process and its descendants (no shutdown path runs); completes when it is gone and its output read.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }

        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
    }

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
            // Already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _onLine?.Invoke(line);
        lock (_lock)
        {
            _lines.Enqueue(line);
            while (_lines.Count > _keepLines)
            {
                _lines.TryDequeue(out _);
            }

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
