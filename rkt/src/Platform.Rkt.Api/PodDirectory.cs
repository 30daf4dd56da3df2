using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Rkt.Api.V1Alpha;
using Platform.Rkt.Images.Native;

namespace Platform.Rkt.Api;

/// <summary>
/// One pod as rkt leaves it on disk under <c>&lt;dir&gt;/pods/&lt;state-dir&gt;/&lt;uuid&gt;</c>. The state is the
/// directory plus whether someone holds a flock on the pod directory (reference: rkt's pod lifecycle):
/// <c>prepare</c> locked = preparing, unlocked = aborted prepare; <c>run</c> locked = running, unlocked =
/// exited; <c>exited-garbage</c> and <c>garbage</c> locked = deleting. Read-only: a shared, non-blocking
/// lock attempt is the probe, released at once.
/// </summary>
internal sealed record PodDirectory(string Uuid, string Path, string StateDirectory, PodState State)
{
    /// <summary>rkt's state directories, in lifecycle order.</summary>
    public static readonly string[] StateDirectories = ["embryo", "prepare", "prepared", "run", "exited-garbage", "garbage"];

    /// <summary>Every pod under <paramref name="dataDir"/>/pods; a UUID seen in two directories (mid-rename) is reported once, in the later state.</summary>
    public static List<PodDirectory> List(string dataDir)
    {
        var pods = new Dictionary<string, PodDirectory>(StringComparer.Ordinal);
        foreach (string stateDir in StateDirectories)
        {
            string dir = System.IO.Path.Combine(dataDir, "pods", stateDir);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (string podDir in Directory.EnumerateDirectories(dir))
            {
                string uuid = System.IO.Path.GetFileName(podDir);
                if (!Guid.TryParse(uuid, out _))
                {
                    continue;
                }

                PodState? state = Probe(podDir, stateDir);
                if (state is not null)
                {
                    pods[uuid] = new PodDirectory(uuid, podDir, stateDir, state.Value);
                }
            }
        }

        return pods.Values.OrderBy(p => p.Uuid, StringComparer.Ordinal).ToList();
    }

    /// <summary>The pod with that UUID (or unique UUID prefix), or null.</summary>
    public static PodDirectory? Find(string dataDir, string id)
    {
        List<PodDirectory> matches = List(dataDir).Where(p => p.Uuid.StartsWith(id, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches.Count == 1 ? matches[0] : matches.FirstOrDefault(p => p.Uuid.Equals(id, StringComparison.OrdinalIgnoreCase));
    }

    private static PodState? Probe(string podDir, string stateDir)
    {
        bool locked;
        try
        {
            using FileLock? probe = FileLock.TryAcquire(podDir, LockMode.Shared);
            locked = probe is null;
        }
        catch (IOException)
        {
            return null; // Renamed away or removed while we looked.
        }

        return stateDir switch
        {
            "embryo" => PodState.Embryo,
            "prepare" => locked ? PodState.Preparing : PodState.AbortedPrepare,
            "prepared" => PodState.Prepared,
            "run" => locked ? PodState.Running : PodState.Exited,
            "exited-garbage" => locked ? PodState.Deleting : PodState.Garbage,
            _ => locked ? PodState.Deleting : PodState.Garbage,
        };
    }

    /// <summary>The pod manifest bytes (<c>pod</c>), or null before stage0 wrote it.</summary>
    public byte[]? ManifestBytes() => ReadBytes("pod");

    public JsonObject? Manifest()
    {
        byte[]? bytes = ManifestBytes();
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The stage1 PID from <c>pid</c> (or rkt's older <c>ppid</c>), 0 when absent.</summary>
    public int Pid()
    {
        foreach (string name in new[] { "pid", "ppid" })
        {
            string? text = ReadText(name);
            if (text is not null && int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                return pid;
            }
        }

        return 0;
    }

    /// <summary>
    /// The pod's cgroup path (relative to its hierarchy, e.g. <c>/rkt/&lt;uuid&gt;</c>): rkt's <c>subcgroup</c>
    /// file, else the first line of stage0's <c>cgroups</c> record (<c>VERSION CONTROLLERS MOUNTPOINT PATH</c>), or empty.
    /// </summary>
    public string Cgroup()
    {
        if (ReadText("subcgroup") is { } sub)
        {
            return sub.Trim();
        }

        string? first = ReadText("cgroups")?.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        string[] parts = first?.Split(' ', 4) ?? [];
        if (parts.Length != 4)
        {
            return string.Empty;
        }

        string relative = parts[3].StartsWith(parts[2], StringComparison.Ordinal) ? parts[3][parts[2].Length..] : parts[3];
        return "/" + relative.Trim().TrimStart('/');
    }

    /// <summary>When the pod was created: the manifest's modification time (the pod directory's when there is none), ns since the epoch.</summary>
    public long CreatedAt() => Nanoseconds(File.Exists(Combine("pod")) ? File.GetLastWriteTimeUtc(Combine("pod")) : Directory.GetLastWriteTimeUtc(Path));

    /// <summary>When stage1 started the apps: the <c>started</c> record (ISO 8601), else the <c>pid</c> file's modification time, or 0.</summary>
    public long StartedAt()
    {
        if (ReadText("started") is { } text && DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset started))
        {
            return Nanoseconds(started.UtcDateTime);
        }

        return File.Exists(Combine("pid")) ? Nanoseconds(File.GetLastWriteTimeUtc(Combine("pid"))) : 0;
    }

    /// <summary>For pods in a garbage directory: when they were moved there (approximated by the directory's mtime), else 0.</summary>
    public long GcMarkedAt() => StateDirectory is "exited-garbage" or "garbage" ? Nanoseconds(Directory.GetLastWriteTimeUtc(Path)) : 0;

    /// <summary>An app's exit status as rkt's stage1 writes it (<c>stage1/rootfs/rkt/status/&lt;app&gt;</c>), or null while it runs.</summary>
    public int? ExitCode(string app)
    {
        string? text = ReadText(System.IO.Path.Combine("stage1", "rootfs", "rkt", "status", app));
        return text is not null && int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code) ? code : null;
    }

    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    private byte[]? ReadBytes(string relative)
    {
        try
        {
            return File.ReadAllBytes(Combine(relative));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string? ReadText(string relative) => ReadBytes(relative) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null;

    private static long Nanoseconds(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
