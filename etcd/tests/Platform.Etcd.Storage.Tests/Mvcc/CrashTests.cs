using System.Diagnostics;
using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// Backend commits lag the apply path; a crash must leave the backend at a commit boundary whose
/// consistent index says exactly which entries it holds, so the server's WAL replay above that
/// index restores everything. Each test compares the recovered store, then the store after the
/// replay, with a reference store that applied the same entries without crashing.
/// </summary>
public sealed class CrashTests
{
    [Fact]
    public void DisposeWithoutCommit_ReopensAtTheLastCommitWithExactlyItsEntries()
    {
        using var dir = TestDirectory.Create(nameof(DisposeWithoutCommit_ReopensAtTheLastCommitWithExactlyItsEntries));
        var options = new MvccOptions { BackendBatchInterval = Timeout.InfiniteTimeSpan, BackendBatchLimit = int.MaxValue };
        var store = (MvccStore)MvccStores.Open(dir.Combine("crashed", "db"), options);
        for (ulong i = 1; i <= 100; i++)
        {
            CrashWorkload.ApplyEntry(store, i);
            if (i is 30 or 70)
            {
                store.ForceCommit();
            }
        }

        // Applied (and visible) up to 100, committed up to 70.
        Assert.Equal(new RaftPosition(100, CrashWorkload.Term), store.ConsistentIndex);
        Assert.Equal(new RaftPosition(70, CrashWorkload.Term), store.CommittedConsistentIndex);
        Assert.Equal("value 100", StoreFixture.Value(store, "hot/15"));
        store.DisposeWithoutCommit();

        AssertRecoversAndReplays(dir, dir.Combine("crashed", "db"), expectedIndex: 70, replayTo: 100);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Kill_DuringWritesAndCommits_RecoversAtItsConsistentIndexAndReplaysToTheNeverCrashedState(int progressLines)
    {
        using var dir = TestDirectory.Create(nameof(Kill_DuringWritesAndCommits_RecoversAtItsConsistentIndexAndReplaysToTheNeverCrashedState));
        string path = dir.Combine("crashed", "db");
        ulong applied = await RunWriterUntilKilled(path, progressLines);

        // At least one commit happened before the kill (the writer reported it), so the backend
        // is past entry 0; which commit it is at depends on where the kill landed. The server's
        // job after a restart is to replay every entry above it from the WAL; here the "WAL" is
        // the deterministic workload.
        ulong index;
        using (IKvStore recovered = MvccStores.Open(path))
        {
            index = recovered.ConsistentIndex.Index;
            Assert.True(index > 0, "no commit survived");
        }

        AssertRecoversAndReplays(dir, path, index, replayTo: Math.Max(index, applied) + 50);
    }

    /// <summary>Checks the store at <paramref name="path"/> holds entries 1..<paramref name="expectedIndex"/>, replays to <paramref name="replayTo"/> and compares again.</summary>
    private static void AssertRecoversAndReplays(TestDirectory dir, string path, ulong expectedIndex, ulong replayTo)
    {
        using IKvStore recovered = MvccStores.Open(path);
        Assert.Equal(new RaftPosition(expectedIndex, expectedIndex == 0 ? 0 : CrashWorkload.Term), recovered.ConsistentIndex);
        Assert.Equal(Reference(dir, expectedIndex), CrashWorkload.Describe(recovered));
        for (ulong i = recovered.ConsistentIndex.Index + 1; i <= replayTo; i++)
        {
            CrashWorkload.ApplyEntry(recovered, i);
        }

        Assert.Equal(Reference(dir, replayTo), CrashWorkload.Describe(recovered));
    }

    /// <summary>The state after applying entries 1..<paramref name="lastEntry"/> to a fresh store, never crashed.</summary>
    private static List<string> Reference(TestDirectory dir, ulong lastEntry)
    {
        string path = dir.Combine($"reference-{lastEntry}-{Guid.NewGuid():N}", "db");
        using IKvStore store = MvccStores.Open(path);
        for (ulong i = 1; i <= lastEntry; i++)
        {
            CrashWorkload.ApplyEntry(store, i);
        }

        return CrashWorkload.Describe(store);
    }

    /// <summary>
    /// Runs <see cref="CrashWriterProgram"/> on <paramref name="path"/> and kills it with SIGKILL
    /// once it has printed <paramref name="progressLines"/> progress lines and at least one backend
    /// commit happened; the writer is mid-entry or mid-commit then, as it never stops.
    /// </summary>
    /// <returns>The entries it had applied at its last progress line.</returns>
    private static async Task<ulong> RunWriterUntilKilled(string path, int progressLines)
    {
        string assembly = typeof(CrashWriterProgram).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "exec", assembly, "crash-writer", path })
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        Task<string> errors = child.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            ulong applied = 0;
            long commits = 0;
            for (int seen = 0; seen < progressLines || commits == 0;)
            {
                string? line = await child.StandardOutput.ReadLineAsync(timeout.Token);
                if (line is null)
                {
                    Assert.Fail($"the writer exited early: {await errors}");
                }

                string[] parts = line.Split(' ');
                Assert.Equal("progress", parts[0]);
                applied = ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                commits = long.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
                seen++;
            }

            // Process.Kill is SIGKILL on Unix: no finalizers, no Dispose, no last commit.
            child.Kill();
            await child.WaitForExitAsync(timeout.Token);
            Assert.NotEqual(0, child.ExitCode);
            return applied;
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }
}
