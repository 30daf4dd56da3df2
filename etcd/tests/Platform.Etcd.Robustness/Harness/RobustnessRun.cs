using System.Diagnostics;
using System.Globalization;
using System.Text;
using Platform.Etcd.Client;
using Platform.Etcd.Robustness.Linearizability;
using Platform.Etcd.Robustness.Validation;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>One robustness run: which binary, which seed, how long.</summary>
public sealed record RobustnessOptions
{
    /// <summary>The etcd binary (etcd 3.4's flags): <c>/usr/bin/etcd</c> or ours.</summary>
    public required string Executable { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>The fault; null picks <c>FaultKinds.Default[seed % 7]</c> (failpoint kinds only when named: they need a Failpoints build).</summary>
    public FaultKind? Fault { get; init; }

    public TimeSpan FaultDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Answered operations before the fault is injected.</summary>
    public int OperationsBeforeFault { get; init; } = 150;

    /// <summary>Answered operations after the fault healed, before the workload stops.</summary>
    public int OperationsAfterFault { get; init; } = 150;

    public int Clients { get; init; } = 6;

    public int SnapshotCount { get; init; } = 300;

    /// <summary>More flags for every member.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>Passed to the checker (<see cref="CheckOptions.IgnoreLeaseHeaderRevisions"/>): soak only, to look past bug 1.</summary>
    public bool IgnoreLeaseHeaderRevisions { get; init; }

    /// <summary>Whether the workload uses leases (grant, put with lease, revoke).</summary>
    public bool Leases { get; init; } = true;

    /// <summary>Budget of the linearizability search.</summary>
    public long MaxCheckerSteps { get; init; } = 20_000_000;

    /// <summary>Progress lines (null: none).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>The outcome of a run: counts, the checker's verdict and every problem found.</summary>
public sealed record RobustnessReport(
    int Seed,
    FaultKind Fault,
    string Executable,
    int Operations,
    int Unknown,
    long FinalRevision,
    TimeSpan Duration,
    CheckResult? Linearizability,
    IReadOnlyList<string> Problems,
    string Transcript,
    IReadOnlyList<Operation> History)
{
    public bool Passed => Problems.Count == 0 && Linearizability is { IsLinearizable: true };

    public string Summary =>
        string.Create(CultureInfo.InvariantCulture, $"seed {Seed} {Fault} on {Executable}: {(Passed ? "PASS" : "FAIL")}, {Operations} ops ({Unknown} unknown), final revision {FinalRevision}, {Duration.TotalSeconds:0.0} s, checker {Linearizability?.Outcome.ToString() ?? "not run"} in {Linearizability?.Steps ?? 0} steps");

    /// <summary>Every operation, one line each in call order (times in milliseconds).</summary>
    public string DumpHistory() =>
        string.Join('\n', History.OrderBy(o => o.CallTime).Select(o => o.Describe(Recorder.TicksPerMillisecond)));

    /// <summary>Summary, problems (first 30) and transcript: what a failing test prints.</summary>
    public string Details()
    {
        var text = new StringBuilder(Summary);
        foreach (string problem in Problems.Take(30))
        {
            text.Append("\n- ").Append(problem);
        }

        if (Problems.Count > 30)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n- ... and {Problems.Count - 30} more");
        }

        if (Linearizability is { IsLinearizable: false } verdict)
        {
            text.Append("\nlinearizability: ").Append(verdict.Explanation);
        }

        return text.Append("\ntranscript:\n").Append(Transcript).ToString();
    }
}

/// <summary>
/// A run: a 3-member cluster behind peer proxies; prefix watches from revision 1 on two members;
/// the seeded workload; after <see cref="RobustnessOptions.OperationsBeforeFault"/> answers the
/// fault, then healing, a watch from a known revision, and <see cref="RobustnessOptions.OperationsAfterFault"/>
/// more answers; then every member must serve again, a final put and a linearizable read through
/// every member join the history, every member must reach the final revision with the same HashKV
/// and deliver the whole history as watch events; then the history, watches and linearizability
/// are checked. Problems are collected, never thrown: the report says what failed.
/// </summary>
public static class RobustnessRun
{
    private const int FinalClient = 1000;

