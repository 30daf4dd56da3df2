using System.Diagnostics;
using Platform.Etcd.Client;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>The faults a run can inject (one per run, chosen from the seed unless given).</summary>
public enum FaultKind
{
    /// <summary>SIGKILL a random member, restart it on its data after the fault duration.</summary>
    KillMember,

    /// <summary>SIGKILL the leader, restart it after the fault duration.</summary>
    KillLeader,

    /// <summary>Blackhole every peer link of the leader (it keeps running; a new leader must be elected) for the fault duration.</summary>
    IsolateLeader,

    /// <summary>Blackhole every peer link of one follower: a 1/2 split.</summary>
    IsolateFollower,

    /// <summary>Delay every peer chunk by a seeded 20–150 ms.</summary>
    DelayPeers,

    /// <summary>Reset peer connections at random (5% per chunk): in-flight messages are lost.</summary>
    DropPeers,

    /// <summary>Remove a member through the Cluster API under load, then add a fresh one (new data, new ports) and start it.</summary>
    MemberReplace,
}

/// <summary>Injects one fault into a cluster and heals it afterwards.</summary>
internal static class Faults
{
    public static async Task InjectAsync(FaultKind fault, EtcdCluster cluster, Random random, TimeSpan duration, Action<string> log)
    {
        int count = cluster.Members.Count;
        switch (fault)
        {
            case FaultKind.KillMember:
            case FaultKind.KillLeader:
                {
                    ClusterMember victim = fault == FaultKind.KillLeader
                        ? await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(15))
                        : cluster.Current.ElementAt(random.Next(cluster.Current.Count()));
                    log($"SIGKILL {victim.Name} (pid {victim.Pid})");
                    await victim.KillAsync();
                    await Task.Delay(duration);
                    log($"restart {victim.Name}");
                    await cluster.RestartAsync(victim);
                    break;
                }

            case FaultKind.IsolateLeader:
            case FaultKind.IsolateFollower:
                {
                    ClusterMember leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(15));
                    ClusterMember victim = leader;
                    if (fault == FaultKind.IsolateFollower)
                    {
                        ClusterMember[] followers = [.. cluster.Current.Where(m => m != leader)];
                        victim = followers[random.Next(followers.Length)];
                    }

                    log($"isolate {victim.Name} (leader {leader.Name})");
                    cluster.Network.Isolate(victim.Index, count);
                    await Task.Delay(duration);
                    ClusterMember? majorityLeader = await cluster.LeaderAsync(exclude: victim);
                    log($"leader of the majority before healing: {majorityLeader?.Name ?? "none"}");
                    log("heal");
                    cluster.Network.Heal();
                    break;
                }

            case FaultKind.DelayPeers:
                {
                    var delay = TimeSpan.FromMilliseconds(20 + random.Next(130));
                    log($"delay every peer link by {delay.TotalMilliseconds} ms");
                    cluster.Network.SetAll(count, new LinkPolicy(LinkMode.Delay, delay));
                    await Task.Delay(duration);
                    log("heal");
                    cluster.Network.Heal();
                    break;
                }

            case FaultKind.DropPeers:
                log("reset peer connections at random (5% per chunk)");
                cluster.Network.SetAll(count, new LinkPolicy(LinkMode.Drop, DropProbability: 0.05));
                await Task.Delay(duration);
                log("heal");
                cluster.Network.Heal();
                break;

            case FaultKind.MemberReplace:
                await ReplaceAsync(cluster, log);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }

    /// <summary>Removes the last current member (never one the watchers use) and adds a fresh one.</summary>
    private static async Task ReplaceAsync(EtcdCluster cluster, Action<string> log)
    {
        await cluster.IdentifyAsync();
        ClusterMember victim = cluster.Current.Last();
        ClusterMember survivor = cluster.Current.First();
        await using IEtcdClient client = EtcdCluster.ClientFor(survivor, TimeSpan.FromSeconds(5));
        log($"member remove {victim.Name} ({victim.MemberId:x})");
        await RetryAsync(() => client.Cluster.MemberRemoveAsync(victim.MemberId));
        victim.Removed = true;
        await victim.KillAsync();
        ClusterMember fresh = cluster.AddMemberSlot();
        log($"member add {fresh.Name} at {fresh.AdvertisedPeerUrl}");
        await RetryAsync(() => client.Cluster.MemberAddAsync([fresh.AdvertisedPeerUrl]));
        await cluster.JoinAsync(fresh);
        log($"{fresh.Name} joined");
    }

    /// <summary>etcd refuses reconfiguration while it thinks too few members are started; retry that for a while.</summary>
    private static async Task RetryAsync<T>(Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (EtcdClientException) when (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(200);
            }
        }
    }
}
