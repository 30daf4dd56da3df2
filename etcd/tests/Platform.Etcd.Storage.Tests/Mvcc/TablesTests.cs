using System.Text;
using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>The server tables: transactional with the key space and the consistent index, durable, in snapshots and Hash.</summary>
public sealed class TablesTests
{
    private static MvccOptions NoBackgroundCommits() => new() { BackendBatchInterval = Timeout.InfiniteTimeSpan, BackendBatchLimit = int.MaxValue };

    private static List<string> Dump(ITables tables, string table, string from = "", string to = "") =>
        tables.Scan(table, B(from), B(to)).Select(e => $"{Encoding.UTF8.GetString(e.Key)}={Encoding.UTF8.GetString(e.Value)}").ToList();

    [Fact]
    public void PutGetDeleteScan_AcrossTheOverlayAndTheBackend_AndAfterRestart()
    {
        using var dir = TestDirectory.Create(nameof(PutGetDeleteScan_AcrossTheOverlayAndTheBackend_AndAfterRestart));
        using (IKvStore store = MvccStores.Open(dir.DbPath(), NoBackgroundCommits()))
        {
            foreach (string k in new[] { "a", "b", "c", "d" })
            {
                store.Tables.Put(ServerTables.AuthUsers, B(k), B($"{k}1"));
            }

            store.ForceCommit();

            // Overwrite, delete and add on top of committed entries, then read before the commit.
            store.Tables.Put(ServerTables.AuthUsers, B("b"), B("b2"));
            Assert.True(store.Tables.Delete(ServerTables.AuthUsers, B("c")));
            Assert.False(store.Tables.Delete(ServerTables.AuthUsers, B("c")));
            Assert.False(store.Tables.Delete(ServerTables.AuthUsers, B("zz")));
            store.Tables.Put(ServerTables.AuthUsers, B("bb"), B("bb1"));
            List<string> expected = ["a=a1", "b=b2", "bb=bb1", "d=d1"];
            Assert.Equal(expected, Dump(store.Tables, ServerTables.AuthUsers));
            Assert.Equal(["b=b2", "bb=bb1"], Dump(store.Tables, ServerTables.AuthUsers, "b", "c"));
            Assert.Equal(["bb=bb1", "d=d1"], Dump(store.Tables, ServerTables.AuthUsers, "ba"));
            Assert.Equal("b2", Encoding.UTF8.GetString(store.Tables.Get(ServerTables.AuthUsers, B("b"))!));
            Assert.Null(store.Tables.Get(ServerTables.AuthUsers, B("c")));
            Assert.Null(store.Tables.Get(ServerTables.AuthRoles, B("a")));
            Assert.Empty(store.Tables.Scan("neverWritten"));

            store.ForceCommit();
            Assert.Equal(expected, Dump(store.Tables, ServerTables.AuthUsers));

            // A table outside etcd's set is created on first write.
            store.Tables.Put("custom.table", B("k"), B("v"));
        }

        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            Assert.Equal(["a=a1", "b=b2", "bb=bb1", "d=d1"], Dump(store.Tables, ServerTables.AuthUsers));
            Assert.Equal(["k=v"], Dump(store.Tables, "custom.table"));
        }
    }

    [Fact]
    public void Writes_InABatch_AreCommittedAtomicallyWithTheKeySpaceAndTheConsistentIndex()
    {
        using var dir = TestDirectory.Create(nameof(Writes_InABatch_AreCommittedAtomicallyWithTheKeySpaceAndTheConsistentIndex));
        var store = (MvccStore)MvccStores.Open(dir.DbPath(), NoBackgroundCommits());
        using (store.BeginBatch())
        {
            // A lease grant and a put attached to it, as one raft entry.
            store.Tables.Put(ServerTables.Lease, B("lease-1"), B("ttl 10"));
            store.Put("attached", "v", lease: 1);
            store.SetConsistentIndex(new RaftPosition(1, 1));
        }

        store.ForceCommit();
        using (store.BeginBatch())
        {
            // The revoke: the lease and its key go together.
            store.Tables.Delete(ServerTables.Lease, B("lease-1"));
            store.Delete("attached");
            store.Tables.Put(ServerTables.Members, B("m1"), B("new member"));
            store.SetConsistentIndex(new RaftPosition(2, 1));
        }

        Assert.Null(store.Tables.Get(ServerTables.Lease, B("lease-1")));
        store.DisposeWithoutCommit();

        using IKvStore reopened = MvccStores.Open(dir.DbPath());
        Assert.Equal(new RaftPosition(1, 1), reopened.ConsistentIndex);
        Assert.Equal(["lease-1=ttl 10"], Dump(reopened.Tables, ServerTables.Lease));
        Assert.Equal("v", reopened.Value("attached"));
        Assert.Empty(reopened.Tables.Scan(ServerTables.Members));
    }

    [Fact]
    public void WriteTxnTables_BelongToTheTransaction()
    {
        using var dir = TestDirectory.Create(nameof(WriteTxnTables_BelongToTheTransaction));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        ITables tables;
        using (IWriteTxn txn = store.Write())
        {
            txn.Put(B("k"), B("v"));
            tables = txn.Tables;
            tables.Put(ServerTables.Auth, B("authRevision"), B("7"));
            Assert.Equal("7", Encoding.UTF8.GetString(tables.Get(ServerTables.Auth, B("authRevision"))!));
        }

        Assert.Throws<ObjectDisposedException>(() => tables.Put(ServerTables.Auth, B("x"), B("y")));
        Assert.Equal("7", Encoding.UTF8.GetString(store.Tables.Get(ServerTables.Auth, B("authRevision"))!));

        // Table writes alone do not consume a revision.
        long revision = store.CurrentRevision;
        store.Tables.Put(ServerTables.Auth, B("authEnabled"), [1]);
        Assert.Equal(revision, store.CurrentRevision);
    }

    [Fact]
    public async Task Hash_CoversTables_HashKV_DoesNot()
    {
        using var dir = TestDirectory.Create(nameof(Hash_CoversTables_HashKV_DoesNot));
        using IKvStore one = MvccStores.Open(dir.Combine("one", "db"));
        using IKvStore two = MvccStores.Open(dir.Combine("two", "db"));
        foreach (IKvStore store in new[] { one, two })
        {
            store.Put("a", "1");
            store.Tables.Put(ServerTables.Members, B("m1"), B("peer"));
        }

        Assert.Equal(one.Hash(), two.Hash());
        two.Tables.Put(ServerTables.Members, B("m1"), B("other peer"));
        await Task.Yield();
        Assert.Equal(one.HashKV(0), two.HashKV(0));
        Assert.NotEqual(one.Hash(), two.Hash());
    }

    [Fact]
    public async Task Tables_AreInTheSnapshotCopyAndSurviveDefragmentation()
    {
        using var dir = TestDirectory.Create(nameof(Tables_AreInTheSnapshotCopyAndSurviveDefragmentation));
        var store = (MvccStore)MvccStores.Open(dir.DbPath());
        try
        {
            for (int i = 0; i < 300; i++)
            {
                store.Put($"key{i:D3}", new string('x', 300));
                store.Tables.Put(ServerTables.Lease, B($"lease{i:D3}"), B($"ttl{i}"));
            }

            store.Tables.Put(ServerTables.Cluster, B("clusterVersion"), B("3.4.0"));
            store.SetConsistentIndex(new RaftPosition(300, 2));
            string copyPath = dir.Combine("copy", "db");
            Directory.CreateDirectory(dir.Combine("copy"));
            store.CopySnapshotTo(copyPath);
            using (IKvStore copy = MvccStores.Open(copyPath))
            {
                Assert.Equal(300, copy.Tables.Scan(ServerTables.Lease).Count);
                Assert.Equal("3.4.0", Encoding.UTF8.GetString(copy.Tables.Get(ServerTables.Cluster, B("clusterVersion"))!));
                Assert.Equal(new RaftPosition(300, 2), copy.ConsistentIndex);
                Assert.Equal(store.Hash(), copy.Hash());
            }

            store.DefragCopiedHook = () =>
            {
                // Table writes during the copy are replayed into it.
                store.Tables.Put(ServerTables.Lease, B("during"), B("defrag"));
                store.Tables.Delete(ServerTables.Lease, B("lease000"));
                store.Tables.Put("createdDuringDefrag", B("k"), B("v"));
                store.ForceCommit();
            };
            uint hashBefore;
            await store.DefragmentAsync();
            hashBefore = store.Hash();
            Assert.Equal(300, store.Tables.Scan(ServerTables.Lease).Count);
            Assert.Equal("defrag", Encoding.UTF8.GetString(store.Tables.Get(ServerTables.Lease, B("during"))!));
            store.Dispose();
            store = (MvccStore)MvccStores.Open(dir.DbPath());
            Assert.Null(store.Tables.Get(ServerTables.Lease, B("lease000")));
            Assert.Equal(["k=v"], Dump(store.Tables, "createdDuringDefrag"));
            Assert.Equal(hashBefore, store.Hash());
        }
        finally
        {
            store.Dispose();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("key")]
    [InlineData("meta")]
    [InlineData("has space")]
    [InlineData("slash/no")]
    public void InvalidTableName_Throws(string table)
    {
        using var dir = TestDirectory.Create(nameof(InvalidTableName_Throws));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        Assert.ThrowsAny<ArgumentException>(() => store.Tables.Put(table, B("k"), B("v")));
        Assert.ThrowsAny<ArgumentException>(() => store.Tables.Get(table, B("k")));
    }

    [Fact]
    public void InvalidKey_Throws()
    {
        using var dir = TestDirectory.Create(nameof(InvalidKey_Throws));
        using IKvStore store = MvccStores.Open(dir.DbPath());
        Assert.Throws<ArgumentException>(() => store.Tables.Put(ServerTables.Lease, [], B("v")));
        Assert.Throws<ArgumentException>(() => store.Tables.Put(ServerTables.Lease, new byte[512], B("v")));
        store.Tables.Put(ServerTables.Lease, new byte[511], B("v"));
        Assert.NotNull(store.Tables.Get(ServerTables.Lease, new byte[511]));
    }
}
