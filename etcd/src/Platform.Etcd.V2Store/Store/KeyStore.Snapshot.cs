using System.Globalization;
using System.Text;
using System.Text.Json;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Store;

/// <summary>
/// Snapshots in the JSON layout etcd's v2 store writes (Go's encoding of its store struct), so
/// a v2 snapshot taken by etcd 3.4 can be recovered here:
/// <c>{"Root":{"Path","CreatedIndex","ModifiedIndex","ExpireTime","Value","Children"},
/// "WatcherHub":{"EventHistory":{"Queue":{"Events","Size","Front","Back","Capacity"},
/// "StartIndex","LastIndex"}},"CurrentIndex","CurrentVersion"}</c>.
/// etcd's "Stats" counters are not kept here, so they are neither written nor read.
/// </summary>
internal sealed partial class KeyStore
{
    /// <summary>Go's zero time, which etcd writes for "never expires".</summary>
    private const string GoZeroTime = "0001-01-01T00:00:00Z";

    public byte[] Save()
    {
        lock (_lock)
        {
            var builder = new StringBuilder(4096);
            builder.Append("{\"Root\":");
            WriteTreeNode(builder, _root);
            EventHistory history = _hub.History;
            builder.Append(",\"WatcherHub\":{\"EventHistory\":{\"Queue\":{\"Events\":[");
            for (int i = 0; i < history.Capacity; i++)
            {
                if (i > 0)
                {
                    builder.Append(',');
                }

                if (history.Events[i] is { } e)
                {
                    V2Json.WriteEvent(builder, e, keyPrefix: "", includeRefresh: true);
                }
                else
                {
                    builder.Append("null");
                }
            }

            builder.Append("],\"Size\":").Append(Number(history.Size))
                .Append(",\"Front\":").Append(Number(history.Front))
                .Append(",\"Back\":").Append(Number(history.Back))
                .Append(",\"Capacity\":").Append(Number(history.Capacity))
                .Append("},\"StartIndex\":").Append(Number(history.StartIndex))
                .Append(",\"LastIndex\":").Append(Number(history.LastIndex))
                .Append("}},\"CurrentIndex\":").Append(Number(_index))
                .Append(",\"CurrentVersion\":").Append(Number(DefaultVersion))
                .Append('}');
            return Encoding.UTF8.GetBytes(builder.ToString());
        }
    }

    public void Recover(ReadOnlySpan<byte> snapshot)
    {
        var reader = new Utf8JsonReader(snapshot);
        using JsonDocument document = JsonDocument.ParseValue(ref reader);
        JsonElement state = document.RootElement;
        lock (_lock)
        {
            _ttlNodes.Clear();
            _root = ReadTreeNode(state.GetProperty("Root"), parent: null);
            _index = state.GetProperty("CurrentIndex").GetUInt64();
            if (state.TryGetProperty("WatcherHub", out JsonElement hub) && hub.TryGetProperty("EventHistory", out JsonElement history))
            {
                JsonElement queue = history.GetProperty("Queue");
                V2Event?[] events = [.. queue.GetProperty("Events").EnumerateArray()
                    .Select(e => e.ValueKind == JsonValueKind.Null ? null : V2Json.ReadEvent(e))];
                _hub.History.Restore(
                    events,
                    queue.GetProperty("Size").GetInt32(),
                    queue.GetProperty("Front").GetInt32(),
                    queue.GetProperty("Back").GetInt32(),
                    history.GetProperty("StartIndex").GetUInt64(),
                    history.GetProperty("LastIndex").GetUInt64());
            }
        }
    }

    private static void WriteTreeNode(StringBuilder builder, TreeNode n)
    {
        builder.Append("{\"Path\":");
        GoJson.AppendString(builder, n.Path);
        builder.Append(",\"CreatedIndex\":").Append(Number(n.CreatedIndex))
            .Append(",\"ModifiedIndex\":").Append(Number(n.ModifiedIndex))
            .Append(",\"ExpireTime\":");
        GoJson.AppendString(builder, n.ExpireTime is { } expire ? GoJson.FormatTime(expire) : GoZeroTime);
        builder.Append(",\"Value\":");
        GoJson.AppendString(builder, n.Value);
        builder.Append(",\"Children\":");
        if (n.Children is null)
        {
            builder.Append("null");
        }
        else
        {
            builder.Append('{');
            bool first = true;
            foreach ((string name, TreeNode child) in n.Children)
            {
                if (!first)
                {
                    builder.Append(',');
                }

                first = false;
                GoJson.AppendString(builder, name);
                builder.Append(':');
                WriteTreeNode(builder, child);
            }

            builder.Append('}');
        }

        builder.Append('}');
    }

    private TreeNode ReadTreeNode(JsonElement element, TreeNode? parent)
    {
        string path = element.GetProperty("Path").GetString()!;
        DateTimeOffset expireTime = GoJson.ParseTime(element.GetProperty("ExpireTime").GetString()!);
        // Go's zero time (year 1, in whatever zone it was written) means permanent.
        DateTimeOffset? expire = expireTime.UtcDateTime.Year <= 1 ? null : expireTime;
        ulong created = element.GetProperty("CreatedIndex").GetUInt64();
        bool dir = element.TryGetProperty("Children", out JsonElement children) && children.ValueKind == JsonValueKind.Object;
        TreeNode n = dir
            ? TreeNode.Directory(path, created, parent, expire, _nextSequence++)
            : TreeNode.File(path, element.GetProperty("Value").GetString() ?? "", created, parent, expire, _nextSequence++);
        n.ModifiedIndex = element.GetProperty("ModifiedIndex").GetUInt64();
        if (dir)
        {
            foreach (JsonProperty child in children.EnumerateObject())
            {
                n.Children!.Add(child.Name, ReadTreeNode(child.Value, n));
            }
        }

        if (expire is not null)
        {
            _ttlNodes.Add(n);
        }

        return n;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
