using System.Globalization;
using System.Text.Json;
using Platform.Linux.Netns;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// Removes what a flight made, whatever state it was left in: every process in one of its network
/// namespaces (machine supervisors — whose PID namespaces take all machine processes with them —
/// and the discovery etcd) is killed, the namespaces are deleted, the state directory removed.
/// </summary>
internal static class FlightCleanup
{
    public static IReadOnlyList<string> Destroy(string flight, string stateRoot)
    {
        var removed = new List<string>();
        var layout = new FlightLayout(stateRoot, flight);
        string prefix = Path.GetFileName(layout.NamespacePath);
        string[] namespaces = Directory.Exists("/run/netns")
            ? Directory.GetFiles("/run/netns").Where(p => Path.GetFileName(p) == prefix || Path.GetFileName(p).StartsWith(prefix + "-", StringComparison.Ordinal)).ToArray()
            : [];

        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (string ns in namespaces)
        {
            string? inode = NamespaceInode(ns);
            if (inode is not null)
            {
                inodes.Add(inode);
            }
        }

        List<int> killed = KillProcessesIn(inodes);
        if (killed.Count > 0)
        {
            removed.Add($"killed {killed.Count} process(es): {string.Join(' ', killed)}");
        }

        WaitGone(killed, TimeSpan.FromSeconds(20));
        foreach (string ns in namespaces)
        {
            NetworkNamespace.Delete(ns);
            removed.Add($"deleted network namespace {Path.GetFileName(ns)}");
        }

        string machines = Path.Join(layout.Root, "machines");
        foreach (string machine in Directory.Exists(machines) ? Directory.GetDirectories(machines) : [])
        {
            string cgroups = Path.Join(machine, "cgroups");
            if (File.Exists(cgroups))
            {
                Machines.NetnsMachine.RemoveCgroups(cgroups);
                removed.Add($"removed the cgroups of machine {Path.GetFileName(machine)}");
            }
        }

        if (Directory.Exists(layout.Root))
        {
            Directory.Delete(layout.Root, recursive: true);
            removed.Add($"removed {layout.Root}");
        }

        return removed;
    }

    /// <summary>Destroys flights under <paramref name="stateRoot"/> whose harness died without keeping them.</summary>
    public static void RemoveStale(string stateRoot, TextWriter? progress)
    {
        if (!Directory.Exists(stateRoot))
        {
            return;
        }

        foreach (string dir in Directory.GetDirectories(stateRoot))
        {
            string file = Path.Join(dir, "flight.json");
            FlightRecord? record = Read(file);
            if (record is null || record.Keep || Directory.Exists($"/proc/{record.HarnessPid}"))
            {
                continue;
            }

            progress?.WriteLine($"kola: removing stale flight {Path.GetFileName(dir)} (harness {record.HarnessPid} is gone)");
            Destroy(Path.GetFileName(dir), stateRoot);
        }
    }

    public static void Write(FlightLayout layout, bool keep)
    {
        Directory.CreateDirectory(layout.Root);
        File.WriteAllText(layout.StateFile, JsonSerializer.Serialize(new FlightRecord(Environment.ProcessId, keep), FlightJson.Default.FlightRecord));
    }

    private static FlightRecord? Read(string file)
    {
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), FlightJson.Default.FlightRecord) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A namespace's identity as /proc/PID/ns/net links show it (<c>net:[INODE]</c>), read from a thread inside it.</summary>
    private static string? NamespaceInode(string path)
    {
        try
        {
            using NetworkNamespace ns = NetworkNamespace.Open(path);
            return ns.Run(() => new FileInfo("/proc/thread-self/ns/net").LinkTarget);
        }
        catch (Exception e) when (e is Platform.Linux.LinuxException or IOException)
        {
            return null;
        }
    }

    private static List<int> KillProcessesIn(HashSet<string> inodes)
    {
        var killed = new List<int>();
        if (inodes.Count == 0)
        {
            return killed;
        }

        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string? link;
            try
            {
                link = new FileInfo(Path.Join(dir, "ns", "net")).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (link is not null && inodes.Contains(link) && Platform.Linux.Processes.ProcessSpawner.Signal(pid, 9))
            {
                killed.Add(pid);
            }
        }

        return killed;
    }

    private static void WaitGone(List<int> pids, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        foreach (int pid in pids)
        {
            // A killed process lingers until its parent reaps it; ours reap theirs (PID 1 supervisors
            // die at once, their namespaces with them). Zombies of a dead parent go to init.
            while (Directory.Exists($"/proc/{pid}") && !IsZombie(pid) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return true;
        }
    }
}

internal sealed record FlightRecord(int HarnessPid, bool Keep);

[System.Text.Json.Serialization.JsonSerializable(typeof(FlightRecord))]
internal sealed partial class FlightJson : System.Text.Json.Serialization.JsonSerializerContext;
