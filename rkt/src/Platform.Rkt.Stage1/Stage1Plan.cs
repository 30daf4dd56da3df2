using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Stage1;

/// <summary>
/// Everything stage1 needs, resolved by stage0 (users and groups looked up in the image, environment
/// merged, capabilities computed, volume sources checked): <c>$pod/stage1/plan.json</c>. Stage1 does no
/// policy, only mechanism, so it starts fast and has nothing to get wrong twice.
/// </summary>
public sealed class Stage1Plan
{
    [JsonPropertyName("uuid")]
    public string Uuid { get; set; } = string.Empty;

    [JsonPropertyName("hostname")]
    public string Hostname { get; set; } = string.Empty;

    /// <summary><c>host</c>, <c>none</c> or <c>netns</c> (a namespace bind-mounted at <c>$pod/netns</c>, set up by CNI).</summary>
    [JsonPropertyName("network")]
    public string Network { get; set; } = "none";

    /// <summary>Content of <c>/etc/hosts</c> for every app, or null to keep the image's.</summary>
    [JsonPropertyName("hosts")]
    public string? Hosts { get; set; }

    /// <summary>Content of <c>/etc/resolv.conf</c>, or null to keep the image's.</summary>
    [JsonPropertyName("resolvConf")]
    public string? ResolvConf { get; set; }

    /// <summary>The app gets stage0's terminal as stdin/stdout/stderr; output is not captured.</summary>
    [JsonPropertyName("interactive")]
    public bool Interactive { get; set; }

    [JsonPropertyName("apps")]
    public List<Stage1App> Apps { get; set; } = [];

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Stage1JsonContext.Default.Stage1Plan);

    public static Stage1Plan Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, Stage1JsonContext.Default.Stage1Plan) ?? throw new InvalidDataException("stage1 plan is null");
}

/// <summary>One app as stage1 launches it.</summary>
public sealed class Stage1App
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The rendered tree's rootfs (overlay lower directory, never written).</summary>
    [JsonPropertyName("treeRootfs")]
    public string TreeRootfs { get; set; } = string.Empty;

    [JsonPropertyName("exec")]
    public List<string> Exec { get; set; } = [];

    /// <summary><c>NAME=value</c>, complete (PATH, AC_APP_NAME, container=rkt, image and user environment).</summary>
    [JsonPropertyName("environment")]
    public List<string> Environment { get; set; } = [];

    [JsonPropertyName("uid")]
    public int Uid { get; set; }

    [JsonPropertyName("gid")]
    public int Gid { get; set; }

    [JsonPropertyName("supplementaryGids")]
    public List<int> SupplementaryGids { get; set; } = [];

    [JsonPropertyName("workingDirectory")]
    public string WorkingDirectory { get; set; } = "/";

    /// <summary>Capability numbers kept; every other one leaves the bounding set.</summary>
    [JsonPropertyName("capabilities")]
    public List<int> Capabilities { get; set; } = [];

    [JsonPropertyName("noNewPrivileges")]
    public bool NoNewPrivileges { get; set; }

    [JsonPropertyName("readOnlyRootfs")]
    public bool ReadOnlyRootfs { get; set; }

    [JsonPropertyName("mounts")]
    public List<Stage1Mount> Mounts { get; set; } = [];

    [JsonPropertyName("memoryBytes")]
    public long? MemoryBytes { get; set; }

    [JsonPropertyName("cpuMillicores")]
    public long? CpuMillicores { get; set; }
}

/// <summary>A bind mount into an app: a host path or an empty volume's directory.</summary>
public sealed class Stage1Mount
{
    /// <summary>An absolute host path, or a path relative to the pod directory (empty volumes).</summary>
    [JsonPropertyName("source")]
    public string Source { get; set; } = string.Empty;

    /// <summary>Absolute path inside the app.</summary>
    [JsonPropertyName("target")]
    public string Target { get; set; } = string.Empty;

    [JsonPropertyName("readOnly")]
    public bool ReadOnly { get; set; }

    [JsonPropertyName("recursive")]
    public bool Recursive { get; set; } = true;
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PodManifest))]
[JsonSerializable(typeof(Stage1Plan))]
[JsonSerializable(typeof(App))]
internal sealed partial class Stage1JsonContext : JsonSerializerContext
{
}
