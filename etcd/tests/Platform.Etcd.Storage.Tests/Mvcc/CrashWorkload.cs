using System.Buffers.Binary;
using Platform.Etcd.Storage.Mvcc;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// A deterministic stand-in for the server's apply loop: raft entry i (from 1) is applied in one
/// batch with its consistent index, as the server will do. The crash tests run it in a process
/// they kill, then rebuild the expected state by applying entries 1..consistent index to a fresh
/// store: same entries, same revisions, same bytes.
/// </summary>
internal static class CrashWorkload
{
    public const ulong Term = 3;

    public static void ApplyEntry(IKvStore store, ulong i)
    {
        using (store.BeginBatch())
        {
            using (IWriteTxn txn = store.Write())
            {
                // Overwrites (history), one new key per entry, and now and then a range delete.
                txn.Put(B($"hot/{i % 17:D2}"), B($"value {i}"), lease: (long)(i % 5));
                txn.Put(B($"log/{i:D8}"), B(new string('x', (int)(i % 200))));
                if (i % 10 == 0)
                {
                    txn.DeleteRange(B($"log/{i - 7:D8}"), B($"log/{i - 3:D8}"));
                }
            }

            // Server tables in the same batch: a lease per entry, revoked 20 entries later.
            byte[] lease = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(lease, i);
            store.Tables.Put(ServerTables.Lease, lease, B($"lease {i} ttl {i % 60}"));
            if (i > 20)
            {
                BinaryPrimitives.WriteUInt64BigEndian(lease, i - 20);
                store.Tables.Delete(ServerTables.Lease, lease);
            }

            if (i % 7 == 0)
            {
                store.Tables.Put(ServerTables.Members, B($"m{i % 3}"), B($"member at {i}"));
            }

            store.SetConsistentIndex(new RaftPosition(i, Term));
        }
    }

    /// <summary>Everything a restart must get back, as comparable text.</summary>
    public static List<string> Describe(IKvStore store)
    {
        var lines = MvccStoreTests.Snapshot(store);
        lines.Add($"consistent index {store.ConsistentIndex}");
        lines.Add($"hashkv {store.HashKV(0)}");
        foreach (string table in new[] { ServerTables.Lease, ServerTables.Members })
        {
            lines.AddRange(store.Tables.Scan(table).Select(e => $"{table}: {Convert.ToHexString(e.Key)} = {System.Text.Encoding.UTF8.GetString(e.Value)}"));
        }

        lines.Add($"hash {store.Hash()}");
        return lines;
    }
}
