using Platform.Kola.Platforms;

namespace Platform.Kola.Registry;

/// <summary>What a test body gets (kola's cluster.TestCluster): its cluster, its machines, a log and helpers that fail the test with a clear message.</summary>
public sealed class TestCluster
{
    private readonly Func<string?, CancellationToken, ValueTask<string?>> _render;
    private readonly Action<string> _log;

    internal TestCluster(string name, string platform, ICluster cluster, string outputDirectory,
        Func<string?, CancellationToken, ValueTask<string?>> render, Action<string> log)
    {
        Name = name;
        Platform = platform;
        Cluster = cluster;
        OutputDirectory = outputDirectory;
        _render = render;
        _log = log;
    }

    /// <summary>The test's name.</summary>
    public string Name { get; }

    /// <summary>The platform the test runs on.</summary>
    public string Platform { get; }

    /// <summary>The cluster created for this test (fault helpers: partition and heal).</summary>
    public ICluster Cluster { get; }

    /// <summary>The cluster's machines.</summary>
    public IReadOnlyList<IMachine> Machines => Cluster.Machines;

    /// <summary>This test's output directory (machine logs go beneath it).</summary>
    public string OutputDirectory { get; }

    /// <summary>Adds a line to the test's output (in report.json and on failure in the TAP file).</summary>
    public void Log(string message) => _log(message);

    /// <summary>Fails the test now.</summary>
    /// <exception cref="KolaTestFailedException">Always.</exception>
    public static void Fail(string message) => throw new KolaTestFailedException(message);

    /// <summary>Boots one more machine; its user data is rendered like the registered one (same <c>$discovery</c>).</summary>
    public async ValueTask<IMachine> NewMachineAsync(string? userData, CancellationToken cancellationToken) =>
        await Cluster.NewMachineAsync(await _render(userData, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Runs <paramref name="command"/> on <paramref name="machine"/> (logged) and returns its trimmed stdout; fails the test when it exits non-zero.</summary>
    /// <exception cref="KolaTestFailedException">The command failed.</exception>
    public async ValueTask<string> MustRunAsync(IMachine machine, string command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machine);
        _log($"{machine.Id}$ {command}");
        CommandResult result = await machine.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new KolaTestFailedException(
                $"{machine.Id}: `{command}` exited with {result.ExitCode}: {result.StandardError.Trim()}{Environment.NewLine}{result.StandardOutput.Trim()}".TrimEnd());
        }

        return result.StandardOutput.Trim();
    }
}

/// <summary>A test's own verdict that it failed (as opposed to an unexpected exception, reported with its stack).</summary>
public sealed class KolaTestFailedException : Exception
{
    public KolaTestFailedException()
    {
    }

    public KolaTestFailedException(string message)
        : base(message)
    {
    }

    public KolaTestFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
