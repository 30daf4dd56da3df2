using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

public sealed class MvccStoreTests
{
    [Fact]
    public void Put_ThenRange_TracksRevisionsAndVersions()
    {
        using var dir = TestDirectory.Create(nameof(Put_ThenRange_TracksRevisionsAndVersions));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        Assert.Equal(1, store.CurrentRevision);
        Assert.Equal(2, store.Put("a", "1", lease: 7));
        Assert.Equal(3, store.Put("b", "1"));
        Assert.Equal(4, store.Put("a", "2"));
        RangeResult r = store.Get("a");
        Assert.Equal(4, r.Revision);
        Assert.Equal(["a=2 c2 m4 v2 l0"], r.Kvs.Select(kv => kv.Describe()));
        Assert.Equal("a=1 c2 m2 v1 l7", store.Get("a", rev: 3).Kvs.Single().Describe());
        Assert.Empty(store.Get("a", rev: 1).Kvs);
        Assert.Empty(store.Get("missing").Kvs);
    }

    [Fact]
    public void WriteTxn_SeveralOps_ShareOneRevisionAndSeeTheirOwnChanges()
    {
        using var dir = TestDirectory.Create(nameof(WriteTxn_SeveralOps_ShareOneRevisionAndSeeTheirOwnChanges));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        store.Put("k", "0");
        using (IWriteTxn txn = store.Write())
        {
            Assert.Equal(3, txn.Put(B("a"), B("1")));
            Assert.Equal(3, txn.Put(B("b"), B("1")));
            Assert.Equal((1L, 3L), txn.DeleteRange(B("k"), []));
            Assert.Equal(["a", "b"], txn.Range(B("a"), B("\0")).Keys());
            Assert.Equal(3, txn.Revision);
            Assert.Equal(3, txn.Changes.Count);

            // Readers do not see an uncommitted transaction.
            Assert.Equal(2, store.CurrentRevision);
            Assert.Equal(["k"], store.Get("\0", "\0").Keys());
        }

        Assert.Equal(3, store.CurrentRevision);
        Assert.Equal(["a", "b"], store.Get("\0", "\0").Keys());
        using (IWriteTxn empty = store.Write())
        {
            Assert.Equal((0L, 3L), empty.DeleteRange(B("nothing"), []));
        }

        Assert.Equal(3, store.CurrentRevision);
    }

    [Fact]
    public void Delete_ThenRecreate_ResetsVersionAndCreateRevision()
    {
        using var dir = TestDirectory.Create(nameof(Delete_ThenRecreate_ResetsVersionAndCreateRevision));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        store.Put("a", "1");
        store.Put("a", "2");
        Assert.Equal(1, store.Delete("a"));
        Assert.Equal(0, store.Delete("a"));
        Assert.Empty(store.Get("a").Kvs);
        Assert.Equal(5, store.Put("a", "3"));
        Assert.Equal("a=3 c5 m5 v1 l0", store.Get("a").Kvs.Single().Describe());
        Assert.Equal("a=2 c2 m3 v2 l0", store.Get("a", rev: 3).Kvs.Single().Describe());
        Assert.Empty(store.Get("a", rev: 4).Kvs);
    }

    [Fact]
    public void Range_EndForms_FollowEtcdConventions()
    {
        using var dir = TestDirectory.Create(nameof(Range_EndForms_FollowEtcdConventions));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        foreach (string k in new[] { "a", "ab", "abc", "abd", "b", "c" })
        {
            store.Put(k, k);
        }

        Assert.Equal(["ab"], store.Get("ab").Keys());
        Assert.Equal(["ab", "abc", "abd"], store.Get("ab", "ac").Keys());
        Assert.Equal(["abc", "abd", "b", "c"], store.Get("abc", "\0").Keys());
        Assert.Equal(["a", "ab", "abc", "abd", "b", "c"], store.Get("\0", "\0").Keys());
        Assert.Equal(["a", "ab", "abc", "abd"], store.Get("a", "b").Keys());
        Assert.Empty(store.Get("b", "a").Kvs);
        Assert.Empty(store.Get("b", "b").Kvs);
    }

