using Platform.Testing;

namespace Platform.Etcd.Server.Tests.Cluster;

public sealed class ReceivedBackendTests
{
    /// <summary>
    /// Regression (found by the cluster snapshot catch-up test under load): installing snapshot 0x7f
    /// deleted the backend already received for snapshot 0xa8, whose MsgSnap was still queued, and
    /// the member then failed installing 0xa8.
    /// </summary>
    [Fact]
    public void InstallingSnapshot_KeepsBackendsReceivedForLaterSnapshots()
    {
        using var dir = TestDirectory.Create("received-backends");
        string[] names = ["000000000000007f.snap.db", "0000000000000010.snap.db", "00000000000000a8.snap.db", "00000000000000b0.snap.db.tmp", "0000000000000001-000000000000007f.snap", "db"];
        foreach (string name in names)
        {
            File.WriteAllText(dir.Combine(name), name);
        }

        EtcdServer.DeleteReceivedBackendsUpTo(dir.Path, 0x7f);

        Assert.Equal(
            ["0000000000000001-000000000000007f.snap", "00000000000000a8.snap.db", "00000000000000b0.snap.db.tmp", "db"],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
