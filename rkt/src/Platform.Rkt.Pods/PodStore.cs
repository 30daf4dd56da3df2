using System.Globalization;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>A pod found on disk: its UUID, state directory and state at the moment it was looked at.</summary>
public sealed class PodEntry
{
    public required string Uuid { get; init; }

    /// <summary>The state directory (<c>run</c>, <c>prepared</c>, ...).</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The pod directory, <c>$dir/pods/$state/$uuid</c>.</summary>
    public required string Path { get; init; }

    /// <summary>One of <see cref="PodStates"/>.</summary>
    public required string State { get; init; }

    /// <summary>The pod manifest, or null (embryo, or unreadable).</summary>
    public PodManifest? TryReadManifest()
    {
        try
        {
            return PodManifest.Parse(File.ReadAllBytes(PodLayout.Manifest(Path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The stage1 pid recorded in <c>pid</c>, or null.</summary>
    public int? ReadPid()
    {
        try
        {
            return int.TryParse(File.ReadAllText(PodLayout.Pid(Path)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Exit statuses stage1 recorded, by app.</summary>
    public IReadOnlyDictionary<string, int> ReadAppStatuses()
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        string dir = PodLayout.AppStatusDirectory(Path);
        if (!Directory.Exists(dir))
        {
            return result;
        }

        foreach (string file in Directory.EnumerateFiles(dir))
        {
            string name = System.IO.Path.GetFileName(file);
            if (!name.EndsWith(".tmp", StringComparison.Ordinal)
                && int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code))
            {
                result[name] = code;
            }
        }

        return result;
    }

    public DateTimeOffset? CreatedAt => TimeOf(PodLayout.Manifest(Path));

    public DateTimeOffset? StartedAt
    {
        get
        {
            try
            {
                return DateTimeOffset.Parse(File.ReadAllText(PodLayout.Started(Path)).Trim(), CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or FormatException)
            {
                return null;
            }
        }
    }

    /// <summary>When the last app status was written (the pod's apps are done), or null.</summary>
    public DateTimeOffset? FinishedAt
    {
        get
        {
            string dir = PodLayout.AppStatusDirectory(Path);
            if (State is not (PodStates.Exited or PodStates.ExitedGarbage) || !Directory.Exists(dir))
            {
                return null;
            }

            DateTime[] times = Directory.EnumerateFiles(dir).Select(File.GetLastWriteTimeUtc).ToArray();
            return times.Length == 0 ? null : new DateTimeOffset(times.Max(), TimeSpan.Zero);
        }
    }

    private static DateTimeOffset? TimeOf(string file) =>
        File.Exists(file) ? new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero) : null;
}

/// <summary>
/// The pod directories under <c>$dir/pods</c>. Every state change is a rename(2) between state
/// directories made while holding the pod's exclusive flock, so concurrent rkt processes never see a
/// half-moved pod; a pod's state is read from its directory and whether its lock is held (a crashed
/// holder's lock is released by the kernel).
/// </summary>
public sealed class PodStore
{
    public PodStore(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        Root = System.IO.Path.Join(System.IO.Path.GetFullPath(dataDirectory), "pods");
    }

    /// <summary><c>$dir/pods</c>.</summary>
    public string Root { get; }

    public string DirectoryOf(string state, string uuid) => System.IO.Path.Join(Root, state, uuid);

    /// <summary>
    /// Creates <c>embryo/$uuid</c>, locks it and moves it to <c>prepare/</c>. The returned lock is held
    /// until the caller disposes it (a crash releases it: the pod becomes "aborted prepare").
    /// </summary>
    public (string Uuid, FileLock Lock) CreatePreparing()
    {
        foreach (string state in PodStates.Directories)
        {
            Directory.CreateDirectory(System.IO.Path.Join(Root, state));
        }

        string uuid = Guid.NewGuid().ToString("D");
        string embryo = DirectoryOf("embryo", uuid);
        Directory.CreateDirectory(embryo);
        FileLock podLock = FileLock.Acquire(embryo, LockMode.Exclusive);
        try
        {
            Directory.Move(embryo, DirectoryOf("prepare", uuid));
        }
        catch
        {
            podLock.Dispose();
            throw;
        }

        return (uuid, podLock);
    }

    /// <summary>Renames a pod whose lock the caller holds from one state directory to another.</summary>
    public string Move(string uuid, string from, string to)
    {
        Directory.CreateDirectory(System.IO.Path.Join(Root, to));
        string target = DirectoryOf(to, uuid);
        Directory.Move(DirectoryOf(from, uuid), target);
        return target;
    }

    /// <summary>Every pod, with its state as of now.</summary>
    public IReadOnlyList<PodEntry> List()
    {
        var pods = new List<PodEntry>();
        foreach (string state in PodStates.Directories)
        {
            string dir = System.IO.Path.Join(Root, state);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (string path in Directory.EnumerateDirectories(dir))
            {
                if (Probe(state, path) is { } entry)
                {
                    pods.Add(entry);
                }
            }
        }

        return pods;
    }

    /// <summary>The pod whose UUID starts with <paramref name="prefix"/>.</summary>
    /// <exception cref="PodException">None or several match.</exception>
    public PodEntry Find(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        string p = prefix.Trim().ToLowerInvariant();
        if (p.Length == 0)
        {
            throw new PodException("empty pod UUID");
        }

        var matches = List().Where(e => e.Uuid.StartsWith(p, StringComparison.Ordinal) || e.Uuid.Replace("-", string.Empty, StringComparison.Ordinal).StartsWith(p, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            0 => throw new PodException($"no matches found for \"{prefix}\""),
            1 => matches[0],
            _ => throw new PodException($"ambiguous UUID \"{prefix}\": {matches.Count} pods match"),
        };
    }

    /// <summary>Re-reads one pod's state (it may have moved on).</summary>
    public PodEntry? Refresh(string uuid)
    {
        foreach (string state in PodStates.Directories)
        {
            string path = DirectoryOf(state, uuid);
            if (Directory.Exists(path) && Probe(state, path) is { } entry)
            {
                return entry;
            }
        }

        return null;
    }

    private static PodEntry? Probe(string state, string path)
    {
        bool locked;
        try
        {
            using FileLock? probe = FileLock.TryAcquire(path, LockMode.Shared);
            locked = probe is null;
        }
        catch (IOException)
        {
            return null; // moved or removed meanwhile
        }

        return new PodEntry
        {
            Uuid = System.IO.Path.GetFileName(path),
            StateDirectory = state,
            Path = path,
            State = PodStates.Of(state, locked),
        };
    }
}

/// <summary>A pod operation failed in a way the message describes (rkt exits 254).</summary>
public sealed class PodException : Exception
{
    public PodException()
    {
    }

    public PodException(string message)
        : base(message)
    {
    }

    public PodException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
