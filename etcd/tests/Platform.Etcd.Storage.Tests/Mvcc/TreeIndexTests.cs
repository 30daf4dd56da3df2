using System.Text;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// The compact index (leaves of inline slots, spilling to <see cref="KeyIndex"/> histories)
/// against a plain model: a sorted dictionary holding a <see cref="KeyIndex"/> for every key,
/// the representation etcd's keyIndex semantics were first written in. Enough keys to split
/// leaves many times, compactions that empty and repack them, and every query compared.
/// </summary>
public sealed class TreeIndexTests
{
    [Theory]
    [InlineData(1, 300, 4000)]
    [InlineData(2, 3000, 6000)]
    [InlineData(3, 40, 3000)]
    [InlineData(4, 1500, 8000)]
    public void RandomOperations_MatchTheKeyIndexModel(int seed, int keySpace, int steps)
    {
        var random = new Random(seed);
        var tree = new TreeIndex();
        var model = new SortedDictionary<string, KeyIndex>(StringComparer.Ordinal);
        long main = 1;
        long compacted = 0;
        for (int step = 0; step < steps; step++)
        {
            int op = random.Next(100);
            if (op < 45)
            {
                // One write transaction: puts and deletes of distinct keys at sub revisions 0, 1, ...
                main++;
                int sub = 0;
                foreach (string key in Enumerable.Range(0, 1 + random.Next(3)).Select(_ => RandomKey(random, keySpace)).Distinct())
                {
                    var revision = new Revision(main, sub);
                    if (random.Next(5) == 0)
                    {
                        bool expected = model.TryGetValue(key, out KeyIndex? ki) && ki.Tombstone(revision);
                        Assert.Equal(expected, tree.Tombstone(B(key), revision));
                        sub += expected ? 1 : 0;
                    }
                    else
                    {
                        if (!model.TryGetValue(key, out KeyIndex? ki))
                        {
                            model[key] = ki = new KeyIndex();
                        }

                        ki.Put(revision);
                        tree.Put(B(key), revision);
                        sub++;
                    }
                }
            }
            else if (op < 50)
            {
                long at = compacted + random.Next((int)(main - compacted) + 1);
                var expected = new HashSet<Revision>();
                foreach ((string key, KeyIndex ki) in model.ToList())
                {
                    ki.Compact(at, expected);
                    if (ki.IsEmpty)
                    {
                        model.Remove(key);
                    }
                }

                Assert.Equal(expected.Order(), tree.Compact(at).Order());
                compacted = at;
            }
            else if (op < 53)
            {
                long at = compacted + random.Next((int)(main - compacted) + 1);
                var expected = new HashSet<Revision>();
                foreach (KeyIndex ki in model.Values.Where(ki => !ki.IsEmpty))
                {
                    ki.Keep(at, expected);
                }

                Assert.Equal(expected.Order(), tree.Keep(at).Order());
            }
            else
            {
                long at = compacted + random.Next((int)(main - compacted) + 1);
                string key = RandomKey(random, keySpace);
                string end = random.Next(4) switch
                {
                    0 => "",
                    1 => "\0",
                    _ => RandomKey(random, keySpace),
                };
                AssertRangeMatches(tree, model, key, end, at, limit: random.Next(3) * 7);
            }

            Assert.Equal(model.Count, tree.KeyCount);
        }

        // Everything, at every revision since the last compaction.
        for (long at = compacted; at <= main; at += Math.Max(1, (main - compacted) / 50))
        {
            AssertRangeMatches(tree, model, "\0", "\0", at, limit: 0);
        }
    }

