using System.Text;
using Google.Protobuf;
using Platform.Etcd.Storage.Wal;
using Platform.Raft;
using Platform.Testing;

namespace Platform.Etcd.Storage.Tests.Wal;

public sealed class WriteAheadLogTests
{
    private static readonly byte[] s_metadata = Encoding.ASCII.GetBytes("node-1/cluster-7");

    // Small segments keep copies cheap; the format does not depend on the size.
    private static readonly WalOptions s_small = new() { SegmentSizeBytes = 16 * 1024 };

    private static Entry Entry(ulong index, ulong term = 1, string? data = null) =>
        new() { Index = index, Term = term, Data = ByteString.CopyFromUtf8(data ?? $"entry-{index}-payload") };

    private static List<Entry> Entries(ulong from, ulong to, ulong term = 1) =>
        Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => Entry((ulong)i, term)).ToList();

    private static WalReadResult Reopen(string dir, WalSnapshot? snapshot = null, WalOptions? options = null, ListLogger? logger = null)
    {
        using IWriteAheadLog wal = WriteAheadLog.Open(dir, snapshot ?? WalSnapshot.Empty, options ?? s_small, logger);
        return wal.ReadAll();
    }

    [Fact]
    public void Create_SaveThenReopen_ReturnsMetadataStateAndEntries()
    {
        using var dir = TestDirectory.Create(nameof(Create_SaveThenReopen_ReturnsMetadataStateAndEntries));
        string walDir = dir.Combine("member", "wal");
        Directory.CreateDirectory(dir.Combine("member"));
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata))
        {
            wal.Save(new HardState { Term = 1, Vote = 1, Commit = 0 }, Entries(1, 3));
            wal.Save(new HardState { Term = 2, Vote = 3, Commit = 3 }, Entries(4, 5, term: 2));
        }

        Assert.True(WriteAheadLog.Exists(walDir));
        Assert.Equal(["0000000000000000-0000000000000000.wal"], Directory.GetFiles(walDir, "*.wal").Select(Path.GetFileName));
        Assert.Equal(64_000_000, new FileInfo(Path.Combine(walDir, "0000000000000000-0000000000000000.wal")).Length);
        WalReadResult read = Reopen(walDir, options: new WalOptions());
        Assert.Equal(s_metadata, read.Metadata);
        Assert.Equal(new HardState { Term = 2, Vote = 3, Commit = 3 }, read.State);
        Assert.Equal([.. Entries(1, 3), .. Entries(4, 5, term: 2)], read.Entries);
    }

    [Fact]
    public void Create_WhereALogExists_Throws()
    {
        using var dir = TestDirectory.Create(nameof(Create_WhereALogExists_Throws));
        string walDir = dir.Combine("wal");
        WriteAheadLog.Create(walDir, s_metadata, s_small).Dispose();
        Assert.Throws<WalException>(() => WriteAheadLog.Create(walDir, s_metadata, s_small));
    }

    [Fact]
    public void Save_BeyondSegmentSize_RollsSegmentsThatReadBackInOrder()
    {
        using var dir = TestDirectory.Create(nameof(Save_BeyondSegmentSize_RollsSegmentsThatReadBackInOrder));
        string walDir = dir.Combine("wal");
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            for (ulong i = 1; i <= 400; i++)
            {
                wal.Save(new HardState { Term = 1, Commit = i - 1 }, [Entry(i, data: new string('x', 200))]);
            }
        }

        var names = Directory.GetFiles(walDir, "*.wal").Select(Path.GetFileName).Order().ToList();
        Assert.True(names.Count >= 5, $"expected several segments, got {names.Count}");
        for (int i = 0; i < names.Count; i++)
        {
            Assert.StartsWith($"{i:x16}-", names[i]);
        }

        // Each segment is named after the first index it may hold: one above the previous one's last.
        WalReadResult read = Reopen(walDir);
        Assert.Equal(400, read.Entries.Count);
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (ulong)i), read.Entries.Select(e => e.Index));
        Assert.Equal(399UL, read.State.Commit);
        ulong secondStart = ulong.Parse(names[1]![17..33], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(secondStart, 2UL, 400UL);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadAll_TornAtEveryByteOfTheLastRecord_RepairsAndKeepsEarlierRecords(bool truncate)
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_TornAtEveryByteOfTheLastRecord_RepairsAndKeepsEarlierRecords));
        string original = dir.Combine("original");
        long lastStart;
        long lastEnd;
        using (var wal = (SegmentedWal)WriteAheadLog.Create(original, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1, Vote = 1, Commit = 2 }, Entries(1, 4));
            lastStart = wal.TailOffsetBytes;
            wal.Save(new HardState(), [Entry(5, data: "the last record, torn")]);
            lastEnd = wal.TailOffsetBytes;
        }

        string segment = "0000000000000000-0000000000000000.wal";
        for (long cut = lastStart; cut < lastEnd; cut++)
        {
            string copy = dir.Combine($"torn-{cut}");
            Directory.CreateDirectory(copy);
            File.Copy(Path.Combine(original, segment), Path.Combine(copy, segment));
            using (var file = new FileStream(Path.Combine(copy, segment), FileMode.Open))
            {
                if (truncate)
                {
                    file.SetLength(cut);
                }
                else
                {
                    file.Position = cut;
                    file.Write(new byte[lastEnd - cut]);
                }
            }

            var logger = new ListLogger();
            WalReadResult read = Reopen(copy, logger: logger);
            Assert.Equal(Entries(1, 4), read.Entries.Take(4));
            Assert.Equal(new HardState { Term = 1, Vote = 1, Commit = 2 }, read.State);
            if (read.Entries.Count == 5)
            {
                // Only the padding (or the padding marker) was lost: the record itself is intact.
                Assert.Equal(Entry(5, data: "the last record, torn"), read.Entries[4]);
            }
            else
            {
                Assert.Equal(4, read.Entries.Count);
                if (cut > lastStart)
                {
                    Assert.Contains(logger.Lines, l => l.Contains("repaired torn tail", StringComparison.Ordinal) && l.Contains(segment, StringComparison.Ordinal));
                }
            }

            // The repaired log takes appends and reads them back.
            using (IWriteAheadLog wal = WriteAheadLog.Open(copy, WalSnapshot.Empty, s_small))
            {
                WalReadResult again = wal.ReadAll();
                wal.Save(new HardState { Term = 2, Vote = 1, Commit = 4 }, [Entry((ulong)again.Entries.Count + 1, 2, "after repair")]);
            }

            WalReadResult final = Reopen(copy);
            Assert.Equal(Entries(1, 4), final.Entries.Take(4));
            Assert.Equal("after repair", final.Entries[^1].Data.ToStringUtf8());
        }
    }

    [Fact]
    public void ReadAll_ZeroedTailOfSeveralRecords_KeepsRecordsBeforeIt()
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_ZeroedTailOfSeveralRecords_KeepsRecordsBeforeIt));
        string walDir = dir.Combine("wal");
        long zeroFrom;
        long end;
        using (var wal = (SegmentedWal)WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1, Commit = 3 }, Entries(1, 3));
            zeroFrom = wal.TailOffsetBytes + 13;
            wal.Save(new HardState { Term = 1, Commit = 6 }, Entries(4, 6));
            end = wal.TailOffsetBytes;
        }

        using (var file = new FileStream(Path.Combine(walDir, "0000000000000000-0000000000000000.wal"), FileMode.Open))
        {
            file.Position = zeroFrom;
            file.Write(new byte[end - zeroFrom]);
        }

        WalReadResult read = Reopen(walDir);
        Assert.Equal(Entries(1, 3), read.Entries);
        Assert.Equal(3UL, read.State.Commit);
    }

    [Fact]
    public void ReadAll_BadCrcInAMiddleSegment_IsRefusedNamingFileAndOffset()
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_BadCrcInAMiddleSegment_IsRefusedNamingFileAndOffset));
        string walDir = dir.Combine("wal");
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            for (ulong i = 1; i <= 300; i++)
            {
                wal.Save(new HardState { Term = 1, Commit = i }, [Entry(i, data: $"marker-{i:D5}-" + new string('y', 150))]);
            }
        }

        string[] segments = Directory.GetFiles(walDir, "*.wal").Order().ToArray();
        Assert.True(segments.Length >= 3);
        string middle = segments[1];
        byte[] bytes = File.ReadAllBytes(middle);
        int at = bytes.AsSpan().IndexOf("yyyyyyyyyy"u8);
        Assert.True(at > 0);
        bytes[at + 3] ^= 0x01;
        File.WriteAllBytes(middle, bytes);

        WalException e = Assert.Throws<WalException>(() => Reopen(walDir));
        Assert.Contains("crc mismatch", e.Message, StringComparison.Ordinal);
        Assert.Equal(middle, e.FilePath);
        Assert.InRange(e.OffsetBytes, 0, at);
        Assert.Contains(Path.GetFileName(middle), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadAll_BadCrcInLastSegmentFollowedByRecords_IsRefused()
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_BadCrcInLastSegmentFollowedByRecords_IsRefused));
        string walDir = dir.Combine("wal");
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1 }, [Entry(1, data: "zzzzzzzzzzzzzzzz")]);
            wal.Save(new HardState { Term = 1 }, Entries(2, 5));
        }

        string segment = Directory.GetFiles(walDir, "*.wal").Single();
        byte[] bytes = File.ReadAllBytes(segment);
        bytes[bytes.AsSpan().IndexOf("zzzzzzzz"u8) + 2] = (byte)'Z';
        File.WriteAllBytes(segment, bytes);

        WalException e = Assert.Throws<WalException>(() => Reopen(walDir));
        Assert.Contains("crc mismatch", e.Message, StringComparison.Ordinal);
        Assert.Equal(segment, e.FilePath);
    }

    [Fact]
    public void Open_AtASnapshot_ReturnsOnlyLaterEntries()
    {
        using var dir = TestDirectory.Create(nameof(Open_AtASnapshot_ReturnsOnlyLaterEntries));
        string walDir = dir.Combine("wal");
        var snapshot = new WalSnapshot(5, 1, new ConfState { Voters = { 1, 2, 3 } });
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1, Commit = 5 }, Entries(1, 5));
            wal.SaveSnapshot(snapshot);
            wal.Save(new HardState { Term = 1, Commit = 8 }, Entries(6, 10));
        }

        WalReadResult read = Reopen(walDir, snapshot);
        Assert.Equal(Entries(6, 10), read.Entries);
        Assert.Equal(8UL, read.State.Commit);
        Assert.Equal([WalSnapshot.Empty, snapshot], WriteAheadLog.ReadSnapshots(walDir));
        Assert.Throws<WalException>(() => Reopen(walDir, new WalSnapshot(5, 2)));
        Assert.Throws<WalException>(() => Reopen(walDir, new WalSnapshot(4, 1)));
    }

    [Fact]
    public void ReadAll_ConflictingEntries_LaterOnesOverwrite()
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_ConflictingEntries_LaterOnesOverwrite));
        string walDir = dir.Combine("wal");
        using (IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1, Vote = 1 }, Entries(1, 5));

            // A new leader at term 2 overwrote the uncommitted entries from index 3 on.
            wal.Save(new HardState { Term = 2, Vote = 2 }, Entries(3, 4, term: 2));
        }

        WalReadResult read = Reopen(walDir);
        Assert.Equal([.. Entries(1, 2), .. Entries(3, 4, term: 2)], read.Entries);
    }

    [Fact]
    public void Open_WhileAnotherHolderHasTheLog_IsRefused()
    {
        using var dir = TestDirectory.Create(nameof(Open_WhileAnotherHolderHasTheLog_IsRefused));
        string walDir = dir.Combine("wal");
        using IWriteAheadLog first = WriteAheadLog.Create(walDir, s_metadata, s_small);
        WalException e = Assert.Throws<WalException>(() => WriteAheadLog.Open(walDir, WalSnapshot.Empty, s_small));
        Assert.Contains("locked", e.Message, StringComparison.Ordinal);
        first.Dispose();
        WriteAheadLog.Open(walDir, WalSnapshot.Empty, s_small).Dispose();
    }

    [Fact]
    public void Purge_KeepsLockedSegmentsUntilReleased()
    {
        using var dir = TestDirectory.Create(nameof(Purge_KeepsLockedSegmentsUntilReleased));
        string walDir = dir.Combine("wal");
        using IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small);
        for (ulong i = 1; i <= 300; i++)
        {
            wal.Save(new HardState { Term = 1, Commit = i }, [Entry(i, data: new string('p', 200))]);
        }

        int before = Directory.GetFiles(walDir, "*.wal").Length;
        Assert.True(before >= 4);
        Assert.Empty(WriteAheadLog.Purge(walDir, 1));

        wal.SaveSnapshot(new WalSnapshot(250, 1));
        wal.ReleaseLockTo(250);
        IReadOnlyList<string> purged = WriteAheadLog.Purge(walDir, 1);
        Assert.NotEmpty(purged);
        Assert.All(((SegmentedWal)wal).LockedSegmentPaths, p => Assert.True(File.Exists(p)));

        // The segment holding index 250 is still there: the log reopens at that snapshot.
        wal.Dispose();
        WalReadResult read = Reopen(walDir, new WalSnapshot(250, 1));
        Assert.Equal(Enumerable.Range(251, 50).Select(i => (ulong)i), read.Entries.Select(e => e.Index));
    }

    [Fact]
    public void Save_BeforeReadAll_IsRefused()
    {
        using var dir = TestDirectory.Create(nameof(Save_BeforeReadAll_IsRefused));
        string walDir = dir.Combine("wal");
        WriteAheadLog.Create(walDir, s_metadata, s_small).Dispose();
        using IWriteAheadLog wal = WriteAheadLog.Open(walDir, WalSnapshot.Empty, s_small);
        Assert.Throws<WalException>(() => wal.Save(new HardState { Term = 1 }, []));
    }
    [Fact]
    public async Task ReadSnapshots_WhileTheLogIsOpenAndAppending_ReturnsTheCommittedMarkers()
    {
        using var dir = TestDirectory.Create(nameof(ReadSnapshots_WhileTheLogIsOpenAndAppending_ReturnsTheCommittedMarkers));
        string walDir = dir.Combine("wal");
        using IWriteAheadLog wal = WriteAheadLog.Create(walDir, s_metadata, s_small);
        wal.Save(new HardState { Term = 1, Commit = 5 }, Entries(1, 5));
        wal.SaveSnapshot(new WalSnapshot(5, 1));

        // The open log holds every segment's exclusive lock; the reader takes none.
        Assert.Equal([WalSnapshot.Empty, new WalSnapshot(5, 1)], WriteAheadLog.ReadSnapshots(walDir));

        // Appends, snapshots and segment rolls race the reads: every read sees a consistent log.
        Task writer = Task.Run(() =>
        {
            for (ulong i = 6; i <= 400; i++)
            {
                wal.Save(new HardState { Term = 1, Commit = i }, [Entry(i, data: new string('r', 100))]);
                if (i % 50 == 0)
                {
                    wal.SaveSnapshot(new WalSnapshot(i, 1));
                }
            }
        });
        int reads = 0;
        do
        {
            IReadOnlyList<WalSnapshot> snapshots = WriteAheadLog.ReadSnapshots(walDir, s_small);
            Assert.Equal(new WalSnapshot(5, 1), snapshots[1]);
            Assert.All(snapshots.Skip(2), s => Assert.Equal(0UL, s.Index % 50));
            reads++;
        }
        while (!writer.IsCompleted);
        await writer;

        Assert.True(Directory.GetFiles(walDir, "*.wal").Length > 1);
        Assert.Equal(2 + 8, WriteAheadLog.ReadSnapshots(walDir, s_small).Count);
        Assert.True(reads > 0);
    }

    [Fact]
    public void ReadAll_TornTail_KeepsTheSegmentAsItWasInADotBrokenFile()
    {
        using var dir = TestDirectory.Create(nameof(ReadAll_TornTail_KeepsTheSegmentAsItWasInADotBrokenFile));
        string walDir = dir.Combine("wal");
        long lastStart;
        using (var wal = (SegmentedWal)WriteAheadLog.Create(walDir, s_metadata, s_small))
        {
            wal.Save(new HardState { Term = 1, Commit = 2 }, Entries(1, 2));
            lastStart = wal.TailOffsetBytes;
            wal.Save(new HardState(), [Entry(3, data: "torn away")]);
        }

        string segment = Path.Combine(walDir, "0000000000000000-0000000000000000.wal");
        byte[] before = File.ReadAllBytes(segment);
        int end = before.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;

        // Tear the last record: its tail bytes never reached the disk.
        int cut = (int)lastStart + 20;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.Position = cut;
            file.Write(new byte[end - cut]);
        }

        byte[] torn = File.ReadAllBytes(segment);
        int tornEnd = torn.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        var logger = new ListLogger();
        Assert.Equal(Entries(1, 2), Reopen(walDir, logger: logger).Entries);

        // The copy holds the segment up to its last non-zero byte, torn bytes included.
        string broken = segment + ".broken";
        Assert.Equal(torn.AsSpan(0, tornEnd).ToArray(), File.ReadAllBytes(broken));
        Assert.True(tornEnd > lastStart);
        Assert.Contains(logger.Lines, l => l.Contains(broken, StringComparison.Ordinal));

        // The repaired segment is zero after the cut; a clean reopen makes no new copy.
        Assert.DoesNotContain(File.ReadAllBytes(segment).AsSpan((int)lastStart).ToArray(), b => b != 0);
        File.Delete(broken);
        Assert.Equal(Entries(1, 2), Reopen(walDir).Entries);
        Assert.False(File.Exists(broken));
        Assert.Equal(["0000000000000000-0000000000000000.wal"], Directory.GetFiles(walDir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(0L, 0u, 0)]
    [InlineData(2L, 0u, 0)]
    [InlineData(0L, 0x8000_0001u, 5)]
    [InlineData(2L, 0xFFFF_FFFFu, 127)]
    [InlineData(5L, 12345u, 128)]
    [InlineData(3L, 1u, 70_000)]
    public void WalFrameWrite_FromSpan_WritesTheBytesOfTheRecordMessage(long type, uint crc, int dataBytes)
    {
        byte[] data = Enumerable.Range(0, dataBytes).Select(i => (byte)(i * 7)).ToArray();
        var record = new Storage.Wal.Proto.WalRecord { Type = type, Crc = crc, Data = ByteString.CopyFrom(data) };
        byte[] expected = record.ToByteArray();

        var output = new System.Buffers.ArrayBufferWriter<byte>();
        WalFrame.Write(output, type, crc, data);

        byte[] frame = output.WrittenSpan.ToArray();
        Assert.Equal(0, frame.Length % 8);
        (long recordBytes, int padding, bool valid) = WalFrame.DecodeLength(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(frame));
        Assert.True(valid);
        Assert.Equal(expected.Length, recordBytes);
        Assert.Equal(frame.Length - WalFrame.LengthFieldBytes - expected.Length, padding);
        Assert.Equal(expected, frame.AsSpan(WalFrame.LengthFieldBytes, expected.Length).ToArray());
        Assert.All(frame.AsSpan(WalFrame.LengthFieldBytes + expected.Length).ToArray(), b => Assert.Equal(0, b));
    }
}