    public static async Task<RobustnessReport> RunAsync(RobustnessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        FaultKind fault = options.Fault ?? FaultKinds.Default[options.Seed % FaultKinds.Default.Count];
        var clock = Stopwatch.StartNew();
        var transcript = new StringBuilder();
        var problems = new List<string>();
        void Log(string line)
        {
            string stamped = string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,7:0.000} {line}");
            lock (transcript)
            {
                transcript.AppendLine(stamped);
            }

            options.Log?.Invoke(stamped);
        }

        var random = new Random(options.Seed);
        var recorder = new Recorder();
        long finalRevision = 0;
        IReadOnlyList<WatchEventRecord>? completeWatch = null;
        var watches = new List<(WatchCollector Watch, bool FromStart)>();
        await using var cluster = new EtcdCluster(new ClusterOptions(options.Executable, $"robustness-{options.Seed}", options.Seed)
        {
            // A snapshot must come soon after the failpoint is armed.
            SnapshotCount = fault == FaultKind.CrashDuringSnapshotSave ? Math.Min(options.SnapshotCount, 100) : options.SnapshotCount,
            ExtraArguments = options.ExtraArguments,
            Failpoints = fault.IsFailpoint(),
        });
        try
        {
            Log($"seed {options.Seed}, fault {fault}, binary {options.Executable}");
            await cluster.StartAsync(3);
            ClusterMember leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(15));
            Log($"cluster up: {string.Join(", ", cluster.Members.Select(m => $"{m.Name} {m.MemberId:x} client {m.ClientPort} peer {m.PeerPort} proxy {m.ProxyPort}"))}; leader {leader.Name}");
            watches.Add((new WatchCollector("m0@1", EtcdCluster.ClientFor(cluster.Members[0]), Workload.Prefix, 1), true));
            watches.Add((new WatchCollector("m1@1", EtcdCluster.ClientFor(cluster.Members[1]), Workload.Prefix, 1), true));

            var workload = new Workload(options.Seed, [.. cluster.Members.Select(m => m.ClientUrl)], recorder, new WorkloadOptions { Clients = options.Clients, Leases = options.Leases });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task running = workload.RunAsync(stop.Token);
            try
            {
                if (!await WaitForAnswersAsync(recorder, options.OperationsBeforeFault, TimeSpan.FromSeconds(60)))
                {
                    problems.Add($"only {recorder.Answered} operations answered within 60 s before the fault");
                }

                Log($"{recorder.Answered} answered; injecting {fault}");
                await Faults.InjectAsync(fault, cluster, random, options.FaultDuration, Log, problems.Add);
                Log(cluster.Network.Statistics);
                if ((fault is FaultKind.IsolateLeader or FaultKind.IsolateFollower or FaultKind.DelayPeers or FaultKind.DropPeers) && cluster.Network.IdentifiedConnections == 0)
                {
                    problems.Add($"harness: the {fault} fault had no effect: no peer connection was recognised as coming from a member");
                }
                long known = recorder.Snapshot().Where(o => o.Response is not null).Select(o => o.Response!.Revision).DefaultIfEmpty(1).Max();
                watches.Add((new WatchCollector($"m0@{known}", EtcdCluster.ClientFor(cluster.Members[0]), Workload.Prefix, known), false));
                int target = recorder.Answered + options.OperationsAfterFault;
                if (!await WaitForAnswersAsync(recorder, target, TimeSpan.FromSeconds(60)))
                {
                    problems.Add($"no recovery: only {recorder.Answered} of {target} operations answered within 60 s after the fault healed");
                }

                Log($"{recorder.Answered} answered; stopping the workload");
            }
            finally
            {
                await stop.CancelAsync();
                await running;
            }

