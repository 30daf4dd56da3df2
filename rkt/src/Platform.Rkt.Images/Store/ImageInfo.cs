using System.Text.Json.Serialization;

namespace Platform.Rkt.Images.Store;

/// <summary>How an image is stored.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ImageFormat>))]
public enum ImageFormat
{
    /// <summary>An appc ACI: one blob, the uncompressed tar, keyed by its SHA-512 (the image ID).</summary>
    Aci,

    /// <summary>An OCI or Docker image: manifest, config and layer blobs keyed by their SHA-256.</summary>
    Oci,
}

/// <summary>
/// One image in the store's index. <see cref="Id"/> is the store key (<c>sha512-</c> + 64 hex for
/// ACIs, as rkt prints them; <c>sha256-</c> + 64 hex of the manifest for OCI, of the config for
/// <c>docker save</c> archives). The index record is written last on import, so an image is either
/// fully present or absent.
/// </summary>
public sealed record ImageInfo
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The full digest (<c>sha512-</c> + 128 hex for ACIs).</summary>
    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("format")]
    public required ImageFormat Format { get; init; }

    /// <summary>The appc name (<c>example.com/app</c>; Docker images: <c>registry-1.docker.io/library/busybox</c>).</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Labels: <c>version</c> (the Docker tag), <c>os</c>, <c>arch</c>, …</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("importTime")]
    public DateTimeOffset ImportTime { get; init; }

    [JsonPropertyName("lastUsed")]
    public DateTimeOffset LastUsed { get; init; }

    /// <summary>Bytes of the image's blobs in the store.</summary>
    [JsonPropertyName("size")]
    public long Size { get; init; }

    /// <summary>Every blob key the image needs; a blob is removed only when no image lists it.</summary>
    [JsonPropertyName("blobs")]
    public IReadOnlyList<string> Blobs { get; init; } = [];

    /// <summary>OCI: layer blob keys, lowest first. ACI: empty (the single blob is <see cref="Id"/>).</summary>
    [JsonPropertyName("layers")]
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Where the image came from (URL, path or reference), for display and pull policies.</summary>
    [JsonPropertyName("source")]
    public string? Source { get; init; }

    /// <summary><c>name:version</c> as rkt's <c>image list</c> shows it.</summary>
    [JsonIgnore]
    public string DisplayName => Labels.TryGetValue("version", out string? version) ? $"{Name}:{version}" : Name;
}

/// <summary>What the store remembers about a URL it downloaded, for <c>--pull-policy=new</c> and ETags.</summary>
public sealed record RemoteInfo
{
    [JsonPropertyName("url")]
    public required string Url { get; init; }

    [JsonPropertyName("imageId")]
    public required string ImageId { get; init; }

    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    [JsonPropertyName("downloadTime")]
    public DateTimeOffset DownloadTime { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageInfo))]
[JsonSerializable(typeof(RemoteInfo))]
[JsonSerializable(typeof(Trees.TreeInfo))]
internal sealed partial class StoreJsonContext : JsonSerializerContext
{
}