    [Fact]
    public void OrderedAndReversedLoads_FindEveryKey_AndCompactionEmptiesTheTree()
    {
        var tree = new TreeIndex();
        const int Keys = 5000;
        for (int i = 0; i < Keys; i++)
        {
            tree.Put(B($"k/{i:D6}"), new Revision(i + 2, 0));
        }

        // Ordered appends fill leaves: no more leaves than the keys need.
        Assert.Equal((Keys + TreeIndex.LeafCapacity - 1) / TreeIndex.LeafCapacity, tree.LeafCount);
        for (int i = Keys - 1; i >= 0; i--)
        {
            tree.Put(B($"j/{i:D6}"), new Revision(Keys + 2 + (Keys - i), 0));
        }

        Assert.Equal(2 * Keys, tree.KeyCount);
        (List<Revision> all, long total) = tree.Revisions(B("\0"), B("\0"), long.MaxValue, 0, countOnly: false);
        Assert.Equal(2 * Keys, total);
        Assert.Equal([.. tree.LiveKeys(B("\0"), B("\0"), long.MaxValue).Select(Encoding.ASCII.GetString)],
            Enumerable.Range(0, Keys).Select(i => $"j/{i:D6}").Concat(Enumerable.Range(0, Keys).Select(i => $"k/{i:D6}")).ToList());
        Assert.Equal(2 * Keys, all.Distinct().Count());

        // Delete all the "k/" keys, compact past the deletes: they go, leaves are repacked.
        long main = 3 * Keys;
        foreach (byte[] key in tree.LiveKeys(B("k/"), B("k0"), main))
        {
            Assert.True(tree.Tombstone(key, new Revision(++main, 0)));
        }

        tree.Compact(main);
        Assert.Equal(Keys, tree.KeyCount);
        Assert.Equal((Keys + TreeIndex.LeafCapacity - 1) / TreeIndex.LeafCapacity, tree.LeafCount);
        Assert.False(tree.TryGet(B("k/000001"), main, out _, out _, out _));
        Assert.True(tree.TryGet(B("j/000001"), main, out Revision modified, out Revision created, out long version));
        Assert.Equal((modified, created, version), (created, created, 1L));

        foreach (byte[] key in tree.LiveKeys(B("\0"), B("\0"), main))
        {
            tree.Tombstone(key, new Revision(++main, 0));
        }

        tree.Compact(main);
        Assert.Equal(0, tree.KeyCount);
        Assert.Equal(0, tree.LeafCount);
        tree.Put(B("again"), new Revision(main + 1, 0));
        Assert.True(tree.TryGet(B("again"), main + 1, out _, out _, out _));
    }

    [Fact]
    public void Restore_FirstPutKeepsItsCreatedRevisionAndVersion_TombstoneOfUnknownKeyIsIgnored()
    {
        var tree = new TreeIndex();
        tree.Restore(B("a"), new Revision(7, 0), tombstone: false, createdMain: 3, version: 4);
        tree.Restore(B("gone"), new Revision(8, 0), tombstone: true, createdMain: 0, version: 0);
        tree.Restore(B("a"), new Revision(9, 1), tombstone: false, createdMain: 3, version: 5);
        Assert.Equal(1, tree.KeyCount);
        Assert.True(tree.TryGet(B("a"), 8, out Revision modified, out Revision created, out long version));
        Assert.Equal((new Revision(7, 0), new Revision(3, 0), 4L), (modified, created, version));
        Assert.True(tree.TryGet(B("a"), 9, out modified, out _, out version));
        Assert.Equal((new Revision(9, 1), 5L), (modified, version));
        Assert.Throws<InvalidOperationException>(() => tree.Put(B("a"), new Revision(9, 0)));
    }

    private static void AssertRangeMatches(TreeIndex tree, SortedDictionary<string, KeyIndex> model, string key, string end, long at, int limit)
    {
        IEnumerable<string> inRange = end switch
        {
            "" => model.ContainsKey(key) ? [key] : [],
            "\0" => model.Keys.Where(k => string.CompareOrdinal(k, key) >= 0),
            _ => model.Keys.Where(k => string.CompareOrdinal(k, key) >= 0 && string.CompareOrdinal(k, end) < 0),
        };
        var live = inRange.Where(k => model[k].TryGet(at, out _, out _, out _)).ToList();
        (List<Revision> revisions, long total) = tree.Revisions(B(key), B(end), at, limit, countOnly: false);
        Assert.Equal(live.Count, total);
        Assert.Equal(
            live.Take(limit > 0 ? limit : int.MaxValue).Select(k => { model[k].TryGet(at, out Revision m, out _, out _); return m; }),
            revisions);
        Assert.Equal(live, tree.LiveKeys(B(key), B(end), at).Select(Encoding.Latin1.GetString));
        Assert.Equal(live.Count, tree.Revisions(B(key), B(end), at, 0, countOnly: true).Total);
        foreach (string k in live.Take(5))
        {
            model[k].TryGet(at, out Revision m, out Revision c, out long v);
            Assert.True(tree.TryGet(B(k), at, out Revision tm, out Revision tc, out long tv));

            // The created revision is kept by its main revision (the key table's create_revision).
            Assert.Equal((m, c.Main, v), (tm, tc.Main, tv));
        }
    }

    private static string RandomKey(Random random, int keySpace) =>
        random.Next(10) == 0 ? new string((char)random.Next(256), 1 + random.Next(3)) : $"key/{random.Next(keySpace)}";

    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);
}