            (finalRevision, completeWatch) = await FinalChecksAsync(cluster, recorder, watches, problems, Log);
        }
        catch (Exception e)
        {
            // Any failure of the run itself (a member that never starts, a stuck reconfiguration)
            // is a reported problem with the transcript, not a crash.
            problems.Add($"harness: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            foreach ((WatchCollector watch, _) in watches)
            {
                await watch.DisposeAsync();
            }
        }

        Log($"member log lines mentioning snapshots: {string.Join(", ", cluster.Members.Select(m => $"{m.Name} {m.SnapshotLogLines}"))}");
        IReadOnlyList<Operation> history = recorder.Snapshot();
        foreach (string problem in HistoryValidator.Validate(history))
        {
            problems.Add(problem);
        }

        IReadOnlyList<Operation> checkedHistory = history;
        if (completeWatch is not null)
        {
            checkedHistory = HistoryPatcher.Patch(history, completeWatch);
            Log($"unknown outcomes settled by the watch: {checkedHistory.Count(o => o.AppliedRevision != 0)} applied, {history.Count - checkedHistory.Count} dropped, {checkedHistory.Count(o => o.IsUnknown && o.AppliedRevision == 0)} still unknown");
        }

        CheckResult verdict = LinearizabilityChecker.Check(checkedHistory, new CheckOptions { MaxSteps = options.MaxCheckerSteps, TicksPerMillisecond = Recorder.TicksPerMillisecond, IgnoreLeaseHeaderRevisions = options.IgnoreLeaseHeaderRevisions });
        Log(verdict.IsLinearizable ? verdict.Explanation : $"checker: {verdict.Outcome}");
        if (problems.Count > 0 || !verdict.IsLinearizable)
        {
            Log("member logs:\n" + cluster.Logs());
        }

        return new RobustnessReport(options.Seed, fault, options.Executable, history.Count, history.Count(o => o.IsUnknown), finalRevision, clock.Elapsed, verdict, problems, transcript.ToString(), history);
    }

    /// <returns>The final revision, and a validated watch history of every revision up to it (null if none).</returns>
    private static async Task<(long FinalRevision, IReadOnlyList<WatchEventRecord>? CompleteWatch)> FinalChecksAsync(EtcdCluster cluster, Recorder recorder, List<(WatchCollector Watch, bool FromStart)> watches, List<string> problems, Action<string> log)
    {
        foreach (ClusterMember member in cluster.Current.Where(m => !m.IsRunning))
        {
            log($"restart {member.Name} for the final checks");
            await cluster.RestartAsync(member);
        }

        ClusterMember[] members = [.. cluster.Current];
        foreach (ClusterMember member in members)
        {
            if (!await ServesAsync(cluster, member, TimeSpan.FromSeconds(30)))
            {
                problems.Add($"{member.Name} does not serve a linearizable read 30 s after the fault healed");
            }
        }

        await using IEtcdClient writer = EtcdCluster.ClientFor(members[0], TimeSpan.FromSeconds(10));
        var finalPut = new PutOp(Workload.Prefix + "final", "final");
        KvResponse put = await recorder.RecordAsync(FinalClient, finalPut, () => Recorder.SendAsync(writer, finalPut, CancellationToken.None));
        long finalRevision = put.Revision;
        log($"final put at revision {finalRevision}");
        RangeReply? firstRead = null;
        for (int i = 0; i < members.Length; i++)
        {
            await using IEtcdClient reader = EtcdCluster.ClientFor(members[i], TimeSpan.FromSeconds(10));
            var read = new RangeOp(Workload.Prefix, Prefix: true);
            KvResponse response = await recorder.RecordAsync(FinalClient + 1 + i, read, () => Recorder.SendAsync(reader, read, CancellationToken.None));
            firstRead ??= (RangeReply)response.Reply;
        }

        // Every member at the final revision, with the same key space hash there.
        var hashes = new List<string>();
        foreach (ClusterMember member in members)
        {
            await using IEtcdClient client = EtcdCluster.ClientFor(member, TimeSpan.FromSeconds(5));
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    StatusResult status = await client.Maintenance.StatusAsync(member.ClientUrl);
                    if (status.Header.Revision >= finalRevision)
                    {
                        HashKVResult hash = await client.Maintenance.HashKVAsync(finalRevision, member.ClientUrl);
                        hashes.Add($"{member.Name}={hash.Hash:x8}");
                        break;
                    }
                }
                catch (EtcdClientException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                }

                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    problems.Add($"{member.Name} did not reach revision {finalRevision} within 30 s");
                    break;
                }

