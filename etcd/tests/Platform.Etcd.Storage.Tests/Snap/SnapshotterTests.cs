using Google.Protobuf;
using Platform.Etcd.Storage.Snap;
using Platform.Etcd.Storage.Wal;
using Platform.Raft;
using Platform.Testing;

namespace Platform.Etcd.Storage.Tests.Snap;

public sealed class SnapshotterTests
{
    private static Snapshot Snapshot(ulong term, ulong index) => new()
    {
        Data = ByteString.CopyFromUtf8($"state at {index}"),
        Metadata = new SnapshotMetadata { Term = term, Index = index, ConfState = new ConfState { Voters = { 1, 2, 3 } } },
    };

    [Fact]
    public void SaveSnap_ThenLoad_RoundTrips()
    {
        using var dir = TestDirectory.Create(nameof(SaveSnap_ThenLoad_RoundTrips));
        ISnapshotter snapshotter = Snapshotter.Create(dir.Combine("snap"));
        snapshotter.SaveSnap(Snapshot(2, 100));
        Assert.Equal(Snapshot(2, 100), snapshotter.Load());
        Assert.True(File.Exists(dir.Combine("snap", "0000000000000002-0000000000000064.snap")));
        Assert.Empty(Directory.GetFiles(dir.Combine("snap"), "*.tmp"));
    }

    [Fact]
    public void Load_NewestIsBroken_ReturnsNewestValidAndRenamesBroken()
    {
        using var dir = TestDirectory.Create(nameof(Load_NewestIsBroken_ReturnsNewestValidAndRenamesBroken));
        var logger = new ListLogger();
        ISnapshotter snapshotter = Snapshotter.Create(dir.Combine("snap"), logger);
        snapshotter.SaveSnap(Snapshot(1, 10));
        snapshotter.SaveSnap(Snapshot(1, 20));
        snapshotter.SaveSnap(Snapshot(2, 30));
        string newest = dir.Combine("snap", "0000000000000002-000000000000001e.snap");
        byte[] bytes = File.ReadAllBytes(newest);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);
        File.WriteAllBytes(dir.Combine("snap", "0000000000000003-0000000000000000.snap"), []);

        Assert.Equal(Snapshot(1, 20), snapshotter.Load());
        Assert.True(File.Exists(newest + ".broken"));
        Assert.False(File.Exists(newest));
        Assert.True(File.Exists(dir.Combine("snap", "0000000000000003-0000000000000000.snap.broken")));
        Assert.Contains(logger.Lines, l => l.Contains("crc mismatch", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadNewestAvailable_OnlyConsidersSnapshotsTheWalKnows()
    {
        using var dir = TestDirectory.Create(nameof(LoadNewestAvailable_OnlyConsidersSnapshotsTheWalKnows));
        ISnapshotter snapshotter = Snapshotter.Create(dir.Combine("snap"));
        snapshotter.SaveSnap(Snapshot(1, 10));
        snapshotter.SaveSnap(Snapshot(1, 20));
        snapshotter.SaveSnap(Snapshot(1, 30));
        Assert.Equal(Snapshot(1, 20), snapshotter.LoadNewestAvailable([WalSnapshot.Empty, new WalSnapshot(10, 1), new WalSnapshot(20, 1)]));
        Assert.Throws<SnapshotNotFoundException>(() => snapshotter.LoadNewestAvailable([new WalSnapshot(20, 2)]));
    }

    [Fact]
    public void Load_NoFiles_ThrowsNoAvailableSnapshot()
    {
        using var dir = TestDirectory.Create(nameof(Load_NoFiles_ThrowsNoAvailableSnapshot));
        var e = Assert.Throws<SnapshotNotFoundException>(() => Snapshotter.Create(dir.Combine("snap")).Load());
        Assert.Equal("snap: no available snapshot", e.Message);
    }

    [Fact]
    public void Purge_KeepsTheNewest()
    {
        using var dir = TestDirectory.Create(nameof(Purge_KeepsTheNewest));
        ISnapshotter snapshotter = Snapshotter.Create(dir.Combine("snap"));
        for (ulong i = 1; i <= 4; i++)
        {
            snapshotter.SaveSnap(Snapshot(1, i * 10));
        }

        Assert.Equal(2, snapshotter.Purge(2).Count);
        Assert.Equal(Snapshot(1, 40), snapshotter.Load());
        Assert.Equal(2, Directory.GetFiles(dir.Combine("snap"), "*.snap").Length);
    }
}
