using System.Globalization;
using System.Text.Json;
using Platform.Rkt.Pods;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Cli.Commands;

/// <summary>Pod facts shared by <c>list</c> and <c>status</c>: networks, times, and rkt's JSON shape.</summary>
internal static class PodListing
{
    /// <summary><c>name:ip4=ADDR</c> items from what networking recorded.</summary>
    public static IReadOnlyList<(string Name, string Ip)> Networks(PodEntry pod)
    {
        string file = Path.Join(pod.Path, "networks");
        if (!File.Exists(file))
        {
            return [];
        }

        return File.ReadAllLines(file).Select(l => l.Split(' ')).Where(p => p.Length == 3).Select(p => (p[0], p[2].Split('/')[0])).ToList();
    }

    /// <summary>Go's time format as rkt printed it: <c>2016-01-26 14:23:34.631 +0000 UTC</c>.</summary>
    public static string GoTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + " +0000 UTC";

    public static string Ago(DateTimeOffset time, DateTimeOffset now)
    {
        TimeSpan d = now - time;
        return d.TotalSeconds < 1 ? "just now"
            : d.TotalMinutes < 1 ? $"{(int)d.TotalSeconds} seconds ago"
            : d.TotalHours < 1 ? $"{(int)d.TotalMinutes} minutes ago"
            : d.TotalDays < 1 ? $"{(int)d.TotalHours} hours ago"
            : $"{(int)d.TotalDays} days ago";
    }

    /// <summary>One pod as rkt's <c>lib.Pod</c> JSON (<c>name</c>, <c>state</c>, <c>networks</c>, <c>app_names</c>, times as Unix nanoseconds).</summary>
    public static void WriteJson(Utf8JsonWriter json, PodEntry pod)
    {
        PodManifest? manifest = pod.TryReadManifest();
        IReadOnlyDictionary<string, int> statuses = pod.ReadAppStatuses();
        json.WriteStartObject();
        json.WriteString("name", pod.Uuid);
        json.WriteString("state", pod.State);
        json.WriteStartArray("networks");
        foreach ((string name, string ip) in Networks(pod))
        {
            json.WriteStartObject();
            json.WriteString("netName", name);
            json.WriteString("ip", ip);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("app_names");
        foreach (RuntimeApp app in manifest?.Apps ?? [])
        {
            json.WriteStringValue(app.Name);
        }

        json.WriteEndArray();
        if (pod.ReadPid() is { } pid && pod.State is PodStates.Running)
        {
            json.WriteNumber("pid", pid);
        }

        WriteTime(json, "created_at", pod.CreatedAt);
        WriteTime(json, "started_at", pod.StartedAt);
        WriteTime(json, "finished_at", pod.FinishedAt);
        json.WriteStartArray("apps");
        foreach (RuntimeApp app in manifest?.Apps ?? [])
        {
            json.WriteStartObject();
            json.WriteString("name", app.Name);
            json.WriteString("image_id", app.Image.Id);
            json.WriteString("image_name", app.Image.Name);
            if (statuses.TryGetValue(app.Name, out int code))
            {
                json.WriteString("state", "exited");
                json.WriteNumber("exit_code", code);
            }
            else
            {
                json.WriteString("state", pod.State == PodStates.Running ? "running" : "unknown");
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            json.WriteNumber(name, (t.ToUnixTimeMilliseconds() * 1_000_000L));
        }
    }
}