                await Task.Delay(20);
            }
        }

        log($"HashKV at {finalRevision}: {string.Join(' ', hashes)}");
        if (hashes.Select(h => h[(h.IndexOf('=', StringComparison.Ordinal) + 1)..]).Distinct().Count() > 1)
        {
            problems.Add($"members disagree on HashKV at revision {finalRevision}: {string.Join(' ', hashes)}");
        }

        // Each member's whole history as watch events: nothing acknowledged is missing anywhere.
        var perMember = new List<WatchCollector>();
        IReadOnlyList<WatchEventRecord>? complete = null;
        try
        {
            foreach (ClusterMember member in members)
            {
                perMember.Add(new WatchCollector($"{member.Name}-history", EtcdCluster.ClientFor(member), Workload.Prefix, 1));
            }

            IReadOnlyList<Operation> history = recorder.Snapshot();
            IReadOnlyList<WatchEventRecord>? reference = null;
            foreach (WatchCollector watch in perMember.Concat(watches.Select(w => w.Watch)))
            {
                if (!await watch.WaitForRevisionAsync(finalRevision, TimeSpan.FromSeconds(30)))
                {
                    problems.Add($"watch {watch.Name} did not deliver revision {finalRevision} within 30 s (last {watch.LastRevision}, error {watch.Error?.Message ?? "none"})");
                    continue;
                }

                WatchRecord record = watch.Record();
                int problemsBefore = problems.Count;
                problems.AddRange(WatchValidator.Validate(record, history, finalRevision, everyRevisionTouchesPrefix: true, out IReadOnlyDictionary<string, KvItem>? replayed));

                if (replayed is not null && firstRead is not null)
                {
                    string expected = string.Join(", ", firstRead.Kvs.Select(kv => $"{kv.Key}={kv.Value}@{kv.ModRevision}/{kv.CreateRevision}/{kv.Version}"));
                    string actual = string.Join(", ", replayed.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}@{kv.ModRevision}/{kv.CreateRevision}/{kv.Version}"));
                    if (!string.Equals(expected, actual, StringComparison.Ordinal))
                    {
                        problems.Add($"watch {watch.Name} replayed to [{actual}] but the final read is [{expected}]");
                    }
                }

                if (perMember.Contains(watch))
                {
                    List<WatchEventRecord> events = [.. record.Events.Where(e => e.Revision <= finalRevision)];
                    if (complete is null && problems.Count == problemsBefore)
                    {
                        complete = events;
                    }

                    if (reference is null)
                    {
                        reference = events;
                    }
                    else if (!reference.SequenceEqual(events))
                    {
                        problems.Add($"watch {watch.Name} delivers a different history than {perMember[0].Name}");
                    }
                }
            }

            log($"watches checked: {string.Join(", ", perMember.Concat(watches.Select(w => w.Watch)).Select(w => $"{w.Name} {w.Record().Events.Count} events"))}");
        }
        finally
        {
            foreach (WatchCollector watch in perMember)
            {
                await watch.DisposeAsync();
            }
        }

        return (finalRevision, complete);
    }

    private static async Task<bool> ServesAsync(EtcdCluster cluster, ClusterMember member, TimeSpan timeout)
    {
        await using IEtcdClient client = EtcdCluster.ClientFor(member, TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                await client.Kv.GetAsync("k/health"u8.ToArray());
                return true;
            }
            catch (EtcdClientException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }

    private static async Task<bool> WaitForAnswersAsync(Recorder recorder, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (recorder.Answered < count)
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }
}
