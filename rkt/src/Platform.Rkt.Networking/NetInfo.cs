using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Platform.Rkt.Networking;

/// <summary>
/// One entry of <c>&lt;pod&gt;/net-info.json</c>. The first seven fields are rkt's (<c>netName</c>,
/// <c>netConf</c>, <c>pluginPath</c>, <c>ifName</c>, <c>ip</c>, <c>args</c>, <c>mask</c>), so tools that
/// read rkt's file still work; the rest is what DEL needs without re-reading net.d: the effective plugin
/// list, the runtime config (port mappings), the namespace, CNI_PATH and the ADD result.
/// </summary>
internal sealed class NetInfoRecord
{
    [JsonPropertyName("netName")]
    public string NetName { get; set; } = string.Empty;

    [JsonPropertyName("netConf")]
    public string NetConf { get; set; } = string.Empty;

    [JsonPropertyName("pluginPath")]
    public string PluginPath { get; set; } = string.Empty;

    [JsonPropertyName("ifName")]
    public string IfName { get; set; } = string.Empty;

    [JsonPropertyName("ip")]
    public string? Ip { get; set; }

    [JsonPropertyName("args")]
    public string Args { get; set; } = string.Empty;

    [JsonPropertyName("mask")]
    public string? Mask { get; set; }

    [JsonPropertyName("prefixLength")]
    public int PrefixLength { get; set; }

    [JsonPropertyName("gateway")]
    public string? Gateway { get; set; }

    [JsonPropertyName("containerId")]
    public string ContainerId { get; set; } = string.Empty;

    [JsonPropertyName("netns")]
    public string Netns { get; set; } = string.Empty;

    [JsonPropertyName("cniPath")]
    public string CniPath { get; set; } = string.Empty;

    /// <summary>The plugin list exactly as ADD ran it (host-local dataDir and portmap filled in).</summary>
    [JsonPropertyName("config")]
    public JsonObject Config { get; set; } = [];

    [JsonPropertyName("runtimeConfig")]
    public JsonObject? RuntimeConfig { get; set; }

    /// <summary>The last plugin's ADD result; DEL gets it as prevResult (CNI 0.4.0+).</summary>
    [JsonPropertyName("result")]
    public JsonObject? Result { get; set; }

    /// <summary>False from just before ADD until it succeeded: a crash in between still gets a DEL.</summary>
    [JsonPropertyName("complete")]
    public bool Complete { get; set; }
}

/// <summary>Reads and writes <c>net-info.json</c> in a pod directory (atomic rename, fsynced).</summary>
public static class NetInfo
{
    /// <summary>The file name inside the pod directory (rkt's).</summary>
    public const string FileName = "net-info.json";

    /// <summary>The networks a pod is attached to, as recorded by setup; empty when nothing is recorded.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not what setup writes.</exception>
    public static IReadOnlyList<NetworkAttachment> Load(string podDirectory)
    {
        return Read(podDirectory)
            .Where(r => r.Complete && r.Ip is not null)
            .Select(r => new NetworkAttachment(r.NetName, r.IfName, $"{r.Ip}/{r.PrefixLength}", r.Gateway))
            .ToList();
    }

    internal static List<NetInfoRecord> Read(string podDirectory)
    {
        string path = Path.Combine(podDirectory, FileName);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, NetInfoJsonContext.Default.ListNetInfoRecord) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a net-info file: {e.Message}", e);
        }
    }

    internal static void Write(string podDirectory, List<NetInfoRecord> records)
    {
        string path = Path.Combine(podDirectory, FileName);
        if (records.Count == 0)
        {
            File.Delete(path);
            return;
        }

        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, records, NetInfoJsonContext.Default.ListNetInfoRecord);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    internal static string MaskOf(int prefixLength)
    {
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        return new IPAddress([(byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask]).ToString();
    }
}

/// <summary>Source-generated (no reflection: rkt is published NativeAOT).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<NetInfoRecord>))]
internal sealed partial class NetInfoJsonContext : JsonSerializerContext
{
}
