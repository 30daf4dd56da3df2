using System.Diagnostics;
using System.Text.Json;
using Platform.Testing;

namespace Platform.Etcd.Cluster.IntegrationTests.Infrastructure;

/// <summary>Status of one member as <c>etcdctl endpoint status -w json</c> reports it.</summary>
internal sealed record MemberStatus(string Endpoint, ulong ClusterId, ulong MemberId, ulong Leader, ulong RaftTerm, ulong RaftIndex, long Revision, bool IsLearner);

/// <summary>
/// A cluster of etcd processes (ours or the real 3.4) on claimed loopback ports, each in its own
/// directory; bootstrapped with a static --initial-cluster; every process is killed on dispose.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly TestDirectory _directory;
    private readonly List<ClusterMember> _all = [];

    private TestCluster(string executable, string token, IReadOnlyList<string> extra)
    {
        Executable = executable;
        Token = token;
        Extra = extra;
        _directory = TestDirectory.Create("etcd-cluster");
    }

    public string Executable { get; }

    public string Token { get; }

    public IReadOnlyList<string> Extra { get; }

    /// <summary>The bootstrap members (and any added with <see cref="NewMember"/>).</summary>
    public IReadOnlyList<ClusterMember> Members => _all;

    public string InitialCluster { get; private set; } = string.Empty;

    public IEnumerable<string> ClientUrls => _all.Where(m => m.IsRunning).Select(m => m.ClientUrl);

    public static async Task<TestCluster> StartAsync(string executable, int size = 3, string token = "cluster-tests", params string[] extra)
    {
        var cluster = new TestCluster(executable, token, extra);
        try
        {
            for (int i = 0; i < size; i++)
            {
                cluster.NewMember($"m{i + 1}");
            }

            cluster.InitialCluster = string.Join(',', cluster._all.Select(m => $"{m.Name}={m.PeerUrl}"));
            await Task.WhenAll(cluster._all.Select(m => m.StartAsync(cluster.InitialCluster, "new", token, extra)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A member on fresh ports and directory, not started (for member add).</summary>
    public ClusterMember NewMember(string name)
    {
        int[] ports = FreePorts.Next(2);
        var member = new ClusterMember(Executable, name, ports[0], ports[1], _directory.Combine(name));
        _all.Add(member);
        return member;
    }

    public Task RestartAsync(ClusterMember member) => member.StartAsync(InitialCluster, "new", Token, Extra);

    public static async Task<MemberStatus> StatusAsync(ClusterMember member)
    {
        EtcdctlResult r = await Etcdctl.RunAsync(member.ClientUrl, "endpoint", "status", "-w", "json");
        if (!r.Ok)
        {
            throw new InvalidOperationException($"endpoint status of {member.Name} failed: {r}");
        }

        using JsonDocument doc = r.Json();
        JsonElement e = doc.RootElement[0];
        JsonElement s = e.GetProperty("Status");
        JsonElement h = s.GetProperty("header");
        // etcdctl's JSON leaves out zero values (Go's omitempty).
        return new MemberStatus(
            e.GetProperty("Endpoint").GetString()!,
            U64(h, "cluster_id"),
            U64(h, "member_id"),
            U64(s, "leader"),
            U64(s, "raftTerm"),
            U64(s, "raftIndex"),
            (long)U64(h, "revision"),
            s.TryGetProperty("isLearner", out JsonElement l) && l.GetBoolean());
    }

    private static ulong U64(JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v) ? v.GetUInt64() : 0;

    /// <summary>Waits until every running member reports the same leader; returns the leader's member.</summary>
    public async Task<(ClusterMember Leader, ulong LeaderId)> LeaderAsync(TimeSpan? deadline = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                MemberStatus[] statuses = await Task.WhenAll(_all.Where(m => m.IsRunning).Select(StatusAsync));
                ulong leader = statuses[0].Leader;
                if (leader != 0 && statuses.All(s => s.Leader == leader))
                {
                    int index = Array.FindIndex(statuses, s => s.MemberId == leader);
                    if (index >= 0)
                    {
                        return (_all.Where(m => m.IsRunning).ElementAt(index), leader);
                    }
                }
            }
            catch (InvalidOperationException) when (watch.Elapsed < (deadline ?? TimeSpan.FromSeconds(30)))
            {
                // A member is between terms.
            }

            if (watch.Elapsed > (deadline ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("the members did not agree on a leader:\n" + string.Join("\n---\n", _all.Select(m => m.Name + ":\n" + m.Log)));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the running members report the same revision, then returns their HashKV at it (one per member).</summary>
    public async Task<IReadOnlyList<uint>> HashKvAsync()
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            MemberStatus[] statuses = await Task.WhenAll(_all.Where(m => m.IsRunning).Select(StatusAsync));
            if (statuses.Select(s => s.Revision).Distinct().Count() == 1)
            {
                long revision = statuses[0].Revision;
                var hashes = new List<uint>();
                foreach (ClusterMember m in _all.Where(m => m.IsRunning))
                {
                    EtcdctlResult r = await Etcdctl.RunAsync(m.ClientUrl, "endpoint", "hashkv", "--rev", revision.ToString(System.Globalization.CultureInfo.InvariantCulture), "-w", "json");
                    using JsonDocument doc = r.Json();
                    hashes.Add(doc.RootElement[0].GetProperty("HashKV").TryGetProperty("hash", out JsonElement hash) ? hash.GetUInt32() : 0);
                }

                return hashes;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"revisions never converged: {string.Join(", ", statuses.Select(s => s.Revision))}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (ClusterMember m in _all)
            {
                await m.KillAsync();
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
