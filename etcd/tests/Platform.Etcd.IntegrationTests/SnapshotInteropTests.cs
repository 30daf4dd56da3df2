using System.Text.Json;
using Platform.Etcd.IntegrationTests.Infrastructure;
using Platform.Etcd.Storage.Bolt;
using Platform.Testing;
using RealEtcdFactAttribute = Platform.Etcd.IntegrationTests.Infrastructure.RealEtcdFactAttribute;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// Snapshots in etcd's backend format (bbolt) across implementations, with etcdctl 3.4:
/// <c>snapshot save</c> from ours, <c>snapshot status</c> and <c>snapshot restore</c> on it, ours
/// and the real etcd 3.4 starting from the restored data dir; and the reverse migration, a
/// snapshot of the real etcd restored and served by ours. Each side must then answer with the same
/// keys, revisions, compaction and HashKV as the member the snapshot was taken from.
/// </summary>
public sealed class SnapshotInteropTests
{
    [RealEtcdFact]
    public async Task OurSnapshot_HasEtcdctlStatus_AndRestoresIntoOursAndRealEtcd()
    {
        using var dir = TestDirectory.Create(nameof(OurSnapshot_HasEtcdctlStatus_AndRestoresIntoOursAndRealEtcd));
        string file = dir.Combine("ours.db");
        State before;
        await using (EtcdProcess ours = await EtcdProcess.StartOursAsync("snap-ours"))
        {
            before = await FillAndSnapshotAsync(new Etcdctl(ours.ClientUrl), file);
        }

        await AssertStatusAsync(file, before);

        await using (EtcdProcess restored = await EtcdProcess.StartOursAsync("snap-ours-restored", prepare: (data, peer) => RestoreAsync(file, data, peer)))
        {
            await AssertSameStateAsync(before, new Etcdctl(restored.ClientUrl), restored.Description);
            Assert.True(File.Exists(Path.Combine(restored.DataDir, "member", "snap", "db.bolt")), "the restored bolt file is kept beside the imported backend");
        }

        await using (EtcdProcess real = await EtcdProcess.StartRealAsync("snap-ours-real", prepare: (data, peer) => RestoreAsync(file, data, peer)))
        {
            await AssertSameStateAsync(before, new Etcdctl(real.ClientUrl), real.Description);
        }
    }

    [RealEtcdFact]
    public async Task RealEtcdSnapshot_RestoredDataDir_IsServedByOurs()
    {
        using var dir = TestDirectory.Create(nameof(RealEtcdSnapshot_RestoredDataDir_IsServedByOurs));
        string file = dir.Combine("real.db");
        State before;
        await using (EtcdProcess real = await EtcdProcess.StartRealAsync("snap-real"))
        {
            before = await FillAndSnapshotAsync(new Etcdctl(real.ClientUrl), file);
        }

        // Our reader on a file bbolt wrote: the same figures etcdctl computes.
        await AssertStatusAsync(file, before);

        await using EtcdProcess ours = await EtcdProcess.StartOursAsync("snap-real-ours", prepare: (data, peer) => RestoreAsync(file, data, peer));
        var ctl = new Etcdctl(ours.ClientUrl);
        await AssertSameStateAsync(before, ctl, ours.Description);

        // And it keeps working as a store: writes continue from the restored revision.
        await ctl.OkAsync("put", "snap/after", "x");
        JsonElement after = Json(await ctl.OkAsync("get", "snap/after", "-w", "json"));
        Assert.Equal(before.Revision + 1, after.GetProperty("kvs")[0].GetProperty("mod_revision").GetInt64());
    }

