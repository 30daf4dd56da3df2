using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Rkt.Images.Appc;

/// <summary>
/// The appc image manifest (appc/spec <c>spec/aci.md#image-manifest-schema</c>), the <c>manifest</c>
/// file of an ACI. OCI and Docker images get one synthesised from their config, so pods see every
/// image the same way. Unknown fields are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed class ImageManifest
{
    [JsonPropertyName("acKind")]
    public string AcKind { get; set; } = "ImageManifest";

    [JsonPropertyName("acVersion")]
    public string AcVersion { get; set; } = AppcSpec.Version;

    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("labels")]
    public List<Label>? Labels { get; set; }

    [JsonPropertyName("app")]
    public App? App { get; set; }

    [JsonPropertyName("dependencies")]
    public List<Dependency>? Dependencies { get; set; }

    [JsonPropertyName("pathWhitelist")]
    public List<string>? PathWhitelist { get; set; }

    [JsonPropertyName("annotations")]
    public List<Label>? Annotations { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The value of label <paramref name="name"/>, or null.</summary>
    public string? GetLabel(string name) => Labels?.FirstOrDefault(l => l.Name == name)?.Value;

    /// <summary>The value of annotation <paramref name="name"/>, or null.</summary>
    public string? GetAnnotation(string name) => Annotations?.FirstOrDefault(l => l.Name == name)?.Value;

    /// <summary>Parses manifest JSON; structural validation is <see cref="ManifestValidator"/>'s job.</summary>
    /// <exception cref="InvalidImageException">Not JSON or not shaped like an image manifest.</exception>
    public static ImageManifest Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, AppcJsonContext.Default.ImageManifest)
                ?? throw new InvalidImageException("image manifest is null");
        }
        catch (JsonException e)
        {
            throw new InvalidImageException($"image manifest is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>UTF-8 JSON, indented when <paramref name="pretty"/>.</summary>
    public byte[] ToJson(bool pretty = false) =>
        JsonSerializer.SerializeToUtf8Bytes(this, pretty ? AppcJsonContext.Pretty.ImageManifest : AppcJsonContext.Default.ImageManifest);
}

/// <summary>A name/value pair: labels, annotations, environment variables.</summary>
public sealed class Label
{
    public Label()
    {
    }

    public Label(string name, string value)
    {
        Name = name;
        Value = value;
    }

    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("value")]
    public string Value { get; set; } = string.Empty;
}

/// <summary>What to run from an image (<c>app</c> in the manifest).</summary>
public sealed class App
{
    [JsonPropertyName("exec")]
    public List<string>? Exec { get; set; }

    [JsonPropertyName("user")]
    public string User { get; set; } = string.Empty;

    [JsonPropertyName("group")]
    public string Group { get; set; } = string.Empty;

    [JsonPropertyName("supplementaryGIDs")]
    public List<int>? SupplementaryGids { get; set; }

    [JsonPropertyName("eventHandlers")]
    public List<EventHandler>? EventHandlers { get; set; }

    [JsonPropertyName("workingDirectory")]
    public string? WorkingDirectory { get; set; }

    [JsonPropertyName("environment")]
    public List<Label>? Environment { get; set; }

    [JsonPropertyName("isolators")]
    public List<Isolator>? Isolators { get; set; }

    [JsonPropertyName("mountPoints")]
    public List<MountPoint>? MountPoints { get; set; }

    [JsonPropertyName("ports")]
    public List<Port>? Ports { get; set; }

    [JsonPropertyName("userAnnotations")]
    public Dictionary<string, string>? UserAnnotations { get; set; }

    [JsonPropertyName("userLabels")]
    public Dictionary<string, string>? UserLabels { get; set; }
}

/// <summary>A <c>pre-start</c> or <c>post-stop</c> hook.</summary>
public sealed class EventHandler
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("exec")]
    public List<string>? Exec { get; set; }
}

/// <summary>An isolator; its value's shape depends on the name and is kept as raw JSON.</summary>
public sealed class Isolator
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("value")]
    public JsonElement Value { get; set; }
}

public sealed class MountPoint
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;

    [JsonPropertyName("readOnly")]
    public bool ReadOnly { get; set; }
}

public sealed class Port
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("protocol")]
    public string Protocol { get; set; } = string.Empty;

    [JsonPropertyName("port")]
    public int Number { get; set; }

    [JsonPropertyName("count")]
    public int Count { get; set; } = 1;

    [JsonPropertyName("socketActivated")]
    public bool SocketActivated { get; set; }
}

/// <summary>An image this image is rendered on top of.</summary>
public sealed class Dependency
{
    [JsonPropertyName("imageName")]
    public string ImageName { get; set; } = string.Empty;

    [JsonPropertyName("imageID")]
    public string? ImageId { get; set; }

    [JsonPropertyName("labels")]
    public List<Label>? Labels { get; set; }

    [JsonPropertyName("size")]
    public long? Size { get; set; }
}

/// <summary>Constants of the appc spec version this code follows.</summary>
public static class AppcSpec
{
    /// <summary>The spec version Debian's actool implements, written into manifests we create.</summary>
    public const string Version = "0.8.11";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageManifest))]
internal sealed partial class AppcJsonContext : JsonSerializerContext
{
    private static AppcJsonContext? s_pretty;

    /// <summary>The same contract, indented (for <c>cat-manifest --pretty-print</c>).</summary>
    public static AppcJsonContext Pretty => s_pretty ??= new AppcJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
