namespace Platform.Kola.Harness;

/// <summary>How a test ended (mantle's testresult: PASS, FAIL, SKIP).</summary>
public enum TestStatus
{
    Pass,
    Fail,
    Skip,
}

/// <summary>One test's outcome.</summary>
/// <param name="Name">The test's name.</param>
/// <param name="Status">Pass, fail or skip.</param>
/// <param name="Duration">Cluster creation, body and log collection together.</param>
/// <param name="Output">The test's log lines and, on failure, why.</param>
/// <param name="Phases">How long each phase took (<c>cluster</c>, <c>machines</c>, <c>test</c>, <c>logs</c>, <c>destroy</c>).</param>
public sealed record TestResult(string Name, TestStatus Status, TimeSpan Duration, string Output, IReadOnlyList<(string Phase, TimeSpan Took)> Phases);

/// <summary>A whole run's outcome: where its output is and each test's result in registration order.</summary>
public sealed record RunResult(string Platform, string OutputDirectory, IReadOnlyList<TestResult> Tests)
{
    /// <summary>Whether no test failed (skips do not fail a run).</summary>
    public bool Passed => Tests.All(t => t.Status != TestStatus.Fail);
}

/// <summary>How a run is done.</summary>
public sealed class HarnessOptions
{
    /// <summary>Runs go to <c>OutputRoot/&lt;platform&gt;-yyyy-MM-dd-HHmm-&lt;pid&gt;</c>, with a <c>&lt;platform&gt;-latest</c> symlink.</summary>
    public string OutputRoot { get; init; } = "_kola_temp";

    /// <summary>How many tests run at once (kola's <c>-j</c>).</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Where "=== RUN" / "--- PASS" progress lines go.</summary>
    public TextWriter Progress { get; init; } = TextWriter.Null;

    /// <summary>Clock for run directory names and durations.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
