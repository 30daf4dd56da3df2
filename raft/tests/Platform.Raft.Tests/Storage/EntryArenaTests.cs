using Google.Protobuf;

namespace Platform.Raft.Tests.Storage;

/// <summary>The layout under <see cref="MemoryStorage"/>: entries read back exactly, views never rewritten, chunks released.</summary>
public class EntryArenaTests
{
    private static Entry Entry(ulong index, ulong term, int dataLength, byte fill, EntryType type = EntryType.EntryNormal)
    {
        byte[] data = new byte[dataLength];
        Array.Fill(data, fill);
        return new Entry { Index = index, Term = term, Type = type, Data = ByteString.CopyFrom(data) };
    }

    [Fact]
    public void Read_ReturnsEqualEntries_WithTheirIndexes()
    {
        var arena = new EntryArena();
        Entry[] source = [Entry(10, 1, 0, 0), Entry(11, 2, 300, 7), Entry(12, 2, 5, 9, EntryType.EntryConfChangeV2)];
        arena.Append(source, 0, source.Length);

        Entry[] read = arena.Read(0, 3, 10);

        Assert.Equal(source, read);
        Assert.Equal(source.Select(e => e.CalculateSize()), Enumerable.Range(0, 3).Select(arena.EncodedSize));
        Assert.Equal(2UL, arena.Term(2));
        Assert.Equal([12UL], arena.Read(2, 1, 12).Select(e => e.Index));
    }

    [Fact]
    public void Views_KeepTheirBytes_AfterTruncateAndAppend()
    {
        var arena = new EntryArena();
        arena.Append([Entry(1, 1, 100, 1), Entry(2, 1, 100, 2)], 0, 2);
        Entry[] before = arena.Read(1, 1, 2);

        arena.Truncate(1);
        arena.Append([Entry(2, 2, 100, 3)], 0, 1);

        Assert.All(before[0].Data.Span.ToArray(), b => Assert.Equal(2, b));
        Entry now = arena.Read(1, 1, 2)[0];
        Assert.Equal(2UL, now.Term);
        Assert.All(now.Data.Span.ToArray(), b => Assert.Equal(3, b));
    }

    [Fact]
    public void DropPrefix_ReleasesChunksNoLiveEntryIsIn()
    {
        var arena = new EntryArena();
        int perEntry = EntryArena.ChunkBytes / 4;

        // 4 entries per chunk: 12 entries fill 3 chunks.
        for (ulong i = 1; i <= 12; i++)
        {
            arena.Append([Entry(i, 1, perEntry, (byte)i)], 0, 1);
        }

        Assert.Equal(3L * EntryArena.ChunkBytes, arena.ChunkBytesHeld);

        arena.DropPrefix(5);
        Assert.Equal(2L * EntryArena.ChunkBytes, arena.ChunkBytesHeld);
        Assert.All(arena.Read(0, 1, 6)[0].Data.Span.ToArray(), b => Assert.Equal(6, b));

        arena.Clear();
        Assert.Equal(0, arena.Count);
        Assert.Equal(1L * EntryArena.ChunkBytes, arena.ChunkBytesHeld);
    }

    [Fact]
    public void AnEntryLargerThanAChunk_GetsItsOwn()
    {
        var arena = new EntryArena();
        arena.Append([Entry(1, 1, 10, 1), Entry(2, 1, EntryArena.ChunkBytes + 10, 2), Entry(3, 1, 10, 3)], 0, 3);

        Entry[] read = arena.Read(0, 3, 1);

        Assert.Equal(EntryArena.ChunkBytes + 10, read[1].Data.Length);
        Assert.All(read[1].Data.Span.ToArray(), b => Assert.Equal(2, b));
        Assert.All(read[2].Data.Span.ToArray(), b => Assert.Equal(3, b));
    }

    [Fact]
    public void ManyAppendsAndDrops_KeepTheWindowIntact()
    {
        // Slides the slot window to the front and grows it, as a server appending and compacting does.
        var arena = new EntryArena();
        ulong first = 1;
        ulong next = 1;
        var random = new Random(42);
        for (int round = 0; round < 200; round++)
        {
            int add = random.Next(1, 100);
            Entry[] batch = [.. Enumerable.Range(0, add).Select(i => Entry(next + (ulong)i, next + (ulong)i, random.Next(0, 600), (byte)(next + (ulong)i)))];
            arena.Append(batch, 0, batch.Length);
            next += (ulong)add;

            int drop = random.Next(0, arena.Count);
            arena.DropPrefix(drop);
            first += (ulong)drop;

            Entry[] all = arena.Read(0, arena.Count, first);
            for (int i = 0; i < all.Length; i++)
            {
                ulong index = first + (ulong)i;
                Assert.Equal(index, all[i].Term);
                Assert.All(all[i].Data.Span.ToArray(), b => Assert.Equal((byte)index, b));
            }
        }
    }
}
