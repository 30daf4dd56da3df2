using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Platform.Etcd.Cluster.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Cluster.IntegrationTests;

/// <summary>
/// Runtime reconfiguration with the real <c>etcdctl member ...</c>: one scenario run against our
/// cluster and against a real etcd 3.4 cluster; the transcripts (ids replaced by names) must match.
/// </summary>
public sealed partial class MembershipTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MemberCommands_SameTranscriptAsRealEtcd()
    {
        List<string> ours = await RunScenarioAsync(Binaries.OurEtcd);
        List<string> real = await RunScenarioAsync(Binaries.RealEtcd);
        Assert.True(real.SequenceEqual(ours), $"ours:\n{string.Join('\n', ours)}\n\nreal etcd 3.4:\n{string.Join('\n', real)}");
    }

    [Fact]
    public async Task MemberIdsAndClusterId_SameAsRealEtcdForTheSameFlags()
    {
        using var dir = TestDirectory.Create("etcd-ids");
        int[] ports = FreePorts.Next(6);
        string initialCluster = string.Join(',', Enumerable.Range(0, 3).Select(i => $"n{i}=http://127.0.0.1:{ports[(2 * i) + 1]}"));
        var ids = new List<string>();
        foreach (string executable in new[] { Binaries.OurEtcd, Binaries.RealEtcd })
        {
            var members = Enumerable.Range(0, 3)
                .Select(i => new ClusterMember(executable, $"n{i}", ports[2 * i], ports[(2 * i) + 1], dir.Combine(Path.GetFileName(executable) + ids.Count + $"n{i}")))
                .ToList();
            try
            {
                await Task.WhenAll(members.Select(m => m.StartAsync(initialCluster, "new", "id-token", [])));
                EtcdctlResult list = await Etcdctl.RunAsync(members[0].ClientUrl, "member", "list", "-w", "json");
                Assert.True(list.Ok, list.ToString());
                using System.Text.Json.JsonDocument doc = list.Json();
                ulong cluster = doc.RootElement.GetProperty("header").GetProperty("cluster_id").GetUInt64();
                ids.Add($"cluster {cluster:x}: " + string.Join(", ", doc.RootElement.GetProperty("members").EnumerateArray()
                    .Select(m => $"{m.GetProperty("ID").GetUInt64():x}={m.GetProperty("peerURLs")[0].GetString()}").Order()));
            }
            finally
            {
                foreach (ClusterMember m in members)
                {
                    await m.KillAsync();
                }
            }
        }

        Assert.Equal(ids[1], ids[0]);
    }

    [Fact]
    public async Task RemoveVoter_WhileAnotherIsDown_UnhealthyCluster()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(Binaries.OurEtcd, 3, "unhealthy");
        (ClusterMember leader, _) = await cluster.LeaderAsync();
        ClusterMember down = cluster.Members.First(m => m != leader);
        ClusterMember other = cluster.Members.First(m => m != leader && m != down);
        ulong downId = (await TestCluster.StatusAsync(down)).MemberId;
        ulong otherId = (await TestCluster.StatusAsync(other)).MemberId;
        await down.KillAsync();

        // The leader's stream to the killed member breaks at its next heartbeat.
        var watch = Stopwatch.StartNew();
        while (!leader.Log.Contains($"lost the stream to peer {downId:x}", StringComparison.Ordinal))
        {
            Assert.True(watch.Elapsed < s_deadline, leader.Log);
            await Task.Delay(50);
        }

        EtcdctlResult remove = await Etcdctl.RunAsync(leader.ClientUrl, "member", "remove", otherId.ToString("x", CultureInfo.InvariantCulture));
        Assert.False(remove.Ok);
        Assert.Equal("etcdserver: unhealthy cluster", remove.Error);

        // The member that is down may go: it is not part of the active quorum.
        EtcdctlResult removeDown = await Etcdctl.RunAsync(leader.ClientUrl, "member", "remove", downId.ToString("x", CultureInfo.InvariantCulture));
        Assert.True(removeDown.Ok, removeDown.ToString());
        EtcdctlResult list = await Etcdctl.RunAsync(leader.ClientUrl, "member", "list");
        Assert.Equal(2, list.Stdout.Trim().Split('\n').Length);
        Assert.True((await Etcdctl.RunAsync(other.ClientUrl, "put", "two-members", "ok")).Ok);
    }

    private static async Task<List<string>> RunScenarioAsync(string executable)
    {
        var transcript = new List<string>();
        await using TestCluster cluster = await TestCluster.StartAsync(executable, 3, "membership");
        await cluster.LeaderAsync();
        string ep = cluster.Members[0].ClientUrl;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (ClusterMember m in cluster.Members)
        {
            names[(await TestCluster.StatusAsync(m)).MemberId.ToString("x", CultureInfo.InvariantCulture)] = m.Name;
        }

        names[(await TestCluster.StatusAsync(cluster.Members[0])).ClusterId.ToString("x", CultureInfo.InvariantCulture)] = "<cluster>";
        // etcdctl prints ids with %16x: a 15-digit id gets a leading space. Ids are random, so spaces are collapsed.
        string Normalize(string text) => Spaces().Replace(PortNumber().Replace(HexId().Replace(text, m => names.TryGetValue(m.Value, out string? n) ? n : "<new>"), ":<port>"), " ");
        async Task<EtcdctlResult> Step(params string[] args)
        {
            EtcdctlResult r = await Etcdctl.RunAsync(ep, args);
            transcript.Add($"$ member {string.Join(' ', args.Skip(1).Select(Normalize))}\n{(r.Ok ? Normalize(r.Stdout.Trim()) : "Error: " + Normalize(r.Error))}");
            return r;
        }

        string m2 = names.First(n => n.Value == "m2").Key;

        // etcd refuses membership changes until every voter has been connected for 5 s (its
        // HealthInterval): "unhealthy cluster". A refused add changes nothing, so ask until it passes.
        var connected = Stopwatch.StartNew();
        EtcdctlResult dup;
        while ((dup = await Etcdctl.RunAsync(ep, "member", "add", "dup", $"--peer-urls={cluster.Members[0].PeerUrl}")).Error == "etcdserver: unhealthy cluster")
        {
            Assert.True(connected.Elapsed < s_deadline, dup.ToString());
            await Task.Delay(200);
        }

        await Step("member", "add", "dup", $"--peer-urls={cluster.Members[0].PeerUrl}");
        await Step("member", "promote", m2);
        await Step("member", "remove", "1234");
        await Step("member", "update", "1234", "--peer-urls=http://127.0.0.1:1");

        ClusterMember m4 = cluster.NewMember("m4");
        EtcdctlResult added = await Etcdctl.RunAsync(ep, "member", "add", "m4", $"--peer-urls={m4.PeerUrl}", "--learner");
        Assert.True(added.Ok, added.ToString());
        string m4Id = Regex.Match(added.Stdout, "Member +([0-9a-f]+) added").Groups[1].Value;
        names[m4Id] = "m4";
        transcript.Add("$ member add m4 --learner\n" + Normalize(string.Join('\n', added.Stdout.Trim().Split('\n').Where(l => !l.StartsWith("ETCD_INITIAL_CLUSTER=", StringComparison.Ordinal)))));
        Assert.Contains($"ETCD_INITIAL_CLUSTER=\"", added.Stdout, StringComparison.Ordinal);

        await Step("member", "add", "m5", "--peer-urls=http://127.0.0.1:2", "--learner");
        transcript.Add("list: " + await ListAsync(ep, Normalize));

        await m4.StartAsync(cluster.InitialCluster + $",m4={m4.PeerUrl}", "existing", cluster.Token, []);

        // A learner is promoted once it is in sync; until then etcd refuses with a clear error.
        var watch = Stopwatch.StartNew();
        EtcdctlResult promote;
        while (true)
        {
            promote = await Etcdctl.RunAsync(ep, "member", "promote", m4Id);
            if (promote.Ok || watch.Elapsed > s_deadline)
            {
                break;
            }

            Assert.Equal("etcdserver: can only promote a learner member which is in sync with leader", promote.Error);
            await Task.Delay(100);
        }

        transcript.Add("$ member promote m4\n" + (promote.Ok ? Normalize(promote.Stdout.Trim()) : promote.Error));
        await Step("member", "promote", m4Id);
        await WaitAsync(async () => (await ListAsync(ep, Normalize)).Contains("started, m4,", StringComparison.Ordinal));
        transcript.Add("list: " + await ListAsync(ep, Normalize));

        EtcdctlResult put = await Etcdctl.RunAsync(m4.ClientUrl, "put", "via-m4", "yes");
        transcript.Add($"put via m4: {put.Ok}");

        await Step("member", "update", m4Id, $"--peer-urls={m4.PeerUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal)}");
        transcript.Add("list: " + await ListAsync(ep, Normalize).ConfigureAwait(false));
        await Step("member", "remove", m4Id);
        await m4.Exited.WaitAsync(s_deadline);
        transcript.Add("m4 exited");
        await m4.KillAsync();
        await Step("member", "remove", m4Id);
        transcript.Add("list: " + await ListAsync(ep, Normalize));
        return transcript;
    }

    private static async Task<string> ListAsync(string ep, Func<string, string> normalize)
    {
        EtcdctlResult list = await Etcdctl.RunAsync(ep, "member", "list");
        Assert.True(list.Ok, list.ToString());

        // Ports differ between the two runs: the names and states are what must agree.
        return string.Join(" | ", list.Stdout.Trim().Split('\n')
            .Select(normalize)
            .Order(StringComparer.Ordinal));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < s_deadline, "condition not met in time");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex("\\b[0-9a-f]{12,16}\\b")]
    private static partial Regex HexId();

    [GeneratedRegex(" {2,}")]
    private static partial Regex Spaces();

    [GeneratedRegex(":[0-9]{2,5}\\b")]
    private static partial Regex PortNumber();
}
