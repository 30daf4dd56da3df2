using System.Globalization;
using System.Text;
using Platform.Kola.Platforms;
using Platform.Kola.Registry;

namespace Platform.Kola.Harness;

/// <summary>
/// Runs registered tests on one platform (kola's RunTests): one flight for the run, a fresh
/// cluster per test with its machines booted from the rendered user data, the body under the
/// test's timeout, then every machine's console and journal saved and scanned, the cluster
/// destroyed whatever happened, and report.json + test.tap written at the end.
/// </summary>
public static class KolaHarness
{
    /// <summary>Runs <paramref name="tests"/> on the platform <paramref name="factory"/> makes.</summary>
    /// <returns>The results; <see cref="RunResult.Passed"/> is false when any test failed.</returns>
    public static async Task<RunResult> RunAsync(IReadOnlyList<KolaTest> tests, IFlightFactory factory, HarnessOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tests);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallel, 1);

        string runDirectory = CreateRunDirectory(options, factory.Platform);
        var results = new TestResult[tests.Count];
        string? unavailable = factory.Unavailable();
        if (unavailable is not null)
        {
            for (int i = 0; i < tests.Count; i++)
            {
                results[i] = new TestResult(tests[i].Name, TestStatus.Skip, TimeSpan.Zero, $"platform {factory.Platform} unavailable: {unavailable}", []);
                Progress(options, $"--- SKIP: {tests[i].Name} (platform {factory.Platform} unavailable: {unavailable})");
            }
        }
        else
        {
            IFlight flight = await factory.CreateAsync(cancellationToken).ConfigureAwait(false);
            await using (flight.ConfigureAwait(false))
            {
                using var gate = new SemaphoreSlim(options.Parallel);
                await Task.WhenAll(tests.Select(async (test, i) =>
                {
                    await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        results[i] = await RunOneAsync(test, flight, runDirectory, options, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                })).ConfigureAwait(false);
            }
        }

        var run = new RunResult(factory.Platform, runDirectory, results);
        await KolaReports.WriteAsync(run, cancellationToken).ConfigureAwait(false);
        Progress(options, $"{(run.Passed ? "PASS" : "FAIL")}, output in {runDirectory}");
        return run;
    }

    private static async Task<TestResult> RunOneAsync(KolaTest test, IFlight flight, string runDirectory, HarnessOptions options, CancellationToken cancellationToken)
    {
        Progress(options, $"=== RUN   {test.Name}");
        var output = new StringBuilder();
        void Log(string line)
        {
            lock (output)
            {
                output.Append(line).Append('\n');
            }
        }

        var phases = new List<(string, TimeSpan)>();
        long started = options.TimeProvider.GetTimestamp();
        long phaseStart = started;
        void EndPhase(string phase)
        {
            long now = options.TimeProvider.GetTimestamp();
            phases.Add((phase, options.TimeProvider.GetElapsedTime(phaseStart, now)));
            phaseStart = now;
        }

        string testDirectory = Path.Combine(runDirectory, test.Name);
        Directory.CreateDirectory(testDirectory);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(test.Timeout);
        ICluster? cluster = null;
        bool failed = false;
        try
        {
            cluster = await flight.NewClusterAsync(new ClusterOptions(test.Name, testDirectory), timeout.Token).ConfigureAwait(false);
            EndPhase("cluster");
            Uri? discovery = null;
            async ValueTask<string?> Render(string? template, CancellationToken ct)
            {
                if (template is null || !template.Contains("$discovery", StringComparison.Ordinal))
                {
                    return template;
                }

                discovery ??= await cluster.GetDiscoveryUrlAsync(Math.Max(test.ClusterSize, 1), ct).ConfigureAwait(false);
                return template.Replace("$discovery", discovery.ToString(), StringComparison.Ordinal);
            }

            string? userData = await Render(test.UserData, timeout.Token).ConfigureAwait(false);
            await Task.WhenAll(Enumerable.Range(0, test.ClusterSize)
                .Select(_ => cluster.NewMachineAsync(userData, timeout.Token).AsTask())).ConfigureAwait(false);
            EndPhase("machines");
            var handle = new TestCluster(test.Name, flight.Platform, cluster, testDirectory, Render, Log);
            await test.Run(handle, timeout.Token).ConfigureAwait(false);
            EndPhase("test");
        }
        catch (KolaTestFailedException e)
        {
            failed = true;
            Log(e.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failed = true;
            Log($"timed out after {test.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            failed = true;
            Log(e.ToString());
        }
        finally
        {
            if (cluster is not null)
            {
                foreach (string problem in await SaveMachineLogsAsync(cluster, testDirectory).ConfigureAwait(false))
                {
                    failed = true;
                    Log(problem);
                }

                EndPhase("logs");
                try
                {
                    await cluster.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    failed = true;
                    Log($"destroying the cluster failed: {e}");
                }

                EndPhase("destroy");
            }
        }

        TimeSpan took = options.TimeProvider.GetElapsedTime(started);
        var status = failed ? TestStatus.Fail : TestStatus.Pass;
        Progress(options, $"--- {(failed ? "FAIL" : "PASS")}: {test.Name} ({took.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}s)");
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        if (failed)
        {
            foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Progress(options, "        " + line);
            }
        }

        return new TestResult(test.Name, status, took, text, phases);
    }

    /// <summary>Writes each machine's console.txt and journal.txt and returns what the scan found in them.</summary>
    private static async Task<List<string>> SaveMachineLogsAsync(ICluster cluster, string testDirectory)
    {
        var problems = new List<string>();
        foreach (IMachine machine in cluster.Machines)
        {
            string directory = Path.Combine(testDirectory, machine.Id);
            Directory.CreateDirectory(directory);
            string console = machine.ConsoleOutput();
            string journal = machine.JournalOutput();
            await File.WriteAllTextAsync(Path.Combine(directory, "console.txt"), console).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(directory, "journal.txt"), journal).ConfigureAwait(false);
            problems.AddRange(LogScanner.Scan($"{machine.Id} console", console));
            problems.AddRange(LogScanner.Scan($"{machine.Id} journal", journal));
        }

        return problems;
    }

    private static string CreateRunDirectory(HarnessOptions options, string platform)
    {
        DateTime now = options.TimeProvider.GetLocalNow().DateTime;
        string name = string.Create(CultureInfo.InvariantCulture, $"{platform}-{now:yyyy-MM-dd-HHmm}-{Environment.ProcessId}");
        string directory = Path.Combine(options.OutputRoot, name);
        Directory.CreateDirectory(directory);

        // <platform>-latest points at the newest run (a relative link, so the tree can be moved).
        string latest = Path.Combine(options.OutputRoot, $"{platform}-latest");
        File.Delete(latest);
        File.CreateSymbolicLink(latest, name);
        return directory;
    }

    private static void Progress(HarnessOptions options, string line)
    {
        lock (options.Progress)
        {
            options.Progress.WriteLine(line);
            options.Progress.Flush();
        }
    }
}
