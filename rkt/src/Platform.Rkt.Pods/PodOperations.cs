using Platform.Linux.Cgroups;
using Platform.Linux.Namespaces;
using Platform.Linux.Processes;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Networking;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>What one <c>rkt gc</c> pass did.</summary>
public sealed record GcReport(IReadOnlyList<string> Marked, IReadOnlyList<string> Removed, IReadOnlyList<string> Failed);

/// <summary>
/// Operations on existing pods: stop, rm, gc (mark and sweep), enter. Each takes the pod's lock the way
/// rkt does, so it never races a concurrent run, prepare or another gc.
/// </summary>
public sealed class PodOperations
{
    private readonly PodStore _store;
    private readonly IPodNetworking? _networking;
    private readonly TimeProvider _time;

    public PodOperations(PodStore store, IPodNetworking? networking, TimeProvider time)
    {
        _store = store;
        _networking = networking;
        _time = time;
    }

    /// <summary>
    /// Asks a running pod to stop (SIGTERM to stage1, which forwards it to the apps) or kills it
    /// (<paramref name="force"/>: SIGKILL to stage1; the kernel kills every process of its PID namespace).
    /// </summary>
    /// <exception cref="PodException">The pod is not running.</exception>
    public static void Stop(PodEntry pod, bool force)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.State != PodStates.Running)
        {
            throw new PodException($"pod {pod.Uuid} is not running (state {pod.State})");
        }

        int pid = pod.ReadPid() ?? throw new PodException($"pod {pod.Uuid} has no pid yet");
        _ = ProcessSpawner.Signal(pid, force ? 9 : 15);
    }

    /// <summary>Removes an exited, prepared or garbage pod now (<c>rkt rm</c>).</summary>
    public async Task RemoveAsync(PodEntry pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        using FileLock? podLock = FileLock.TryAcquire(pod.Path, LockMode.Exclusive)
            ?? throw new PodException($"pod {pod.Uuid} is {pod.State}: cannot remove it");
        string path = pod.Path;
        string target = pod.StateDirectory switch
        {
            "run" => "exited-garbage",
            "exited-garbage" or "garbage" => pod.StateDirectory,
            _ => "garbage",
        };
        if (target != pod.StateDirectory)
        {
            path = _store.Move(pod.Uuid, pod.StateDirectory, target);
        }

        await SweepAsync(path, pod.Uuid, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// rkt gc: marks exited pods (<c>run/</c> unlocked → <c>exited-garbage/</c>), aborted prepares and
    /// prepared pods older than <paramref name="expirePrepared"/> (→ <c>garbage/</c>), then, unless
    /// <paramref name="markOnly"/>, sweeps marked pods older than <paramref name="gracePeriod"/>: CNI DEL,
    /// unmount, cgroups removed, directory deleted.
    /// </summary>
    public async Task<GcReport> CollectAsync(TimeSpan gracePeriod, TimeSpan expirePrepared, bool markOnly, Action<string>? log, CancellationToken cancellationToken)
    {
        var marked = new List<string>();
        var removed = new List<string>();
        var failed = new List<string>();
        DateTimeOffset now = _time.GetUtcNow();
        foreach (PodEntry pod in _store.List())
        {
            string? target = pod.State switch
            {
                PodStates.Exited => "exited-garbage",
                PodStates.AbortedPrepare => "garbage",
                PodStates.Prepared when pod.CreatedAt is { } created && now - created > expirePrepared => "garbage",
                _ => null,
            };
            if (target is null)
            {
                continue;
            }

            using FileLock? podLock = FileLock.TryAcquire(pod.Path, LockMode.Exclusive);
            if (podLock is null || !Directory.Exists(pod.Path))
            {
                continue; // someone is using it or moved it meanwhile
            }

            log?.Invoke($"Moving pod \"{pod.Uuid}\" to garbage");
            string moved = _store.Move(pod.Uuid, pod.StateDirectory, target);
            await File.WriteAllTextAsync(Path.Join(moved, "gc-marked"), now.ToString("O", System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            marked.Add(pod.Uuid);
        }

        if (markOnly)
        {
            return new GcReport(marked, removed, failed);
        }

        foreach (PodEntry pod in _store.List())
        {
            if (pod.State is not (PodStates.ExitedGarbage or PodStates.Garbage))
            {
                continue;
            }

            DateTimeOffset markedAt = MarkedAt(pod.Path);
            if (now - markedAt < gracePeriod)
            {
                continue;
            }

            using FileLock? podLock = FileLock.TryAcquire(pod.Path, LockMode.Exclusive);
            if (podLock is null || !Directory.Exists(pod.Path))
            {
                continue;
            }

            log?.Invoke($"Garbage collecting pod \"{pod.Uuid}\"");
            try
            {
                await SweepAsync(pod.Path, pod.Uuid, cancellationToken).ConfigureAwait(false);
                removed.Add(pod.Uuid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PodException or Platform.Linux.LinuxException or CniPluginException)
            {
                log?.Invoke($"Unable to remove pod \"{pod.Uuid}\": {e.Message}");
                failed.Add(pod.Uuid);
            }
        }

        return new GcReport(marked, removed, failed);
    }

    /// <summary>
    /// Runs <paramref name="command"/> inside app <paramref name="app"/> of a running pod: joins the
    /// pod's UTS, IPC, network, mount and PID namespaces (via stage1's PID 1), chroots into the app's root
    /// and takes the app's user, group and capabilities (rkt's enter ran with every capability:
    /// CVE-2019-10144). Returns the command's exit code.
    /// </summary>
    public static int Enter(PodEntry pod, string? app, IReadOnlyList<string> command)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(command);
        if (pod.State != PodStates.Running)
        {
            throw new PodException($"pod {pod.Uuid} is not running (state {pod.State})");
        }

        string? flavor = PodLayout.ReadStage1Flavor(pod.Path);
        if (flavor != Stage1Flavors.DefaultName)
        {
            throw new PodException($"enter is not supported by the {flavor} stage1");
        }

        Stage1Plan plan = Stage1Plan.Parse(File.ReadAllBytes(PodLayout.Stage1Plan(pod.Path)));
        Stage1App target = app is null
            ? plan.Apps.Count == 1 ? plan.Apps[0] : throw new PodException($"pod {pod.Uuid} has several apps: give --app ({string.Join(", ", plan.Apps.Select(a => a.Name))})")
            : plan.Apps.FirstOrDefault(a => a.Name == app) ?? throw new PodException($"pod {pod.Uuid} has no app \"{app}\"");
        int pid = pod.ReadPid() ?? throw new PodException($"pod {pod.Uuid} has no pid");
        IReadOnlyList<string> argv = command.Count > 0 ? command : ["/bin/sh"];
        var credentials = new ThreadCredentials
        {
            Uid = target.Uid,
            Gid = target.Gid,
            SupplementaryGids = target.SupplementaryGids,
            RetainedCapabilities = target.Capabilities.ToHashSet(),
            NoNewPrivileges = target.NoNewPrivileges,
        };
        var request = new SpawnRequest
        {
            Path = argv[0],
            Arguments = argv,
            Environment = target.Environment,
            WorkingDirectory = target.WorkingDirectory,
        };
        NamespaceKinds kinds = NamespaceKinds.Uts | NamespaceKinds.Ipc | NamespaceKinds.Mount | NamespaceKinds.Pid
                               | (plan.Network == "host" ? NamespaceKinds.None : NamespaceKinds.Net);
        int child = NamespaceLauncher.SpawnInNamespacesOf(pid, kinds, PodLayout.AppRootfs(pod.Path, target.Name), credentials, request);
        return ProcessSpawner.Wait(child).ShellCode;
    }

    private static DateTimeOffset MarkedAt(string path)
    {
        try
        {
            return DateTimeOffset.Parse(File.ReadAllText(Path.Join(path, "gc-marked")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return DateTimeOffset.MinValue; // marked by a crashed gc: collectable now
        }
    }

    /// <summary>Undoes everything a pod left on the host, then deletes its directory. The caller holds the lock.</summary>
    private async Task SweepAsync(string pod, string uuid, CancellationToken cancellationToken)
    {
        if (_networking is not null && File.Exists(Path.Join(pod, "net-info.json")))
        {
            await _networking.TeardownAsync(pod, uuid, cancellationToken).ConfigureAwait(false);
        }

        foreach (string mount in Mounts.MountPointsUnder(pod))
        {
            _ = Mounts.Unmount(mount, detach: true);
        }

        if (File.Exists(PodLayout.Netns(pod)))
        {
            Platform.Linux.Netns.NetworkNamespace.Delete(PodLayout.Netns(pod));
        }

        if (File.Exists(PodLayout.Cgroups(pod)) && !CgroupSet.Load(PodLayout.Cgroups(pod)).TryRemove())
        {
            throw new PodException($"pod {uuid}: its cgroups still hold processes");
        }

        DeleteTree(pod);
    }

    private static void DeleteTree(string path)
    {
        foreach (string file in Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            try
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }
            catch (IOException)
            {
            }
        }

        Directory.Delete(path, recursive: true);
    }
}
