using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// Background backend commits: applied writes are visible at once through the overlay, commits
/// happen on the interval, the op limit or ForceCommit, off the apply path and between writers.
/// </summary>
public sealed class BackendBatchingTests
{
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(30);

    private static MvccOptions NoBackgroundCommits(int limit = int.MaxValue) =>
        new() { BackendBatchInterval = Timeout.InfiniteTimeSpan, BackendBatchLimit = limit };

    [Fact]
    public void Put_IsReadableAtEveryRevisionBeforeAndAfterTheBackendCommit()
    {
        using var dir = TestDirectory.Create(nameof(Put_IsReadableAtEveryRevisionBeforeAndAfterTheBackendCommit));
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());
        store.Put("a", "1"); // 2
        store.Put("a", "2"); // 3
        store.Put("b", "1"); // 4
        store.Delete("a"); // 5
        store.Put("a", "3"); // 6
        Assert.Equal(0, store.CommitCount);
        Assert.Equal(5, store.UncommittedRevisions);
        List<string> before = Observe(store);
        Assert.Equal("a=2 c2 m3 v2 l0", store.Get("a", rev: 4).Kvs.Single().Describe());
        Assert.Empty(store.Get("a", rev: 5).Kvs);

        store.ForceCommit();

        Assert.Equal(1, store.CommitCount);
        Assert.Equal(0, store.UncommittedRevisions);
        Assert.Equal(before, Observe(store));

        // History spans the backend and the overlay: committed 2..6, uncommitted 7..8.
        store.Put("b", "2"); // 7
        store.Delete("b"); // 8
        Assert.Equal(2, store.UncommittedRevisions);
        ChangesResult changes = store.Changes(5, includePrevKv: true);
        Assert.Equal([5L, 6, 7, 8], changes.Events.Select(e => e.Kv.ModRevision));
        Assert.Equal("b=1 c4 m4 v1 l0", changes.Events[2].PrevKv.Describe());
        Assert.Equal("b=2 c4 m7 v2 l0", changes.Events[3].PrevKv.Describe());
        Assert.All(store.Changes(5).Events, e => Assert.Null(e.PrevKv));
        ChangesResult page = store.Changes(6, limit: 1);
        Assert.Single(page.Events);
        Assert.Equal(7, page.NextRevision);
        page = store.Changes(7, limit: 1);
        Assert.Equal(8, page.NextRevision);
        Assert.Equal(9, store.Changes(8).NextRevision);

