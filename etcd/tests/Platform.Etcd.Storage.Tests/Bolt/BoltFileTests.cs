using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Platform.Etcd.Storage.Bolt;
using Platform.Etcd.Storage.Mvcc;
using Platform.Testing;
using static Platform.Etcd.Storage.Tests.Mvcc.StoreFixture;

namespace Platform.Etcd.Storage.Tests.Bolt;

/// <summary>
/// Our bbolt writer and reader: round trips over every page kind (inline buckets, single leaves,
/// branch levels, overflow pages), the structural facts bbolt checks (every page below the high
/// water reachable once, meta checksums), refusal of damaged files, and LMDB ⇄ bolt conversions of
/// a whole MVCC store. Files written by real etcd/bbolt are read in the integration tests
/// (<c>SnapshotInteropTests</c>).
/// </summary>
public sealed class BoltFileTests
{
    [Fact]
    public void RoundTrip_CoversInlineLeafBranchAndOverflowPages()
    {
        using var dir = TestDirectory.Create(nameof(RoundTrip_CoversInlineLeafBranchAndOverflowPages));
        string path = dir.Combine("db");
        var random = new Random(7);
        var buckets = new SortedDictionary<string, List<KeyValuePair<byte[], byte[]>>>(StringComparer.Ordinal)
        {
            ["empty"] = [],
            ["small"] = [new(B("a"), B("1")), new(B("b"), [])],
            // > 1 KiB: not inline, one leaf page.
            ["leaf"] = [.. Enumerable.Range(0, 40).Select(i => new KeyValuePair<byte[], byte[]>(B($"k{i:D3}"), new byte[20]))],
            // 17-byte revision keys, 50,000 of them: several branch levels.
            ["key"] = [.. Enumerable.Range(0, 50_000).Select(i => new KeyValuePair<byte[], byte[]>(RevisionKey(i + 2), B($"value-{i}")))],
            // Values of 5 KB to 300 KB: overflow pages, mixed with tiny ones.
            ["large"] = [.. Enumerable.Range(0, 30).Select(i => new KeyValuePair<byte[], byte[]>(B($"big{i:D2}"), RandomBytes(random, i % 3 == 0 ? 3 : 5_000 + (i * 10_000))))],
            // A key of the largest size our backend takes next to short ones.
            ["wide"] = [new(new byte[511], B("x")), new(Enumerable.Repeat((byte)1, 511).ToArray(), B("y")), new(B("z"), B("z"))],
        };

        using (BoltWriter writer = BoltWriter.Create(path))
        {
            foreach ((string name, List<KeyValuePair<byte[], byte[]>> entries) in buckets)
            {
                writer.AddBucket(B(name), entries);
            }

            writer.Complete();
        }

        using BoltReader reader = BoltReader.Open(path);
        Assert.Equal(4096, reader.PageSize);
        Assert.Equal(new FileInfo(path).Length, reader.Size);
        var read = reader.Buckets().ToList();
        Assert.Equal(buckets.Keys, read.Select(b => Encoding.UTF8.GetString(b.Key)));
        Assert.All(read, b => Assert.True(b.IsBucket));
        foreach (BoltEntry bucket in read)
        {
            List<KeyValuePair<byte[], byte[]>> expected = buckets[Encoding.UTF8.GetString(bucket.Key)];
            var actual = reader.Entries(bucket.Value).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Key, actual[i].Key);
                Assert.Equal(expected[i].Value, actual[i].Value);
                Assert.False(actual[i].IsBucket);
            }
        }

        // Small buckets inline (root pgid 0), the others on pages.
        Assert.Equal(0UL, RootOf(reader, "empty"));
        Assert.Equal(0UL, RootOf(reader, "small"));
        Assert.Equal(32, reader.FindBucket(B("empty"))!.Length);
        Assert.NotEqual(0UL, RootOf(reader, "leaf"));
        Assert.NotEqual(0UL, RootOf(reader, "key"));

        PageCensus census = Census(path);
        Assert.True(census.Branch >= 2, $"branch pages: {census.Branch}");
        Assert.True(census.OverflowPages > 10, $"overflow pages: {census.OverflowPages}");
        Assert.Equal(1, census.Freelist);
        Assert.Equal(2, census.Meta);
        // Every page below the high water is used exactly once (bbolt's tx.Check).
        Assert.Equal(census.HighWater, census.Reached);
    }

    [Fact]
    public void Writer_RefusesUnorderedKeysAndBuckets()
    {
        using var dir = TestDirectory.Create(nameof(Writer_RefusesUnorderedKeysAndBuckets));
        using BoltWriter writer = BoltWriter.Create(dir.Combine("db"));
        Assert.Throws<ArgumentException>(() => writer.AddBucket(B("b"), [new(B("2"), B("")), new(B("1"), B(""))]));
        Assert.Throws<ArgumentException>(() => writer.AddBucket(B("b"), [new(B("1"), B("")), new(B("1"), B(""))]));
        Assert.Throws<ArgumentException>(() => writer.AddBucket(B("b"), [new(B(""), B(""))]));
        writer.AddBucket(B("b"), []);
        Assert.Throws<ArgumentException>(() => writer.AddBucket(B("a"), []));
        Assert.Throws<ArgumentException>(() => writer.AddBucket(B("b"), []));
    }

    [Fact]
    public void Reader_FallsBackToTheOtherMetaPage_AndRefusesDamage()
    {
        using var dir = TestDirectory.Create(nameof(Reader_FallsBackToTheOtherMetaPage_AndRefusesDamage));
        string path = dir.Combine("db");
        using (BoltWriter writer = BoltWriter.Create(path))
        {
            writer.AddBucket(B("key"), [.. Enumerable.Range(0, 2000).Select(i => new KeyValuePair<byte[], byte[]>(RevisionKey(i + 2), B($"v{i}")))]);
            writer.Complete();
        }

        byte[] good = File.ReadAllBytes(path);

        // Meta 1 (the newer) with a bad checksum: meta 0 is used.
        byte[] oneBad = (byte[])good.Clone();
        oneBad[4096 + 16 + 20] ^= 0xFF;
        File.WriteAllBytes(path, oneBad);
        using (BoltReader reader = BoltReader.Open(path))
        {
            Assert.Equal(0UL, reader.Txid);
            Assert.Equal(2000, reader.Entries(reader.FindBucket(B("key"))!).Count());
        }

        // Both metas bad, truncation, a page id that lies, garbage, an LMDB file, an empty file.
        byte[] bothBad = (byte[])oneBad.Clone();
        bothBad[16 + 20] ^= 0xFF;
        AssertRefused(bothBad, "both meta pages are invalid");
        AssertRefused(good[..(good.Length - 4096)], "the file has");
        byte[] badPage = (byte[])good.Clone();
        badPage[(3 * 4096) + 1] = 0x7F;
        AssertRefused(badPage, "carries id");
        byte[] badElement = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badElement.AsSpan((3 * 4096) + 16 + 8), 1_000_000);
        AssertRefused(badElement, "runs past the page");
        AssertRefused(RandomBytes(new Random(1), 3 * 4096), "not a bbolt file");
        AssertRefused([], "too small");

        void AssertRefused(byte[] content, string why)
        {
            File.WriteAllBytes(path, content);
            BoltFormatException e = Assert.Throws<BoltFormatException>(() =>
            {
                using BoltReader reader = BoltReader.Open(path);
                foreach (BoltEntry bucket in reader.Buckets())
                {
                    _ = reader.Entries(bucket.Value).Count();
                }
            });
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Snapshot_ConvertsTheWholeStore_AndImportRestoresIt()
    {
        using var dir = TestDirectory.Create(nameof(Snapshot_ConvertsTheWholeStore_AndImportRestoresIt));
        string bolt = dir.Combine("snapshot.db");
        HashKvResult hashBefore;
        List<string> before;
        long revision;
        using (IKvStore store = MvccStores.Open(dir.DbPath()))
        {
            for (int i = 0; i < 3000; i++)
            {
                store.Put($"key/{i % 1000:D4}", $"value-{i}", lease: i % 7 == 0 ? 0x1234 : 0);
            }

            store.Put("big", new string('x', 200_000));
            store.Delete("key/0001", "key/0100");
            await store.Compact(2500);
            using (store.BeginBatch())
            {
                store.Tables.Put(ServerTables.Lease, [0, 0, 0, 0, 0, 0, 0x12, 0x34], B("lease"));
                store.Tables.Put(ServerTables.Auth, B("authEnabled"), [0]);
                store.Tables.Put("alarm", [0, 0, 0, 0, 0, 0, 0, 7, 1], new Api.AlarmMember { MemberID = 7, Alarm = Api.AlarmType.Nospace }.ToByteArray());
                store.SetConsistentIndex(new RaftPosition(42, 3));
            }

            hashBefore = store.HashKV(0);
            before = Everything(store);
            revision = store.CurrentRevision;
            BoltBackendFiles.WriteSnapshot(store, bolt);
        }

        Assert.False(File.Exists(bolt + ".lmdb"));
        BoltSnapshotStatus status = BoltBackendFiles.Status(bolt);
        Assert.Equal(revision, status.Revision);
        Assert.Equal(new FileInfo(bolt).Length, status.TotalSize);

        using (BoltReader reader = BoltReader.Open(bolt))
        {
            var names = reader.Buckets().Select(b => Encoding.UTF8.GetString(b.Key)).ToList();
            Assert.Equal(["alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta"], names);

            // etcd's alarm bucket: the marshalled AlarmMember as key, empty value.
            BoltEntry alarm = Assert.Single(reader.Entries(reader.FindBucket(B("alarm"))!));
            Assert.Empty(alarm.Value);
            Assert.Equal(7UL, Api.AlarmMember.Parser.ParseFrom(alarm.Key).MemberID);
            byte[] index = reader.Entries(reader.FindBucket(B("meta"))!).Single(e => e.Key.AsSpan().SequenceEqual("consistent_index"u8)).Value;
            Assert.Equal(42UL, BinaryPrimitives.ReadUInt64BigEndian(index));
            Assert.Equal(status.TotalKeys, reader.Buckets().Sum(b => reader.Entries(b.Value).LongCount()));
        }

        // A data dir whose db is that bolt file opens as the same store.
        string restored = dir.Combine("restored", "member", "snap", "db");
        Directory.CreateDirectory(Path.GetDirectoryName(restored)!);
        File.Copy(bolt, restored);
        using (IKvStore store = MvccStores.Open(restored))
        {
            Assert.Equal(hashBefore, store.HashKV(0));
            Assert.Equal(before, Everything(store));
            Assert.Equal(new RaftPosition(42, 3), store.ConsistentIndex);
            Assert.Equal(2500, store.CompactedRevision);
            Assert.Equal(B("lease"), store.Tables.Get(ServerTables.Lease, [0, 0, 0, 0, 0, 0, 0x12, 0x34]));
            Assert.NotNull(store.Tables.Get("alarm", [0, 0, 0, 0, 0, 0, 0, 7, 1]));
        }

        Assert.Equal(File.ReadAllBytes(bolt), File.ReadAllBytes(restored + ".bolt"));
        Assert.False(BoltFormat.IsBoltFile(restored));
        Assert.False(File.Exists(restored + ".import"));
    }

    [Fact]
    public void Import_RefusesGarbage_AndLeavesTheFile()
    {
        using var dir = TestDirectory.Create(nameof(Import_RefusesGarbage_AndLeavesTheFile));
        string path = dir.DbPath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        // A bolt file without etcd's key bucket.
        using (BoltWriter writer = BoltWriter.Create(path))
        {
            writer.AddBucket(B("other"), [new(B("a"), B("b"))]);
            writer.Complete();
        }

        byte[] content = File.ReadAllBytes(path);
        BoltFormatException e = Assert.Throws<BoltFormatException>(() => MvccStores.Open(path).Dispose());
        Assert.Contains("no \"key\" bucket", e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".import"));
        Assert.False(File.Exists(path + ".bolt"));

        // A bolt header over a damaged body.
        byte[] damaged = (byte[])content.Clone();
        Array.Clear(damaged, 3 * 4096, damaged.Length - (3 * 4096));
        File.WriteAllBytes(path, damaged);
        Assert.Throws<BoltFormatException>(() => MvccStores.Open(path).Dispose());
        Assert.Equal(damaged, File.ReadAllBytes(path));
    }

    private static ulong RootOf(BoltReader reader, string bucket) => BinaryPrimitives.ReadUInt64LittleEndian(reader.FindBucket(B(bucket)));

    private static List<string> Everything(IKvStore store)
    {
        var lines = new List<string>();
        for (long rev = store.CompactedRevision; rev <= store.CurrentRevision; rev++)
        {
            lines.AddRange(store.Get("\0", "\0", rev: rev).Kvs.Select(kv => $"@{rev} {kv.Describe()}"));
        }

        foreach (string table in ServerTables.WellKnown.Append("alarm"))
        {
            lines.AddRange(store.Tables.Scan(table).Select(t => $"{table} {Convert.ToHexString(t.Key)}={Convert.ToHexString(t.Value)}"));
        }

        return lines;
    }

    private static byte[] RevisionKey(long main)
    {
        byte[] key = new byte[17];
        BinaryPrimitives.WriteInt64BigEndian(key, main);
        key[8] = (byte)'_';
        return key;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Walks the file as bbolt's consistency check does: every page reached from the metas, the freelist and the bucket trees.</summary>
    private static PageCensus Census(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        ulong highWater = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(4096 + 16 + 40));
        ulong root = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(4096 + 16 + 16));
        ulong freelist = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(4096 + 16 + 32));
        var seen = new HashSet<ulong> { 0, 1 };
        var census = new PageCensus { HighWater = (long)highWater, Meta = 2 };
        Mark(freelist);
        census.Freelist++;
        VisitTree(root);
        census.Reached = seen.Count;
        return census;

        void Mark(ulong pgid)
        {
            int overflow = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)(pgid * 4096) + 12));
            for (ulong p = pgid; p <= pgid + (ulong)overflow; p++)
            {
                Assert.True(seen.Add(p), $"page {p} referenced twice");
            }

            census.OverflowPages += overflow;
        }

        void VisitTree(ulong pgid)
        {
            Mark(pgid);
            int at = (int)(pgid * 4096);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at + 8));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at + 10));
            for (int i = 0; i < count; i++)
            {
                int element = at + 16 + (i * 16);
                if (flags == BoltFormat.BranchPage)
                {
                    VisitTree(BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(element + 8)));
                }
                else if ((BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(element)) & 1) != 0)
                {
                    int pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(element + 4));
                    int ksize = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(element + 8));
                    ulong bucketRoot = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(element + pos + ksize));
                    if (bucketRoot != 0)
                    {
                        VisitTree(bucketRoot);
                    }
                }
            }

            if (flags == BoltFormat.BranchPage)
            {
                census.Branch++;
            }
        }
    }

    private sealed class PageCensus
    {
        public long HighWater { get; set; }

        public long Reached { get; set; }

        public int Branch { get; set; }

        public int Meta { get; set; }

        public int Freelist { get; set; }

        public int OverflowPages { get; set; }
    }
}
