using CsCheck;
using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// Random operation sequences against the store and against a model that keeps a full copy of
/// the key space at every revision; every read (at random past revisions too) must agree.
/// </summary>
public sealed class MvccModelPropertyTests
{
    private static readonly string[] s_keys = ["a", "ab", "abc", "b", "ba", "c", "d"];

    private abstract record Op;

    private sealed record PutOp(string[] Keys, string Value) : Op;

    private sealed record DeleteOp(string Key, string End) : Op;

    private sealed record RangeOp(string Key, string End, int RevisionBack, int Limit) : Op;

    private sealed record CompactOp(int RevisionBack) : Op;

    private sealed record RestartOp : Op;

    private static readonly Gen<string> s_key = Gen.OneOf(s_keys);
    private static readonly Gen<string> s_end = Gen.OneOf<string>("", "", "\0", "b", "bb", "c", "e", "a");

    private static readonly Gen<Op> s_op = Gen.Frequency(
        (8, Gen.Select(s_key.Array[1, 3], Gen.Int[0, 99], (keys, v) => (Op)new PutOp(keys.Distinct().ToArray(), $"v{v}"))),
        (3, Gen.Select(s_key, s_end, (k, e) => (Op)new DeleteOp(k, e))),
        (6, Gen.Select(s_key, s_end, Gen.Int[0, 8], Gen.Int[0, 3], (k, e, back, limit) => (Op)new RangeOp(k, e, back, limit))),
        (1, Gen.Int[0, 6].Select(back => (Op)new CompactOp(back))),
        (1, Gen.Const((Op)new RestartOp())));

    [Fact]
    public void RandomOperations_MatchTheModel()
    {
        s_op.Array[1, 60].Sample(ops =>
        {
            using var dir = TestDirectory.Create(nameof(RandomOperations_MatchTheModel));
            var model = new Model();
            IKvStore store = MvccStores.Open(dir.DbPath(), new MvccOptions { CompactionBatchLimit = 2 });
            try
            {
                foreach (Op op in ops)
                {
                    switch (op)
                    {
                        case PutOp put:
                            using (IWriteTxn txn = store.Write())
                            {
                                foreach (string k in put.Keys)
                                {
                                    txn.Put(B(k), B(put.Value));
                                }
                            }

                            model.Put(put.Keys, put.Value);
                            break;
                        case DeleteOp delete:
                            Assert.Equal(model.Delete(delete.Key, delete.End), store.Delete(delete.Key, delete.End));
                            break;
                        case RangeOp range:
                            long rev = Math.Max(1, model.Current - range.RevisionBack);
                            string expected;
                            try
                            {
                                expected = model.Range(range.Key, range.End, rev, range.Limit);
                            }
                            catch (MvccException e)
                            {
                                Assert.Equal(e.Error, Assert.Throws<MvccException>(() => store.Get(range.Key, range.End, rev, range.Limit)).Error);
                                break;
                            }

                            RangeResult r = store.Get(range.Key, range.End, rev, range.Limit);
                            Assert.Equal(expected, $"{string.Join(" ", r.Kvs.Select(kv => kv.Describe()))} n{r.Count} @{r.Revision}");
                            break;
                        case CompactOp compact:
                            long at = Math.Max(1, model.Current - compact.RevisionBack);
                            MvccError? modelError = model.Compact(at);
                            if (modelError is null)
                            {
                                store.Compact(at).GetAwaiter().GetResult();
                            }
                            else
                            {
                                Assert.Equal(modelError, Assert.Throws<MvccException>(() => { _ = store.Compact(at); }).Error);
                            }

                            break;
                        case RestartOp:
                            store.Dispose();
                            store = MvccStores.Open(dir.DbPath(), new MvccOptions { CompactionBatchLimit = 2 });
                            break;
                    }

                    Assert.Equal(model.Current, store.CurrentRevision);
                    Assert.Equal(model.Compacted, store.CompactedRevision);
                }

                // Every readable revision, every key, at the end.
                for (long rev = Math.Max(1, model.Compacted); rev <= model.Current; rev++)
                {
                    RangeResult r = store.Get("\0", "\0", rev);
                    Assert.Equal(model.Range("\0", "\0", rev, 0), $"{string.Join(" ", r.Kvs.Select(kv => kv.Describe()))} n{r.Count} @{r.Revision}");
                }
            }
            finally
            {
                store.Dispose();
            }
        }, iter: 60, threads: 1);
    }

    /// <summary>etcd's MVCC semantics, the obvious way: a full copy of the key space per revision.</summary>
    private sealed class Model
    {
        private readonly List<SortedDictionary<string, (string Value, long Create, long Mod, long Version)>> _history = [new(StringComparer.Ordinal), new(StringComparer.Ordinal)];

        public long Current => _history.Count - 1;

        public long Compacted { get; private set; }

        public void Put(string[] keys, string value)
        {
            long rev = Current + 1;
            var next = new SortedDictionary<string, (string, long, long, long)>(_history[^1], StringComparer.Ordinal);
            foreach (string k in keys)
            {
                next[k] = next.TryGetValue(k, out var old) ? (value, old.Item2, rev, old.Item4 + 1) : (value, rev, rev, 1);
            }

            _history.Add(next);
        }

        public long Delete(string key, string end)
        {
            var doomed = _history[^1].Keys.Where(k => InRange(k, key, end)).ToList();
            if (doomed.Count > 0)
            {
                var next = new SortedDictionary<string, (string, long, long, long)>(_history[^1], StringComparer.Ordinal);
                doomed.ForEach(k => next.Remove(k));
                _history.Add(next);
            }

            return doomed.Count;
        }

        public string Range(string key, string end, long rev, int limit)
        {
            if (rev < Compacted)
            {
                throw new MvccException(MvccError.Compacted);
            }

            var all = _history[(int)rev].Where(kv => InRange(kv.Key, key, end)).ToList();
            var shown = limit > 0 ? all.Take(limit) : all;
            return $"{string.Join(" ", shown.Select(kv => $"{kv.Key}={kv.Value.Value} c{kv.Value.Create} m{kv.Value.Mod} v{kv.Value.Version} l0"))} n{all.Count} @{Current}";
        }

        public MvccError? Compact(long rev)
        {
            if (rev <= Compacted)
            {
                return MvccError.Compacted;
            }

            Compacted = rev;
            return null;
        }

        private static bool InRange(string k, string key, string end) => end switch
        {
            "" => k == key,
            "\0" => string.CompareOrdinal(k, key) >= 0,
            _ => string.CompareOrdinal(k, key) >= 0 && string.CompareOrdinal(k, end) < 0,
        };
    }
}
