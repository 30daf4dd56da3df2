using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.Etcd.V2Store.Json;

/// <summary>
/// etcd's v2 JSON bodies, byte for byte: events as
/// <c>{"action":…,"node":{…},"prevNode":{…}}</c> and errors as
/// <c>{"errorCode":…,"message":…,"cause":…,"index":…}</c>. Node fields appear in etcd's order
/// (key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex) and, as Go's
/// <c>omitempty</c> does, only when set: no empty key, <c>dir</c> only when true, no zero index,
/// no ttl or expiration on permanent nodes, no empty <c>nodes</c>. A file's value is always
/// present, even when empty. etcd's encoder ends each body with a newline; these methods do not,
/// the HTTP layer appends it.
/// </summary>
public static class V2Json
{
    /// <summary>
    /// The body for an event. <paramref name="keyPrefix"/> is removed from the start of every key
    /// (etcd's server stores <c>/v2/keys/foo</c> as <c>/1/foo</c> and answers with <c>/foo</c>; the
    /// namespace directory itself loses its key).
    /// </summary>
    public static string Serialize(V2Event e, string keyPrefix = "")
    {
        var builder = new StringBuilder(256);
        WriteEvent(builder, e, keyPrefix);
        return builder.ToString();
    }

    /// <summary>The body for an error; <paramref name="keyPrefix"/> is removed from the start of the cause.</summary>
    public static string Serialize(V2Error error, string keyPrefix = "")
    {
        var builder = new StringBuilder(128);
        builder.Append("{\"errorCode\":").Append(error.ErrorCode.ToString(CultureInfo.InvariantCulture));
        builder.Append(",\"message\":");
        GoJson.AppendString(builder, error.Message);
        string cause = TrimPrefix(error.Cause, keyPrefix);
        if (cause.Length != 0)
        {
            builder.Append(",\"cause\":");
            GoJson.AppendString(builder, cause);
        }

        builder.Append(",\"index\":").Append(error.Index.ToString(CultureInfo.InvariantCulture)).Append('}');
        return builder.ToString();
    }

    internal static void WriteEvent(StringBuilder builder, V2Event e, string keyPrefix, bool includeRefresh = false)
    {
        builder.Append("{\"action\":");
        GoJson.AppendString(builder, e.Action);
        builder.Append(",\"node\":");
        WriteNode(builder, e.Node, keyPrefix);
        if (e.PrevNode is not null)
        {
            builder.Append(",\"prevNode\":");
            WriteNode(builder, e.PrevNode, keyPrefix);
        }

        if (includeRefresh && e.Refresh)
        {
            builder.Append(",\"refresh\":true");
        }

        builder.Append('}');
    }

    internal static void WriteNode(StringBuilder builder, V2Node node, string keyPrefix)
    {
        builder.Append('{');
        bool first = true;
        string key = TrimPrefix(node.Key, keyPrefix);
        if (key.Length != 0)
        {
            Name(builder, "key", ref first);
            GoJson.AppendString(builder, key);
        }

        if (node.Value is not null)
        {
            Name(builder, "value", ref first);
            GoJson.AppendString(builder, node.Value);
        }

        if (node.Dir)
        {
            Name(builder, "dir", ref first);
            builder.Append("true");
        }

        if (node.Expiration is { } expiration)
        {
            Name(builder, "expiration", ref first);
            GoJson.AppendString(builder, GoJson.FormatTime(expiration));
        }

        if (node.Ttl != 0)
        {
            Name(builder, "ttl", ref first);
            builder.Append(node.Ttl.ToString(CultureInfo.InvariantCulture));
        }

        if (node.Nodes is { Count: > 0 } nodes)
        {
            Name(builder, "nodes", ref first);
            builder.Append('[');
            for (int i = 0; i < nodes.Count; i++)
            {
                if (i > 0)
                {
                    builder.Append(',');
                }

                WriteNode(builder, nodes[i], keyPrefix);
            }

            builder.Append(']');
        }

        if (node.ModifiedIndex != 0)
        {
            Name(builder, "modifiedIndex", ref first);
            builder.Append(node.ModifiedIndex.ToString(CultureInfo.InvariantCulture));
        }

        if (node.CreatedIndex != 0)
        {
            Name(builder, "createdIndex", ref first);
            builder.Append(node.CreatedIndex.ToString(CultureInfo.InvariantCulture));
        }

        builder.Append('}');
    }

    /// <summary>Reads an event written by <see cref="WriteEvent"/> (or by etcd).</summary>
    internal static V2Event ReadEvent(JsonElement element) =>
        new(
            element.GetProperty("action").GetString()!,
            ReadNode(element.GetProperty("node")),
            element.TryGetProperty("prevNode", out JsonElement prev) && prev.ValueKind == JsonValueKind.Object ? ReadNode(prev) : null,
            etcdIndex: 0,
            refresh: element.TryGetProperty("refresh", out JsonElement refresh) && refresh.GetBoolean());

    internal static V2Node ReadNode(JsonElement element)
    {
        List<V2Node>? nodes = null;
        if (element.TryGetProperty("nodes", out JsonElement children) && children.ValueKind == JsonValueKind.Array)
        {
            nodes = [.. children.EnumerateArray().Select(ReadNode)];
        }

        return new V2Node
        {
            Key = element.TryGetProperty("key", out JsonElement key) ? key.GetString()! : "",
            Value = element.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null,
            Dir = element.TryGetProperty("dir", out JsonElement dir) && dir.GetBoolean(),
            Expiration = element.TryGetProperty("expiration", out JsonElement expiration) && expiration.ValueKind == JsonValueKind.String
                ? GoJson.ParseTime(expiration.GetString()!)
                : null,
            Ttl = element.TryGetProperty("ttl", out JsonElement ttl) ? ttl.GetInt64() : 0,
            Nodes = nodes,
            ModifiedIndex = element.TryGetProperty("modifiedIndex", out JsonElement modified) ? modified.GetUInt64() : 0,
            CreatedIndex = element.TryGetProperty("createdIndex", out JsonElement created) ? created.GetUInt64() : 0,
        };
    }

    private static void Name(StringBuilder builder, string name, ref bool first)
    {
        if (!first)
        {
            builder.Append(',');
        }

        first = false;
        builder.Append('"').Append(name).Append("\":");
    }

    private static string TrimPrefix(string value, string prefix) =>
        prefix.Length != 0 && value.StartsWith(prefix, StringComparison.Ordinal) ? value[prefix.Length..] : value;
}
