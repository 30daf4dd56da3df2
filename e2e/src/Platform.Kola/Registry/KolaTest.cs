namespace Platform.Kola.Registry;

/// <summary>
/// A test registered as data (kola's register.Test): the harness reads these fields to decide
/// where the test runs and what cluster it gets; <see cref="Run"/> is the only code.
/// </summary>
public sealed record KolaTest
{
    /// <summary>Unique, dotted (<c>etcd.discovery</c>); what <c>kola run GLOB</c> matches.</summary>
    public required string Name { get; init; }

    /// <summary>The test body; throw (or call <see cref="TestCluster.Fail"/>) to fail.</summary>
    public required Func<TestCluster, CancellationToken, Task> Run { get; init; }

    /// <summary>Machines created before <see cref="Run"/>, each with <see cref="UserData"/>; 0 = the test makes its own.</summary>
    public int ClusterSize { get; init; } = 1;

    /// <summary>The cloud-config template (<c>$discovery</c>, <c>$private_ipv4</c>, <c>$public_ipv4</c>), or null.</summary>
    public string? UserData { get; init; }

    /// <summary>Platforms the test runs on; empty = every platform.</summary>
    public IReadOnlyList<string> Platforms { get; init; } = [];

    /// <summary>Platforms the test never runs on.</summary>
    public IReadOnlyList<string> ExcludePlatforms { get; init; } = [];

    /// <summary>The whole test, cluster creation included, fails after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether the test runs on <paramref name="platform"/>.</summary>
    public bool RunsOn(string platform) =>
        (Platforms.Count == 0 || Platforms.Contains(platform, StringComparer.Ordinal))
        && !ExcludePlatforms.Contains(platform, StringComparer.Ordinal);
}
