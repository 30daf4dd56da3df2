using System.Text;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>Helpers that keep MVCC tests about semantics rather than byte plumbing.</summary>
internal static class StoreFixture
{
    public static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    public static long Put(this IKvStore store, string key, string value, long lease = 0)
    {
        using IWriteTxn txn = store.Write();
        return txn.Put(B(key), B(value), lease);
    }

    public static long Delete(this IKvStore store, string key, string end = "")
    {
        using IWriteTxn txn = store.Write();
        return txn.DeleteRange(B(key), B(end)).Deleted;
    }

    public static RangeResult Get(this IKvStore store, string key, string end = "", long rev = 0, long limit = 0) =>
        store.Range(B(key), B(end), new RangeOptions(Limit: limit, Revision: rev));

    public static string? Value(this IKvStore store, string key, long rev = 0)
    {
        RangeResult r = store.Get(key, rev: rev);
        return r.Kvs.Count == 0 ? null : r.Kvs[0].Value.ToStringUtf8();
    }

    public static List<string> Keys(this RangeResult result) => result.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToList();

    public static string Describe(this KeyValue kv) =>
        $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()} c{kv.CreateRevision} m{kv.ModRevision} v{kv.Version} l{kv.Lease}";

    public static string DbPath(this Platform.Testing.TestDirectory dir) => dir.Combine("member", "snap", "db");
}