    [Fact]
    public async Task DamagedBoltBackend_IsRefusedWithAClearError_AndKept()
    {
        // A data dir whose backend claims to be bbolt (valid magic and version) but is damaged.
        using var dir = TestDirectory.Create(nameof(DamagedBoltBackend_IsRefusedWithAClearError_AndKept));
        string data = dir.Combine("data");
        string target = Path.Combine(data, "member", "snap", "db");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        byte[] bogus = new byte[3 * 4096];
        BitConverter.GetBytes(0xED0CDAEDu).CopyTo(bogus, 16);
        BitConverter.GetBytes(2u).CopyTo(bogus, 20);
        await File.WriteAllBytesAsync(target, bogus);
        int[] ports = FreePorts.Next(2);
        string client = $"http://127.0.0.1:{ports[0]}";
        string peer = $"http://127.0.0.1:{ports[1]}";
        CommandResult result = await Command.RunAsync(
            Binaries.OurEtcd,
            ["--data-dir", data, "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"default={peer}"],
            TimeSpan.FromSeconds(60));
        string output = result.Stdout + result.Stderr;
        Assert.True(result.ExitCode != 0, output);
        Assert.Contains($"bolt: {target}: ", output, StringComparison.Ordinal);
        Assert.Equal(bogus, await File.ReadAllBytesAsync(target));
    }

    /// <summary>Puts, overwrites, deletes, a lease with a key, a compaction; then snapshot save.</summary>
    private static async Task<State> FillAndSnapshotAsync(Etcdctl ctl, string file)
    {
        for (int i = 0; i < 40; i++)
        {
            await ctl.OkAsync("put", $"snap/k{i % 25:D2}", $"value-{i}");
        }

        await ctl.OkAsync("del", "snap/k03");
        string lease = (await ctl.OkAsync("lease", "grant", "3000")).Split(' ')[1];
        await ctl.OkAsync("put", "snap/leased", "v", "--lease", lease);
        await ctl.OkAsync("compact", "10");
        string saved = await ctl.OkAsync("snapshot", "save", file);
        Assert.Contains($"Snapshot saved at {file}", saved, StringComparison.Ordinal);
        return await ReadStateAsync(ctl, lease);
    }

    private static async Task<State> ReadStateAsync(Etcdctl ctl, string lease)
    {
        JsonElement get = Json(await ctl.OkAsync("get", "snap/", "--prefix", "-w", "json"));
        JsonElement hash = Assert.Single(Json(await ctl.OkAsync("endpoint", "hashkv", "-w", "json")).EnumerateArray()).GetProperty("HashKV");
        string oldValue = (await ctl.OkAsync("get", "snap/k01", "--rev", "12")).Trim();
        string leases = await ctl.OkAsync("lease", "list");
        Assert.Contains(lease, leases, StringComparison.Ordinal);
        return new State(
            get.GetProperty("header").GetProperty("revision").GetInt64(),
            get.GetProperty("kvs").GetRawText(),
            hash.GetProperty("hash").GetUInt32(),
            hash.GetProperty("compact_revision").GetInt64(),
            oldValue,
            lease);
    }

    private static async Task AssertStatusAsync(string file, State state)
    {
        // etcdctl 3.4 reads the file with bbolt (and runs bbolt's consistency check first).
        CommandResult run = await Command.RunAsync(Binaries.Etcdctl, ["snapshot", "status", file, "-w", "json"], Etcdctl.Timeout, new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        JsonElement status = Json(run.EnsureSuccess("etcdctl snapshot status").Stdout);
        long bytes = new FileInfo(file).Length;
        BoltSnapshotStatus ours = BoltBackendFiles.Status(file);
        Assert.Equal(ours.Hash, status.GetProperty("hash").GetUInt32());
        Assert.Equal(state.Revision, status.GetProperty("revision").GetInt64());
        Assert.Equal(ours.Revision, state.Revision);
        Assert.Equal(ours.TotalKeys, status.GetProperty("totalKey").GetInt64());
        Assert.Equal(ours.TotalSize, status.GetProperty("totalSize").GetInt64());

        // The sha256 etcd appends after the db.
        Assert.Equal(ours.TotalSize + 32, bytes);
    }

    private static async Task AssertSameStateAsync(State expected, Etcdctl ctl, string who)
    {
        State actual = await ReadStateAsync(ctl, expected.Lease);
        Assert.True(expected == actual, $"{who} after restore:\n  expected {expected}\n  actual   {actual}");
        CommandResult compacted = await ctl.RunAsync("get", "snap/k01", "--rev", "5");
        Assert.Contains("required revision has been compacted", compacted.Stderr, StringComparison.Ordinal);
    }

    private static async Task RestoreAsync(string file, string dataDir, string peer)
    {
        CommandResult run = await Command.RunAsync(
            Binaries.Etcdctl,
            ["snapshot", "restore", file, "--data-dir", dataDir, "--name", "default", "--initial-cluster", $"default={peer}", "--initial-advertise-peer-urls", peer],
            Etcdctl.Timeout,
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        run.EnsureSuccess("etcdctl snapshot restore");
    }

    private sealed record State(long Revision, string Kvs, uint HashKv, long CompactRevision, string OldValue, string Lease);
}
