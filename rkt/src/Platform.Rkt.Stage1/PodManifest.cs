using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Stage1;

/// <summary>
/// The appc pod manifest (appc/spec <c>spec/pods.md</c>) stage0 writes to <c>$pod/pod</c> and stage1
/// honours: apps (image, app overrides, mounts, read-only root), volumes, isolators, ports, annotations.
/// </summary>
public sealed class PodManifest
{
    [JsonPropertyName("acVersion")]
    public string AcVersion { get; set; } = AppcSpec.Version;

    [JsonPropertyName("acKind")]
    public string AcKind { get; set; } = "PodManifest";

    [JsonPropertyName("apps")]
    public List<RuntimeApp> Apps { get; set; } = [];

    [JsonPropertyName("volumes")]
    public List<Volume>? Volumes { get; set; }

    [JsonPropertyName("isolators")]
    public List<Isolator>? Isolators { get; set; }

    [JsonPropertyName("annotations")]
    public List<Label>? Annotations { get; set; }

    [JsonPropertyName("ports")]
    public List<ExposedPort>? Ports { get; set; }

    [JsonPropertyName("userAnnotations")]
    public Dictionary<string, string>? UserAnnotations { get; set; }

    [JsonPropertyName("userLabels")]
    public Dictionary<string, string>? UserLabels { get; set; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Stage1JsonContext.Default.PodManifest);

    /// <exception cref="InvalidDataException">Not a pod manifest.</exception>
    public static PodManifest Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            PodManifest manifest = JsonSerializer.Deserialize(json, Stage1JsonContext.Default.PodManifest)
                ?? throw new InvalidDataException("pod manifest is null");
            return manifest.AcKind == "PodManifest" ? manifest : throw new InvalidDataException($"acKind is \"{manifest.AcKind}\", not PodManifest");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"pod manifest is not valid JSON: {e.Message}", e);
        }
    }
}

/// <summary>One app of a pod.</summary>
public sealed class RuntimeApp
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("image")]
    public RuntimeImage Image { get; set; } = new();

    [JsonPropertyName("app")]
    public App? App { get; set; }

    [JsonPropertyName("readOnlyRootFS")]
    public bool ReadOnlyRootFS { get; set; }

    [JsonPropertyName("mounts")]
    public List<AppMount>? Mounts { get; set; }

    [JsonPropertyName("annotations")]
    public List<Label>? Annotations { get; set; }
}

public sealed class RuntimeImage
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("labels")]
    public List<Label>? Labels { get; set; }
}

/// <summary>A volume mounted into an app at <see cref="Path"/>.</summary>
public sealed class AppMount
{
    [JsonPropertyName("volume")]
    public string Volume { get; set; } = string.Empty;

    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;
}

/// <summary>A pod volume: <c>host</c> (a host directory) or <c>empty</c> (a fresh directory of the pod).</summary>
public sealed class Volume
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "empty";

    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("readOnly")]
    public bool? ReadOnly { get; set; }

    [JsonPropertyName("recursive")]
    public bool? Recursive { get; set; }

    [JsonPropertyName("mode")]
    public string? Mode { get; set; }

    [JsonPropertyName("uid")]
    public int? Uid { get; set; }

    [JsonPropertyName("gid")]
    public int? Gid { get; set; }
}

/// <summary>A pod port forwarded from the host (<c>--port</c>).</summary>
public sealed class ExposedPort
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("hostPort")]
    public int HostPort { get; set; }

    [JsonPropertyName("hostIP")]
    public string? HostIp { get; set; }
}
