using System.Diagnostics;
using Platform.Linux.Netns;

namespace Platform.Flannel.Node.IntegrationTests;

/// <summary>
/// A throwaway network namespace bind-mounted at <c>/run/netns/NAME</c> (so <c>ip -n</c> and
/// <c>nsenter --net=</c> find it); deleted with everything in it on dispose.
/// </summary>
internal sealed class Netns : IDisposable
{
    private readonly NetworkNamespace _namespace;

    private Netns(string name, NetworkNamespace ns)
    {
        Name = name;
        _namespace = ns;
    }

    public string Name { get; }

    public string Path => _namespace.Path;

    public static Netns Create(string prefix)
    {
        string name = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        return new Netns(name, NetworkNamespace.Create($"/run/netns/{name}"));
    }

    /// <summary>Runs synchronous code (sockets made inside stay in this namespace).</summary>
    public T Run<T>(Func<T> function) => _namespace.Run(function);

    /// <summary>Runs a command inside the namespace (<c>nsenter --net=</c>); stdout, stderr and exit code.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> ExecAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment = null, string? stdin = null)
    {
        return await Exec.RunAsync(["nsenter", $"--net={Path}", .. argv], environment, stdin);
    }

    /// <summary>Like <see cref="ExecAsync"/>, but a non-zero exit fails the test with the command's stderr.</summary>
    public async Task<string> RunAsync(params string[] argv)
    {
        (int code, string stdout, string stderr) = await ExecAsync(argv);
        Assert.True(code == 0, $"[{string.Join(' ', argv)}] in {Name} exited {code}: {stderr}");
        return stdout;
    }

    public void Dispose()
    {
        string path = _namespace.Path;
        _namespace.Dispose();
        NetworkNamespace.Delete(path);
    }
}

internal static class Exec
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"[{string.Join(' ', argv)}] did not exit within 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