    [Fact]
    public void Range_LimitCountAndKeysOnly()
    {
        using var dir = TestDirectory.Create(nameof(Range_LimitCountAndKeysOnly));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        for (int i = 0; i < 10; i++)
        {
            store.Put($"k{i}", $"v{i}");
        }

        store.Delete("k3");
        RangeResult limited = store.Get("k", "l", limit: 4);
        Assert.Equal(["k0", "k1", "k2", "k4"], limited.Keys());
        Assert.Equal(9, limited.Count);
        RangeResult counted = store.Range(B("k"), B("l"), new RangeOptions(CountOnly: true));
        Assert.Empty(counted.Kvs);
        Assert.Equal(9, counted.Count);
        RangeResult keysOnly = store.Range(B("k0"), [], new RangeOptions(KeysOnly: true));
        Assert.True(keysOnly.Kvs.Single().Value.IsEmpty);
        Assert.Equal("v0", store.Value("k0"));
    }

    [Fact]
    public void Range_FutureRevision_Throws()
    {
        using var dir = TestDirectory.Create(nameof(Range_FutureRevision_Throws));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        store.Put("a", "1");
        var e = Assert.Throws<MvccException>(() => store.Get("a", rev: 3));
        Assert.Equal(MvccError.FutureRevision, e.Error);
        Assert.Equal("mvcc: required revision is a future revision", e.Message);
    }

    [Fact]
    public async Task Compact_DropsHistoryKeepsLatestAndRejectsOldReads()
    {
        using var dir = TestDirectory.Create(nameof(Compact_DropsHistoryKeepsLatestAndRejectsOldReads));
        using IKvStore store = MvccStores.Open(dir.DbPath(), new MvccOptions { CompactionBatchLimit = 3 });
        store.Put("a", "1"); // 2
        store.Put("a", "2"); // 3
        store.Put("b", "1"); // 4
        store.Delete("b"); // 5
        store.Put("c", "1"); // 6
        store.Put("a", "3"); // 7
        await store.Compact(6);

        Assert.Equal(6, store.CompactedRevision);
        var e = Assert.Throws<MvccException>(() => store.Get("a", rev: 5));
        Assert.Equal("mvcc: required revision has been compacted", e.Message);
        Assert.Equal("a=2 c2 m3 v2 l0", store.Get("a", rev: 6).Kvs.Single().Describe());
        Assert.Equal(["a", "c"], store.Get("\0", "\0", rev: 6).Keys());
        Assert.Equal("a=3 c2 m7 v3 l0", store.Get("a").Kvs.Single().Describe());

        // The key table holds exactly what is still readable: a@3, c@6, a@7.
        Assert.Equal(3, CountKeyTable(store));
        ChangesResult changes = store.Changes(7);
        Assert.Single(changes.Events);
        Assert.Equal(MvccError.Compacted, Assert.Throws<MvccException>(() => store.Changes(6)).Error);
        Assert.Equal(MvccError.Compacted, Assert.Throws<MvccException>(() => { _ = store.Compact(6); }).Error);
        Assert.Equal(MvccError.Compacted, Assert.Throws<MvccException>(() => { _ = store.Compact(4); }).Error);
        Assert.Equal(MvccError.FutureRevision, Assert.Throws<MvccException>(() => { _ = store.Compact(8); }).Error);
        await store.Compact(7);
        Assert.Equal("a=3 c2 m7 v3 l0", store.Get("a").Kvs.Single().Describe());
        Assert.Equal(2, CountKeyTable(store)); // c@6, a@7
    }

