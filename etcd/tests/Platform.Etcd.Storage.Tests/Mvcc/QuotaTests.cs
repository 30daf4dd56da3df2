using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>The backend quota gates key-space puts only, as etcd's; the server tables stay writable.</summary>
public sealed class QuotaTests
{
    [Fact]
    public void ServerTables_StayWritable_OverTheQuotaAndWhileNoSpaceIsRaised()
    {
        using var dir = TestDirectory.Create(nameof(ServerTables_StayWritable_OverTheQuotaAndWhileNoSpaceIsRaised));
        using IKvStore store = MvccStores.Open(dir.DbPath(), new MvccOptions { QuotaBackendBytes = 128 * 1024 });
        string value = new('v', 1024);
        int written = 0;
        while (!store.NoSpaceAlarm)
        {
            Assert.True(written < 10_000, "the quota never tripped");
            try
            {
                store.Put($"key{written++}", value);
            }
            catch (MvccException e) when (e.Error == MvccError.NoSpace)
            {
            }
        }

        // A table value larger than what is left of the quota, in a batch and on its own.
        byte[] big = new byte[64 * 1024];
        using (store.BeginBatch())
        {
            store.Tables.Put(ServerTables.Lease, B("lease-1"), big);
            store.Tables.Put("alarm", B("nospace"), B("raised"));
            store.SetConsistentIndex(new RaftPosition(7, 1));
        }

        store.Tables.Put(ServerTables.Auth, B("authRevision"), new byte[8]);
        MvccException refused = Assert.Throws<MvccException>(() => store.Put("more", "x"));
        Assert.Equal(MvccError.NoSpace, refused.Error);
        store.ForceCommit();
        Assert.Equal(big, store.Tables.Get(ServerTables.Lease, B("lease-1")));
        Assert.Equal(B("raised"), store.Tables.Get("alarm", B("nospace")));
        Assert.True(store.DbSizeBytes > 128 * 1024);
    }
}