        static List<string> Observe(IKvStore store)
        {
            var lines = new List<string>();
            for (long rev = 2; rev <= store.CurrentRevision; rev++)
            {
                lines.AddRange(store.Get("\0", "\0", rev: rev).Kvs.Select(kv => $"@{rev} {kv.Describe()}"));
            }

            lines.AddRange(store.Changes(1, includePrevKv: true).Events.Select(e => $"{e.Type} {e.Kv.Describe()} prev {e.PrevKv?.Describe()}"));
            return lines;
        }
    }

    [Fact]
    public void Subscribe_FiresWhenTheWriteIsApplied_NotAtTheBackendCommit()
    {
        using var dir = TestDirectory.Create(nameof(Subscribe_FiresWhenTheWriteIsApplied_NotAtTheBackendCommit));
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());
        var seen = new List<(long Revision, long CommitsThen, long VisibleThen)>();
        using IDisposable subscription = store.Subscribe(c => seen.Add((c.Revision, store.CommitCount, store.CurrentRevision)));
        store.Put("a", "1");
        store.Put("b", "1");
        Assert.Equal([(2L, 0L, 2L), (3L, 0L, 3L)], seen);
        store.ForceCommit();
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task Commit_WhenTheIntervalTimerFires()
    {
        using var dir = TestDirectory.Create(nameof(Commit_WhenTheIntervalTimerFires));
        var clock = new ManualTimeProvider();
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), new MvccOptions { TimeProvider = clock, BackendBatchInterval = TimeSpan.FromMilliseconds(100) });
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.CommittedHook = () => committed.TrySetResult();
        store.Put("a", "1");
        store.SetConsistentIndex(new RaftPosition(1, 1));
        Assert.Equal(1, clock.TimerCount);
        Assert.Equal(0, store.CommitCount);

        clock.FireTimers();
        await committed.Task.WaitAsync(s_guard);

        Assert.Equal(1, store.CommitCount);
        Assert.Equal(new RaftPosition(1, 1), store.CommittedConsistentIndex);
        Assert.Equal(0, store.UncommittedRevisions);
    }

    [Fact]
    public async Task Commit_WhenTheBatchLimitIsReached_WithoutWaitingForTheInterval()
    {
        using var dir = TestDirectory.Create(nameof(Commit_WhenTheBatchLimitIsReached_WithoutWaitingForTheInterval));
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits(limit: 10));
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.CommittedHook = () => committed.TrySetResult();
        for (int i = 0; i < 9; i++)
        {
            store.Put($"k{i}", "v");
        }

        Assert.Equal(0, store.CommitCount);
        store.Put("k9", "v"); // the 10th op
        await committed.Task.WaitAsync(s_guard);
        Assert.True(store.CommitCount >= 1);
    }

    [Fact]
    public void Batch_IsNeverSplitByABackendCommit()
    {
        using var dir = TestDirectory.Create(nameof(Batch_IsNeverSplitByABackendCommit));
        var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());
        Exception? commitError = null;
        var committer = new Thread(() =>
        {
            try
            {
                store.ForceCommit();
            }
            catch (Exception e)
            {
                commitError = e;
            }
        });
        using (store.BeginBatch())
        {
            store.Put("a", "1");
            store.SetConsistentIndex(new RaftPosition(1, 1));

            // A commit asked for from another thread (not started from the batch's flow, which
            // would own the batch) waits for the batch to end (if it did not, it would finish
            // well within this bound: it has nothing else to wait for).
            committer.UnsafeStart();
            Assert.False(committer.Join(TimeSpan.FromMilliseconds(200)), "a commit ran inside the batch");
            store.Put("b", "1");
            store.SetConsistentIndex(new RaftPosition(2, 1));
            Assert.Equal(0, store.CommitCount);

            // And the owner cannot deadlock itself.
            Assert.Throws<InvalidOperationException>(store.ForceCommit);
            Assert.Throws<InvalidOperationException>(() => store.BeginBatch());
        }

        // The commit that waited holds the whole batch: a crash now loses nothing of it.
        Assert.True(committer.Join(s_guard));
        Assert.Null(commitError);
        Assert.Equal(1, store.CommitCount);
        Assert.Equal(new RaftPosition(2, 1), store.CommittedConsistentIndex);
        store.DisposeWithoutCommit();
        using IKvStore reopened = MvccStores.Open(dir.DbPath());
        Assert.Equal(new RaftPosition(2, 1), reopened.ConsistentIndex);
        Assert.Equal(["a", "b"], reopened.Get("\0", "\0").Keys());
    }

    [Fact]
    public async Task Batch_OwnerContinuesOnAnotherThreadAfterAwait_WritesWithoutWaiting()
    {
        using var dir = TestDirectory.Create(nameof(Batch_OwnerContinuesOnAnotherThreadAfterAwait_WritesWithoutWaiting));
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());

        // An async apply loop: the batch is owned by the flow, not by the thread it began on.
        Task apply = Task.Run(async () =>
        {
            using (store.BeginBatch())
            {
                int before = Environment.CurrentManagedThreadId;
                store.Put("a", "1");
                await Task.Delay(1).ConfigureAwait(false);
                store.Put("b", "1");
                store.Tables.Put(ServerTables.Lease, B("l"), B("v"));
                store.SetConsistentIndex(new RaftPosition(1, 1));
                Assert.Throws<InvalidOperationException>(store.ForceCommit);
                return before;
            }
        });
        await apply.WaitAsync(s_guard);
        store.ForceCommit();
        Assert.Equal(new RaftPosition(1, 1), store.CommittedConsistentIndex);

        // Another flow (one not started from the batch's) is not the owner: it waits for the batch.
        Task other;
        using (store.BeginBatch())
        {
            using (ExecutionContext.SuppressFlow())
            {
                other = Task.Run(() => store.Put("c", "1"));
            }

            Assert.NotSame(other, await Task.WhenAny(other, Task.Delay(100)));
            store.Put("d", "1");
            Assert.False(other.IsCompleted);
        }

        await other.WaitAsync(s_guard);
        Assert.Equal(["a", "b", "c", "d"], store.Get("\0", "\0").Keys());
        Assert.Equal(5, store.Get("c").Kvs.Single().ModRevision); // after d (4)
    }

    [Fact]
    public void Write_WhileHoldingAWriteTransactionOnTheSameThread_Throws()
    {
        using var dir = TestDirectory.Create(nameof(Write_WhileHoldingAWriteTransactionOnTheSameThread_Throws));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        using IWriteTxn txn = store.Write();
        Assert.Throws<InvalidOperationException>(() => store.Write());
        Assert.Throws<InvalidOperationException>(() => store.Tables.Put(ServerTables.Lease, B("x"), B("y")));
        Assert.Throws<InvalidOperationException>(store.ForceCommit);
    }

    [Fact]
    public async Task Read_WhileCommitsRun_SeesEveryAppliedRevisionCompletely()
    {
        using var dir = TestDirectory.Create(nameof(Read_WhileCommitsRun_SeesEveryAppliedRevisionCompletely));

        // Tiny batches: a commit swaps and drops overlays every few writes, racing the readers.
        using IKvStore store = MvccStores.Open(dir.DbPath(), NoBackgroundCommits(limit: 7));
        const int Writes = 3000;
        const int Readers = 2;
        using var readersStarted = new CountdownEvent(Readers);
        long totalChecks = 0;
        Task writer = Task.Run(() =>
        {
            Assert.True(readersStarted.Wait(s_guard));
            for (int i = 0; i < Writes; i++)
            {
                using (IWriteTxn txn = store.Write())
                {
                    txn.Put(B($"k{i % 100:D3}"), B($"{i}"));
                    txn.Put(B($"n{i:D5}"), B($"{i}"));
                }

                // Besides the limit's background commits, a commit at least every 50 writes.
                if (i % 50 == 49)
                {
                    store.ForceCommit();
                }

                // Every 300 writes, wait until the readers have checked again, so reads overlap
                // the writes by construction rather than by scheduling luck on a busy machine.
                if (i % 300 == 299)
                {
                    long seen = Interlocked.Read(ref totalChecks);
                    Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref totalChecks) > seen + Readers, s_guard), "readers stalled");
                }
            }
        });
        Task<long>[] readers = [.. Enumerable.Range(0, Readers).Select(_ => Task.Run(() =>
        {
            long checks = 0;
            readersStarted.Signal();
            do
            {
                using IReadTxn read = store.Read();
                long applied = read.Revision - 1; // write i has revision i + 2
                RangeResult all = read.Range(B("n"), B("o"));
                Assert.Equal(applied, all.Count);
                Assert.Equal(applied, all.Kvs.Count);
                if (applied > 0)
                {
                    Assert.Equal($"{applied - 1}", all.Kvs[^1].Value.ToStringUtf8());
                    Assert.Equal(read.Revision, read.Range(B("k000"), B("k100")).Kvs.Max(kv => kv.ModRevision));
                }

                checks++;
                Interlocked.Increment(ref totalChecks);
            }
            while (!writer.IsCompleted);

            return checks;
        }))];
        await writer.WaitAsync(s_guard);
        long[] checks = await Task.WhenAll(readers).WaitAsync(s_guard);
        Assert.True(checks.Sum() > Writes / 300 * Readers, "the readers did not overlap the writes");
        Assert.True(((MvccStore)store).CommitCount >= Writes / 50, $"{((MvccStore)store).CommitCount} commits");
        Assert.Equal(Writes, store.Get("n", "o").Count);
    }

    [Fact]
    public async Task Compact_OfRevisionsNotYetCommitted_RemovesThemFromTheKeyTable()
    {
        using var dir = TestDirectory.Create(nameof(Compact_OfRevisionsNotYetCommitted_RemovesThemFromTheKeyTable));
        using var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());
        for (int i = 0; i < 20; i++)
        {
            store.Put($"k{i % 4}", $"v{i}");
        }

        Assert.Equal(0, store.CommitCount);
        await store.Compact(store.CurrentRevision);
        Assert.Equal(4, MvccStoreTests.CountKeyTable(store));
        Assert.Equal(["k0=v16 c2 m18 v5 l0", "k1=v17 c3 m19 v5 l0", "k2=v18 c4 m20 v5 l0", "k3=v19 c5 m21 v5 l0"], store.Get("\0", "\0").Kvs.Select(kv => kv.Describe()));
    }

    [Fact]
    public void Dispose_CommitsWhatIsApplied()
    {
        using var dir = TestDirectory.Create(nameof(Dispose_CommitsWhatIsApplied));
        using (IKvStore store = MvccStores.Open(dir.DbPath(), NoBackgroundCommits()))
        {
            store.Put("a", "1");
            store.Tables.Put(ServerTables.Auth, B("authEnabled"), [1]);
            store.SetConsistentIndex(new RaftPosition(5, 2));
        }

        using IKvStore reopened = MvccStores.Open(dir.DbPath());
        Assert.Equal("1", reopened.Value("a"));
        Assert.Equal([(byte)1], reopened.Tables.Get(ServerTables.Auth, B("authEnabled")) ?? []);
        Assert.Equal(new RaftPosition(5, 2), reopened.ConsistentIndex);
        Assert.Equal(new RaftPosition(5, 2), reopened.CommittedConsistentIndex);
    }
}