    [Fact]
    public async Task Reopen_RestoresIndexRevisionsCompactionAndConsistentIndex()
    {
        using var dir = TestDirectory.Create(nameof(Reopen_RestoresIndexRevisionsCompactionAndConsistentIndex));
        List<string> before;
        HashKvResult hashBefore;
        uint fullHashBefore;
        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            for (int i = 0; i < 50; i++)
            {
                store.Put($"k{i % 7}", $"v{i}");
                if (i % 5 == 0)
                {
                    store.Delete($"k{i % 3}");
                }
            }

            await store.Compact(30);
            store.Delete("k6"); // the newest revision is a tombstone
            store.SetConsistentIndex(new RaftPosition(123, 4));
            before = Snapshot(store);
            hashBefore = store.HashKV(0);
            fullHashBefore = store.Hash();
        }

        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            Assert.Equal(before, Snapshot(store));
            Assert.Equal(30, store.CompactedRevision);
            Assert.Equal(new RaftPosition(123, 4), store.ConsistentIndex);
            Assert.Equal(hashBefore, store.HashKV(0));
            Assert.Equal(fullHashBefore, store.Hash());
            long next = store.Put("k1", "after");
            Assert.Equal(hashBefore.CurrentRevision + 1, next);
        }
    }

    [Fact]
    public async Task Reopen_AfterCompactingTheLatestTombstone_KeepsTheRevision()
    {
        using var dir = TestDirectory.Create(nameof(Reopen_AfterCompactingTheLatestTombstone_KeepsTheRevision));
        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            store.Put("a", "1");
            store.Delete("a");
            await store.Compact(3);
            Assert.Equal(0, CountKeyTable(store));
        }

        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            Assert.Equal(3, store.CurrentRevision);
            Assert.Equal(3, store.CompactedRevision);
            Assert.Equal(4, store.Put("a", "2"));
        }
    }

    [Fact]
    public async Task HashKV_TwoStoresWithTheSameHistory_Agree()
    {
        using var dir = TestDirectory.Create(nameof(HashKV_TwoStoresWithTheSameHistory_Agree));
        using IKvStore one = MvccStores.Open(dir.Combine("one", "db"));
        using IKvStore two = MvccStores.Open(dir.Combine("two", "db"), new MvccOptions { CompactionBatchLimit = 2 });
        foreach (IKvStore store in new[] { one, two })
        {
            for (int i = 0; i < 40; i++)
            {
                store.Put($"key{i % 9}", $"value{i}");
                if (i % 4 == 3)
                {
                    store.Delete($"key{i % 5}");
                }
            }
        }

        Assert.Equal(one.HashKV(0), two.HashKV(0));
        Assert.Equal(one.HashKV(20), two.HashKV(20));
        HashKvResult beforeCompaction = one.HashKV(45);
        await one.Compact(30);
        await two.Compact(30);
        Assert.Equal(one.HashKV(0), two.HashKV(0));
        Assert.Equal(one.HashKV(45).Hash, two.HashKV(45).Hash);
        Assert.Equal(one.Hash(), two.Hash());

        // Changing one value changes the hash.
        one.Put("key1", "different");
        two.Put("key1", "other");
        Assert.NotEqual(one.HashKV(0).Hash, two.HashKV(0).Hash);
        Assert.NotEqual(0u, beforeCompaction.Hash);
        Assert.Equal(MvccError.Compacted, Assert.Throws<MvccException>(() => one.HashKV(30)).Error);
    }

    [Fact]
    public void Quota_Exceeded_FailsWithNoSpaceAndRaisesAlarm()
    {
        using var dir = TestDirectory.Create(nameof(Quota_Exceeded_FailsWithNoSpaceAndRaisesAlarm));
        using IKvStore store = MvccStores.Open(dir.DbPath(), new MvccOptions { QuotaBackendBytes = 256 * 1024 });
        string value = new('v', 1024);
        MvccException? error = null;
        int written = 0;
        for (; written < 10_000 && error is null; written++)
        {
            try
            {
                store.Put($"key{written}", value);
            }
            catch (MvccException e)
            {
                error = e;
            }
        }

        Assert.NotNull(error);
        Assert.Equal(MvccError.NoSpace, error.Error);
        Assert.Equal("etcdserver: mvcc: database space exceeded", error.Message);
        Assert.True(store.NoSpaceAlarm);
        Assert.InRange(written, 50, 256);
        Assert.Throws<MvccException>(() => store.Put("small", "x"));

        // Deletes still work while the alarm is raised.
        Assert.Equal(1, store.Delete("key0"));
        store.DisarmNoSpaceAlarm();
        Assert.False(store.NoSpaceAlarm);
    }

    [Fact]
    public async Task Defragment_KeepsContentAndShrinksTheFile()
    {
        using var dir = TestDirectory.Create(nameof(Defragment_KeepsContentAndShrinksTheFile));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        string value = new('d', 2000);
        for (int i = 0; i < 2000; i++)
        {
            store.Put($"key{i:D5}", value);
        }

        store.Delete("key00100", "key01990");
        store.Put("after", "delete");
        await store.Compact(store.CurrentRevision);
        List<string> before = Snapshot(store);
        HashKvResult hash = store.HashKV(0);
        long fileBefore = new FileInfo(dir.DbPath()).Length;

        await store.DefragmentAsync();

        long fileAfter = new FileInfo(dir.DbPath()).Length;
        Assert.True(fileAfter * 4 < fileBefore, $"{fileBefore} -> {fileAfter} bytes");
        Assert.Equal(before, Snapshot(store));
        Assert.Equal(hash, store.HashKV(0));
        Assert.True(store.DbSizeBytes <= fileAfter);
        store.Put("still", "writable");
        Assert.Equal("writable", store.Value("still"));
        Assert.DoesNotContain(Directory.GetFiles(dir.Combine("member", "snap"), "db.defrag.*"), f => !f.EndsWith("-lock", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Defragment_WritesDuringTheCopy_CompleteAndSurvive()
    {
        using var dir = TestDirectory.Create(nameof(Defragment_WritesDuringTheCopy_CompleteAndSurvive));
        var store = (MvccStore)MvccStores.Open(dir.DbPath());
        try
        {
            for (int i = 0; i < 500; i++)
            {
                store.Put($"key{i:D4}", new string('x', 500));
            }

            var writesDuringDefrag = new List<long>();
            store.DefragCopiedHook = () =>
            {
                // We are inside the defragmentation, after the copy. If it blocked writers, these
                // would never finish; the timeout turns that into a failure instead of a hang.
                Task writes = Task.Run(() =>
                {
                    for (int i = 0; i < 200; i++)
                    {
                        writesDuringDefrag.Add(store.Put($"during{i:D3}", $"v{i}"));
                    }

                    store.Delete("key0000", "key0100");
                });
                Assert.True(writes.Wait(TimeSpan.FromSeconds(30)), "writes blocked during defragmentation");
            };

            await store.DefragmentAsync();

            Assert.Equal(200, writesDuringDefrag.Count);
            Assert.Equal(200, store.Get("during", "durinh").Count);
            Assert.Equal(400, store.Get("key", "kez").Count);
            Assert.Equal("v199", store.Value("during199"));
            List<string> live = Snapshot(store);
            store.Dispose();
            store = (MvccStore)MvccStores.Open(dir.DbPath());
            Assert.Equal(live, Snapshot(store));
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public void Subscribe_ReceivesCommittedChangesWithPrevKv()
    {
        using var dir = TestDirectory.Create(nameof(Subscribe_ReceivesCommittedChangesWithPrevKv));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        var seen = new List<RevisionChanges>();
        using (store.Subscribe(seen.Add))
        {
            store.Put("a", "1");
            using (IWriteTxn txn = store.Write())
            {
                txn.Put(B("a"), B("2"));
                txn.Put(B("b"), B("1"));
            }

            store.Delete("a");
            store.Delete("zzz"); // no change, no revision, no event
        }

        store.Put("after", "unsubscribed");
        Assert.Equal([2L, 3L, 4L], seen.Select(c => c.Revision));
        Event put = seen[1].Events[0];
        Assert.Equal(Event.Types.EventType.Put, put.Type);
        Assert.Equal("a=2 c2 m3 v2 l0", put.Kv.Describe());
        Assert.Equal("a=1 c2 m2 v1 l0", put.PrevKv.Describe());
        Assert.Null(seen[1].Events[1].PrevKv);
        Event delete = seen[2].Events.Single();
        Assert.Equal(Event.Types.EventType.Delete, delete.Type);
        Assert.Equal("a", delete.Kv.Key.ToStringUtf8());
        Assert.Equal(4, delete.Kv.ModRevision);
        Assert.Equal("a=2 c2 m3 v2 l0", delete.PrevKv.Describe());
    }

    [Fact]
    public void Changes_ReadsHistoryFromARevisionWithLimitAndPrevKv()
    {
        using var dir = TestDirectory.Create(nameof(Changes_ReadsHistoryFromARevisionWithLimitAndPrevKv));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        var live = new List<Event>();
        using IDisposable subscription = store.Subscribe(c => live.AddRange(c.Events));
        store.Put("a", "1");
        using (IWriteTxn txn = store.Write())
        {
            txn.Put(B("a"), B("2"));
            txn.Put(B("b"), B("1"));
        }

        store.Delete("a");
        store.Put("c", "1");

        ChangesResult all = store.Changes(1, includePrevKv: true);
        Assert.Equal(live, all.Events);
        Assert.Equal(6, all.NextRevision);
        ChangesResult page = store.Changes(2, limit: 2);
        Assert.Equal(3, page.Events.Count); // revision 3's two events stay together
        Assert.Equal(4, page.NextRevision);
        Assert.Equal(2, store.Changes(page.NextRevision).Events.Count);
    }

    [Fact]
    public void Batch_EachTransactionVisibleWhenItEnds_CommittedLaterWithTheBatchsConsistentIndex()
    {
        using var dir = TestDirectory.Create(nameof(Batch_EachTransactionVisibleWhenItEnds_CommittedLaterWithTheBatchsConsistentIndex));
        var options = new MvccOptions { BackendBatchInterval = Timeout.InfiniteTimeSpan };
        using (var store = (MvccStore)MvccStores.Open(dir.DbPath(), options))
        {
            var seen = new List<long>();
            using IDisposable subscription = store.Subscribe(c => seen.Add(c.Revision));
            using (store.BeginBatch())
            {
                for (int i = 0; i < 10; i++)
                {
                    using (IWriteTxn txn = store.Write())
                    {
                        txn.Put(B($"k{i}"), B("v"));
                    }

                    store.SetConsistentIndex(new RaftPosition((ulong)(100 + i), 3));

                    // Visible (and watched) as soon as the transaction ended, inside the batch.
                    Assert.Equal(2 + i, store.CurrentRevision);
                    Assert.Equal(i + 1, store.Get("k", "l").Count);
                    Assert.Equal(2 + i, seen[^1]);
                }
            }

            Assert.Equal(11, store.CurrentRevision);
            Assert.Equal(new RaftPosition(109, 3), store.ConsistentIndex);
            Assert.Equal(default, store.CommittedConsistentIndex);
            Assert.Equal(0, store.CommitCount);
            store.ForceCommit();
            Assert.Equal(1, store.CommitCount);
            Assert.Equal(new RaftPosition(109, 3), store.CommittedConsistentIndex);
            Assert.Equal(Enumerable.Range(2, 10).Select(i => (long)i), seen);
        }

        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            Assert.Equal(new RaftPosition(109, 3), store.ConsistentIndex);
            Assert.Equal(10, store.Get("k", "l").Count);
        }
    }

    [Fact]
    public async Task Read_DuringAnOpenWriteTransaction_DoesNotWait()
    {
        using var dir = TestDirectory.Create(nameof(Read_DuringAnOpenWriteTransaction_DoesNotWait));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        store.Put("a", "1");
        using IWriteTxn txn = store.Write();
        txn.Put(B("a"), B("2"));
        Task<string?> read = Task.Run(() => store.Value("a"));
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal("1", await read);
    }

    [Fact]
    public void Open_OnLinux_BindsDebiansLmdb()
    {
        using var dir = TestDirectory.Create(nameof(Open_OnLinux_BindsDebiansLmdb));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        store.Put("a", "1");
        Assert.Equal(LmdbLibrary.SystemLibrary, LmdbLibrary.Loaded);
        using var probe = new LightningDB.LightningEnvironment(dir.Combine("probe"));
        Assert.Equal((0, 9), (probe.Version.Major, probe.Version.Minor));
    }

    internal static List<string> Snapshot(IKvStore store) =>
        store.Get("\0", "\0").Kvs.Select(kv => kv.Describe()).Append($"rev {store.CurrentRevision}").ToList();

    internal static int CountKeyTable(IKvStore store)
    {
        var concrete = (MvccStore)store;
        concrete.CompactionTask.GetAwaiter().GetResult();
        return concrete.KeyTableCount();
    }
}
