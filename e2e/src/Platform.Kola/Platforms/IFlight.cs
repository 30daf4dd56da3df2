namespace Platform.Kola.Platforms;

/// <summary>
/// One platform's session (kola's Flight): what every cluster of a run shares, such as the test
/// bridge or the discovery service. Created once per <c>kola run</c>, disposed at its end.
/// </summary>
public interface IFlight : IAsyncDisposable
{
    /// <summary>The platform name users pass to <c>-p</c> (e.g. <c>netns</c>).</summary>
    public string Platform { get; }

    /// <summary>Creates an empty cluster; machines are added with <see cref="ICluster.NewMachineAsync"/>.</summary>
    /// <param name="options">Where the cluster keeps its per-machine output.</param>
    /// <param name="cancellationToken">Aborts the creation.</param>
    public ValueTask<ICluster> NewClusterAsync(ClusterOptions options, CancellationToken cancellationToken);
}

/// <summary>What a cluster is created with.</summary>
/// <param name="Name">A short name, unique within the flight (e.g. the test name).</param>
/// <param name="OutputDirectory">Where each machine's <c>console.txt</c>, <c>journal.txt</c> and <c>user-data</c> go, one directory per machine.</param>
public sealed record ClusterOptions(string Name, string OutputDirectory);

/// <summary>Makes a flight for a platform name; one per platform implementation.</summary>
public interface IFlightFactory
{
    /// <summary>The platform name (e.g. <c>netns</c>).</summary>
    public string Platform { get; }

    /// <summary>Why this platform cannot run here (not root, missing packages), or null when it can.</summary>
    public string? Unavailable();

    /// <summary>Starts a flight.</summary>
    public ValueTask<IFlight> CreateAsync(CancellationToken cancellationToken);
}
