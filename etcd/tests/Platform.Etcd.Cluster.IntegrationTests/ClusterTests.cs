using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Platform.Etcd.Cluster.IntegrationTests.Infrastructure;

namespace Platform.Etcd.Cluster.IntegrationTests;

/// <summary>3-member clusters of our etcd executable, driven by the real etcdctl 3.4.</summary>
public sealed class ClusterTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Bootstrap_FollowerWrite_ReadableLinearizablyOnEveryMember()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, ulong leaderId) = await cluster.LeaderAsync();
        MemberStatus[] statuses = await Task.WhenAll(cluster.Members.Select(TestCluster.StatusAsync));
        Assert.Single(statuses.Select(s => s.ClusterId).Distinct());
        Assert.Equal(3, statuses.Select(s => s.MemberId).Distinct().Count());
        Assert.All(statuses, s => Assert.Equal(leaderId, s.Leader));

        ClusterMember follower = cluster.Members.First(m => m != leader);
        Assert.True((await Etcdctl.RunAsync(follower.ClientUrl, "put", "from-follower", "v1")).Ok);
        foreach (ClusterMember m in cluster.Members)
        {
            // Linearizable (etcdctl's default): a ReadIndex through the leader, on every member.
            EtcdctlResult get = await Etcdctl.RunAsync(m.ClientUrl, "get", "from-follower", "--print-value-only");
            Assert.True(get.Ok, get.ToString());
            Assert.Equal("v1", get.Stdout.Trim());
        }

        // Every member published its name and client URL through raft.
        EtcdctlResult list = await Etcdctl.UntilOkAsync(follower.ClientUrl, s_deadline, "member", "list");
        foreach (ClusterMember m in cluster.Members)
        {
            Assert.Contains($"started, {m.Name}, {m.PeerUrl}, {m.ClientUrl}, false", list.Stdout, StringComparison.Ordinal);
        }

        // endpoint status --cluster finds every member from the member list.
        EtcdctlResult all = await Etcdctl.RunAsync(follower.ClientUrl, "endpoint", "status", "--cluster", "-w", "json");
        Assert.True(all.Ok, all.ToString());
        using JsonDocument doc = all.Json();
        Assert.Equal(cluster.Members.Select(m => m.ClientUrl).Order(), doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Endpoint").GetString()).Order());
        Assert.Single(await cluster.HashKvAsync() is var h ? h.Distinct() : []);
    }

    [Fact]
    public async Task KillLeader_NewLeaderTakesWrites_RestartedMemberCatchesUp()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, ulong leaderId) = await cluster.LeaderAsync();
        Assert.True((await Etcdctl.RunAsync(leader.ClientUrl, "put", "k", "before")).Ok);

        await leader.KillAsync();
        ClusterMember survivor = cluster.Members.First(m => m.IsRunning);
        var failover = Stopwatch.StartNew();
        EtcdctlResult put = await Etcdctl.UntilOkAsync(survivor.ClientUrl, s_deadline, "put", "k", "after");
        failover.Stop();
        Assert.True(put.Ok, put.ToString());
        (_, ulong newLeader) = await cluster.LeaderAsync();
        Assert.NotEqual(leaderId, newLeader);
        Assert.True(failover.Elapsed < TimeSpan.FromSeconds(15), $"failover took {failover.Elapsed}");

        await cluster.RestartAsync(leader);
        await WaitForValueAsync(leader, "k", "after");
        Assert.Single((await cluster.HashKvAsync()).Distinct());
    }

    [Fact]
    public async Task LaggingMember_CatchesUpBySnapshot_AndOldSnapshotsArePurged()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(
            Binaries.OurEtcd, 3, "snapshot-tests", "--snapshot-count", "40", "--experimental-snapshot-catchup-entries", "10", "--max-snapshots", "2");
        (ClusterMember leader, _) = await cluster.LeaderAsync();
        ClusterMember lagging = cluster.Members.First(m => m != leader);
        await lagging.KillAsync();

        // 160 writes: four snapshots on the others, their logs compacted past what the lagging member has.
        for (int batch = 0; batch < 16; batch++)
        {
            await Task.WhenAll(Enumerable.Range(batch * 10, 10).Select(i => Etcdctl.RunAsync(leader.ClientUrl, "put", $"key{i:D3}", $"value{i}")));
        }

        await cluster.RestartAsync(lagging);
        await WaitForValueAsync(lagging, "key159", "value159");
        Assert.Contains("applied snapshot at index", lagging.Log, StringComparison.Ordinal);
        Assert.Single((await cluster.HashKvAsync()).Distinct());
        EtcdctlResult count = await Etcdctl.RunAsync(lagging.ClientUrl, "get", "key", "--prefix", "--keys-only", "--consistency=s", "-w", "json");
        using (JsonDocument doc = count.Json())
        {
            Assert.Equal(160, doc.RootElement.GetProperty("count").GetInt32());
            Assert.Equal(161, doc.RootElement.GetProperty("header").GetProperty("revision").GetInt64());
        }

        string[] snaps = Directory.GetFiles(Path.Combine(leader.DataDir, "member", "snap"), "*.snap");
        Assert.InRange(snaps.Length, 1, 2);
    }

    [Fact]
    public async Task MoveLeader_TransfersLeadership_EveryMemberReportsIt()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, ulong leaderId) = await cluster.LeaderAsync();
        ClusterMember target = cluster.Members.First(m => m != leader);
        ulong targetId = (await TestCluster.StatusAsync(target)).MemberId;

        EtcdctlResult move = await Etcdctl.RunAsync(cluster.ClientUrls, "move-leader", targetId.ToString("x", CultureInfo.InvariantCulture));
        Assert.True(move.Ok, move.ToString());
        Assert.Equal($"Leadership transferred from {leaderId:x} to {targetId:x}", move.Stdout.Trim());
        (ClusterMember now, _) = await cluster.LeaderAsync();
        Assert.Same(target, now);
        MemberStatus[] statuses = await Task.WhenAll(cluster.Members.Select(TestCluster.StatusAsync));
        Assert.All(statuses, s => Assert.Equal(targetId, s.Leader));
        Assert.Single(statuses.Select(s => s.RaftTerm).Distinct());

        // Asked of a follower's endpoint alone, etcdctl finds no leader to ask.
        EtcdctlResult wrong = await Etcdctl.RunAsync(leader.ClientUrl, "move-leader", leaderId.ToString("x", CultureInfo.InvariantCulture));
        Assert.False(wrong.Ok);
    }

    [Fact]
    public async Task Leases_GrantedAndKeptAliveThroughFollower()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, _) = await cluster.LeaderAsync();
        ClusterMember follower = cluster.Members.First(m => m != leader);

        EtcdctlResult grant = await Etcdctl.RunAsync(follower.ClientUrl, "lease", "grant", "60");
        Assert.True(grant.Ok, grant.ToString());
        string id = grant.Stdout.Split(' ')[1];
        Assert.True((await Etcdctl.RunAsync(follower.ClientUrl, "put", "leased", "v", "--lease", id)).Ok);

        EtcdctlResult keepAlive = await Etcdctl.RunAsync(follower.ClientUrl, "lease", "keep-alive", "--once", id);
        Assert.True(keepAlive.Ok, keepAlive.ToString());
        Assert.Equal($"lease {id} keepalived with TTL(60)", keepAlive.Stdout.Trim());

        EtcdctlResult ttl = await Etcdctl.RunAsync(follower.ClientUrl, "lease", "timetolive", id, "--keys");
        Assert.True(ttl.Ok, ttl.ToString());
        Assert.Matches($"lease {id} granted with TTL\\(60s\\), remaining\\((5\\d|60)s\\), attached keys\\(\\[leased\\]\\)", ttl.Stdout.Trim());

        Assert.True((await Etcdctl.RunAsync(follower.ClientUrl, "lease", "revoke", id)).Ok);
        await WaitForValueAsync(leader, "leased", null);
    }

    [Fact]
    public async Task Metrics_ReportLeaderProposalsDiskAndPeers()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, _) = await cluster.LeaderAsync();
        ClusterMember follower = cluster.Members.First(m => m != leader);
        Assert.True((await Etcdctl.RunAsync(follower.ClientUrl, "put", "m", "1")).Ok);

        using var http = new HttpClient();
        var watch = Stopwatch.StartNew();
        string metrics;
        do
        {
            // The round trip time is probed every 2 s.
            metrics = await http.GetStringAsync(new Uri(follower.ClientUrl + "/metrics"));
            if (metrics.Contains("etcd_network_peer_round_trip_time_seconds_bucket", StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(200);
        }
        while (watch.Elapsed < s_deadline);

        Assert.Contains("etcd_server_has_leader 1", metrics, StringComparison.Ordinal);
        Assert.Contains("etcd_server_is_leader 0", metrics, StringComparison.Ordinal);
        Assert.Matches("etcd_server_leader_changes_seen_total [1-9]", metrics);
        Assert.Matches("etcd_server_proposals_committed_total [1-9]", metrics);
        Assert.Matches("etcd_server_proposals_applied_total [1-9]", metrics);
        Assert.Contains("etcd_server_proposals_pending ", metrics, StringComparison.Ordinal);
        Assert.Contains("etcd_server_proposals_failed_total ", metrics, StringComparison.Ordinal);
        Assert.Matches("etcd_disk_wal_fsync_duration_seconds_count [1-9]", metrics);
        Assert.Matches("etcd_disk_backend_commit_duration_seconds_count [1-9]", metrics);
        Assert.Contains("etcd_network_peer_round_trip_time_seconds_bucket{To=\"", metrics, StringComparison.Ordinal);
        Assert.Matches("etcd_network_peer_sent_bytes_total\\{To=\"[0-9a-f]+\"\\} [1-9]", metrics);
        Assert.Matches("etcd_network_peer_received_bytes_total\\{From=\"[0-9a-f]+\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task QuorumLost_RequestsFailWithEtcdsErrors_NotSilentHangs()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd);
        (ClusterMember leader, _) = await cluster.LeaderAsync();
        foreach (ClusterMember m in cluster.Members.Where(m => m != leader).ToList())
        {
            await m.KillAsync();
        }

        // etcdctl's own deadline is 10 s: an answer before it is the server's (request timeout 7 s).
        string[] serverErrors = ["etcdserver: request timed out", "etcdserver: request timed out, possibly due to previous leader failure", "etcdserver: no leader", "etcdserver: leader changed"];
        var watch = Stopwatch.StartNew();
        EtcdctlResult put = await Etcdctl.RunAsync(leader.ClientUrl, "put", "lost", "quorum");
        Assert.False(put.Ok);
        Assert.Contains(put.Error, serverErrors);
        // A read is safe to retry: etcdctl retries the server's Unavailable answers until its own
        // deadline, logging each one; what the server said is in those lines.
        EtcdctlResult get = await Etcdctl.RunAsync(leader.ClientUrl, "get", "lost");
        Assert.False(get.Ok);
        Assert.Contains(serverErrors, e => get.Stderr.Contains($"desc = {e}\"", StringComparison.Ordinal));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");

        // Serializable reads are still served locally.
        Assert.True((await Etcdctl.RunAsync(leader.ClientUrl, "get", "lost", "--consistency=s")).Ok);
    }

    [Fact]
    public async Task JoinExisting_NobodyAnswers_ExitsWithEtcdsError()
    {
        using var dir = Platform.Testing.TestDirectory.Create("etcd-join");
        int[] ports = Platform.Testing.FreePorts.Next(3);
        var member = new ClusterMember(Binaries.OurEtcd, "x", ports[0], ports[1], dir.Combine("x"));
        await member.StartAsync($"x={member.PeerUrl},y=http://127.0.0.1:{ports[2]}", "existing", "t", [], waitReady: false);
        await member.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains("cannot fetch cluster info from peer urls", member.Log, StringComparison.Ordinal);
        await member.KillAsync();
    }

    /// <summary>Polls a serializable (local) read until <paramref name="key"/> has <paramref name="value"/> (null: is absent).</summary>
    internal static async Task WaitForValueAsync(ClusterMember member, string key, string? value)
    {
        var watch = Stopwatch.StartNew();
        EtcdctlResult last;
        do
        {
            last = await Etcdctl.RunAsync(member.ClientUrl, "get", key, "--consistency=s", "--print-value-only");
            string got = last.Stdout.Trim();
            if (last.Ok && (value is null ? got.Length == 0 : got == value))
            {
                return;
            }

            await Task.Delay(100);
        }
        while (watch.Elapsed < s_deadline);

        Assert.Fail($"{member.Name} never had {key}={value}: {last}\n{member.Log}");
    }
}
