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

    /// <summary>
    /// Failpoint (a <c>Failpoints</c> build of ours): the leader's WAL <c>fdatasync</c> fails with
    /// EIO; the member must stop (etcd panics), then restart on its data with nothing acknowledged lost.
    /// </summary>
    WalFsyncError,

    /// <summary>Failpoint: a member dies after writing part of a WAL frame (no fsync); on restart the torn tail must be cut and the member rejoin.</summary>
    WalTornWrite,

    /// <summary>Failpoint: the leader dies right after its WAL save, before applying it or sending its responses (its appends went out before the save, as etcd's; etcd's raftAfterSave).</summary>
    CrashAfterWalSave,

    /// <summary>Failpoint: a member dies between writing a snapshot's <c>.snap</c> file and its WAL marker (etcd's raftAfterSaveSnap).</summary>
    CrashDuringSnapshotSave,
}

/// <summary>Which fault kinds a binary can take.</summary>
public static class FaultKinds
{
    /// <summary>Faults any etcd binary takes (processes and network); a seed picks <c>Default[seed % 7]</c>.</summary>
    public static IReadOnlyList<FaultKind> Default { get; } =
        [FaultKind.KillMember, FaultKind.KillLeader, FaultKind.IsolateLeader, FaultKind.IsolateFollower, FaultKind.DelayPeers, FaultKind.DropPeers, FaultKind.MemberReplace];

    /// <summary>Faults injected through failpoints: only our etcd built with <c>-c Failpoints</c> has them.</summary>
    public static IReadOnlyList<FaultKind> Failpoint { get; } =
        [FaultKind.WalFsyncError, FaultKind.WalTornWrite, FaultKind.CrashAfterWalSave, FaultKind.CrashDuringSnapshotSave];

    public static bool IsFailpoint(this FaultKind fault) => Failpoint.Contains(fault);
}

/// <summary>Injects one fault into a cluster and heals it afterwards.</summary>
internal static class Faults
{
    public static async Task InjectAsync(FaultKind fault, EtcdCluster cluster, Random random, TimeSpan duration, Action<string> log, Action<string> problem)
    {
        int count = cluster.Members.Count;
        switch (fault)
        {
            case FaultKind.WalFsyncError:
            case FaultKind.WalTornWrite:
            case FaultKind.CrashAfterWalSave:
            case FaultKind.CrashDuringSnapshotSave:
                await FailpointAsync(fault, cluster, random, duration, log, problem);
                break;

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

    /// <summary>
    /// Arms one failpoint in one member (its failpoint file), waits for the member to die of it,
    /// then restarts it on its data; checks the member said the failpoint fired and, for a torn
    /// write, that the restart cut the torn tail.
    /// </summary>
    private static async Task FailpointAsync(FaultKind fault, EtcdCluster cluster, Random random, TimeSpan duration, Action<string> log, Action<string> problem)
    {
        ClusterMember leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(15));
        ClusterMember victim = fault is FaultKind.WalFsyncError or FaultKind.CrashAfterWalSave
            ? leader
            : cluster.Current.ElementAt(random.Next(cluster.Current.Count()));

        // A few evaluations in, so the fault lands in the middle of the traffic, not on its first write.
        (string point, string spec) = fault switch
        {
            FaultKind.WalFsyncError => ("wal-fsync", $"wal-fsync=eio@{2 + random.Next(8)}"),
            FaultKind.WalTornWrite => ("wal-write", $"wal-write=torn@{2 + random.Next(8)}"),
            FaultKind.CrashAfterWalSave => ("raft-after-save", $"raft-after-save=kill@{2 + random.Next(8)}"),
            _ => ("raft-after-save-snap", "raft-after-save-snap=kill"),
        };
        int firedBefore = victim.LinesContaining($"failpoint {point} fired");
        int repairedBefore = victim.LinesContaining("repaired torn tail");
        log($"arm {spec} in {victim.Name} (leader {leader.Name})");
        victim.ArmFailpoints(spec);
        int? exitCode = await victim.WaitForExitAsync(TimeSpan.FromSeconds(30));
        victim.DisarmFailpoints();
        if (exitCode is null)
        {
            problem($"harness: failpoint {spec} in {victim.Name} did not stop it within 30 s (is {cluster.Executable} a Failpoints build?)");
            await victim.KillAsync();
        }
        else
        {
            log($"{victim.Name} exited with {exitCode}");
            if (victim.LinesContaining($"failpoint {point} fired") == firedBefore)
            {
                problem($"{victim.Name} exited ({exitCode}) without reporting that failpoint {point} fired");
            }

            if (fault == FaultKind.WalFsyncError && exitCode == 0)
            {
                problem($"{victim.Name} exited with 0 after its WAL fsync failed (must fail, as etcd panics)");
            }
        }

        await Task.Delay(duration);
        log($"restart {victim.Name}");
        await cluster.RestartAsync(victim);
        if (fault == FaultKind.WalTornWrite && victim.LinesContaining("repaired torn tail") == repairedBefore)
        {
            problem($"{victim.Name} restarted after a torn WAL write without repairing a torn tail");
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
