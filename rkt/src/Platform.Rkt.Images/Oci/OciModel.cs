using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Rkt.Images.Oci;

/// <summary>OCI image-spec media types and their Docker v2 schema 2 equivalents.</summary>
public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string? mediaType) => mediaType is OciManifest or DockerManifest;
}

/// <summary>A content descriptor (image-spec <c>descriptor.md</c>).</summary>
public sealed class Descriptor
{
    [JsonPropertyName("mediaType")]
    public string? MediaType { get; set; }

    [JsonPropertyName("digest")]
    public string Digest { get; set; } = string.Empty;

    [JsonPropertyName("size")]
    public long Size { get; set; }

    [JsonPropertyName("urls")]
    public List<string>? Urls { get; set; }

    [JsonPropertyName("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }

    [JsonPropertyName("platform")]
    public Platform? Platform { get; set; }
}

public sealed class Platform
{
    [JsonPropertyName("architecture")]
    public string Architecture { get; set; } = string.Empty;

    [JsonPropertyName("os")]
    public string Os { get; set; } = string.Empty;

    [JsonPropertyName("variant")]
    public string? Variant { get; set; }
}

/// <summary>An image index or Docker manifest list.</summary>
public sealed class ImageIndex
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; set; }

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; set; }

    [JsonPropertyName("manifests")]
    public List<Descriptor> Manifests { get; set; } = [];
}

/// <summary>An image manifest (OCI or Docker v2 schema 2).</summary>
public sealed class OciManifest
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; set; }

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; set; }

    [JsonPropertyName("config")]
    public Descriptor Config { get; set; } = new();

    [JsonPropertyName("layers")]
    public List<Descriptor> Layers { get; set; } = [];

    [JsonPropertyName("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>The parts of an image config (image-spec <c>config.md</c>) a runtime uses.</summary>
public sealed class ImageConfig
{
    [JsonPropertyName("architecture")]
    public string? Architecture { get; set; }

    [JsonPropertyName("os")]
    public string? Os { get; set; }

    [JsonPropertyName("config")]
    public ContainerConfig? Config { get; set; }

    [JsonPropertyName("rootfs")]
    public RootFs? RootFs { get; set; }
}

public sealed class ContainerConfig
{
    [JsonPropertyName("User")]
    public string? User { get; set; }

    [JsonPropertyName("Env")]
    public List<string>? Env { get; set; }

    [JsonPropertyName("Entrypoint")]
    public List<string>? Entrypoint { get; set; }

    [JsonPropertyName("Cmd")]
    public List<string>? Cmd { get; set; }

    [JsonPropertyName("WorkingDir")]
    public string? WorkingDir { get; set; }

    [JsonPropertyName("ExposedPorts")]
    public Dictionary<string, JsonElement>? ExposedPorts { get; set; }

    [JsonPropertyName("Labels")]
    public Dictionary<string, string>? Labels { get; set; }
}

public sealed class RootFs
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("diff_ids")]
    public List<string> DiffIds { get; set; } = [];
}

/// <summary>One entry of a <c>docker save</c> archive's <c>manifest.json</c>.</summary>
public sealed class DockerArchiveEntry
{
    [JsonPropertyName("Config")]
    public string Config { get; set; } = string.Empty;

    [JsonPropertyName("RepoTags")]
    public List<string>? RepoTags { get; set; }

    [JsonPropertyName("Layers")]
    public List<string> Layers { get; set; } = [];
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(List<DockerArchiveEntry>))]
internal sealed partial class OciJsonContext : JsonSerializerContext
{
}
