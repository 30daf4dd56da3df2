using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Oci;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.Oci;

/// <summary>
/// OCI image layouts (<c>oci:DIR[:REF]</c>) and OCI archives, tars of a layout
/// (<c>oci-archive:FILE[:REF]</c>). REF selects a manifest by its
/// <c>org.opencontainers.image.ref.name</c>; without one the layout must hold a single image. Nested
/// indexes are resolved to this machine's platform. Archives are unpacked under the extraction rules
/// into the import's staging directory, and members are read only through in-root resolution.
/// OCI images carry no signatures: fetching them needs <c>--insecure-options=image</c>, as rkt required
/// for Docker images.
/// </summary>
internal sealed class OciSource : IImageSource
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public IReadOnlyList<string> Schemes { get; } = ["oci", "oci-archive"];

    public async Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        RequireInsecureImage(context, reference.Original);
        (string path, string? refName) = SplitPathAndRef(reference.Location);
        path = Path.GetFullPath(path);
        if (reference.Scheme == "oci")
        {
            if (!Directory.Exists(path))
            {
                throw new FetchException($"OCI layout {path} does not exist");
            }

            return await ImportLayoutAsync(path, refName, Path.GetFileName(path), reference.Original, context, cancellationToken).ConfigureAwait(false);
        }

        if (!File.Exists(path))
        {
            throw new FetchException($"OCI archive {path} does not exist");
        }

        using ITempDirectory unpacked = context.Store.CreateTempDirectory();
        Unpack(path, unpacked.Path, context.Store.Options.Extraction);
        string name = Path.GetFileNameWithoutExtension(path);
        return await ImportLayoutAsync(unpacked.Path, refName, name, reference.Original, context, cancellationToken).ConfigureAwait(false);
    }

    internal static void RequireInsecureImage(FetchContext context, string image)
    {
        if ((context.Options.Insecure & InsecureOptions.Image) == 0)
        {
            throw new Trust.SignatureException($"{image}: OCI and Docker images carry no appc signature; fetch them with --insecure-options=image");
        }
    }

    /// <summary>Unpacks an archive (any compression) under the extraction rules, never setuid or owned.</summary>
    internal static TreeWriter Unpack(string archive, string destination, ExtractionPolicy storePolicy)
    {
        ExtractionPolicy policy = storePolicy with { AllowSetuid = false, PreserveOwnership = false };
        var writer = new TreeWriter(destination, policy);
        using FileStream file = File.OpenRead(archive);
        using Stream tar = Compression.OpenDecompressed(file, policy.MaxUncompressedBytes, out _);
        OciLayer.Apply(tar, policy, writer);
        writer.Finish();
        return writer;
    }

    internal static (string Path, string? Ref) SplitPathAndRef(string location)
    {
        int colon = location.LastIndexOf(':');
        if (colon > 0 && !location[(colon + 1)..].Contains('/', StringComparison.Ordinal))
        {
            return (location[..colon], location[(colon + 1)..]);
        }

        return (location, null);
    }

    private static async Task<ImageInfo> ImportLayoutAsync(string root, string? refName, string defaultName, string source, FetchContext context, CancellationToken cancellationToken)
    {
        var reader = new TreeWriter(root, context.Store.Options.Extraction);
        byte[] ReadMember(string relative) => File.ReadAllBytes(reader.ResolveExistingFile(relative));
        if (!File.Exists(reader.ResolveExistingFile("oci-layout")))
        {
            throw new InvalidImageException("not an OCI image layout: no oci-layout file");
        }

        ImageIndex index = ParseIndex(ReadMember("index.json"));
        Descriptor chosen = Choose(index, refName, source);
        string? fullRef = refName ?? chosen.Annotations?.GetValueOrDefault(RefNameAnnotation);
        string blobPath(string digest)
        {
            ImageDigest d = ImageDigest.Parse(digest);
            return reader.ResolveExistingFile($"blobs/{d.Algorithm}/{d.Hex}");
        }

        for (int depth = 0; MediaTypes.IsIndex(chosen.MediaType); depth++)
        {
            if (depth > 4)
            {
                throw new InvalidImageException("image indexes nest too deeply");
            }

            chosen = SelectPlatform(ParseIndex(File.ReadAllBytes(blobPath(chosen.Digest))), context.Options, source);
        }

        byte[] manifestBytes = await File.ReadAllBytesAsync(blobPath(chosen.Digest), cancellationToken).ConfigureAwait(false);
        ImageDigest manifestDigest = ImageDigest.Parse(chosen.Digest);
        using (var hash = manifestDigest.CreateHash())
        {
            hash.AppendData(manifestBytes);
            if (!manifestDigest.Matches(hash.GetHashAndReset()))
            {
                throw new InvalidImageException($"manifest {chosen.Digest} does not match its digest");
            }
        }

        (string name, string? tag) = NameAndTag(fullRef, defaultName);
        return await OciImporter.ImportAsync(
            context.Store,
            source,
            name,
            tag,
            manifestBytes,
            manifestDigest,
            (descriptor, destination, _) =>
            {
                File.Copy(blobPath(descriptor.Digest), destination);
                return Task.CompletedTask;
            },
            context.Progress,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A full reference (<c>docker.io/library/busybox:1.36</c>) names the image; a bare tag labels it.</summary>
    internal static (string Name, string? Tag) NameAndTag(string? refName, string defaultName)
    {
        if (refName is not null && (refName.Contains('/', StringComparison.Ordinal) || refName.Contains(':', StringComparison.Ordinal)))
        {
            DockerReference docker = DockerReference.Parse(refName);
            return (docker.AppcName, docker.Tag);
        }

        string name = AppcNames.SanitizeAcIdentifier(defaultName);
        return (name.Length == 0 ? "oci-image" : name, refName ?? "latest");
    }

    private static ImageIndex ParseIndex(byte[] json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, OciJsonContext.Default.ImageIndex) ?? throw new InvalidImageException("image index is null");
        }
        catch (JsonException e)
        {
            throw new InvalidImageException($"image index is not valid JSON: {e.Message}", e);
        }
    }

    private static Descriptor Choose(ImageIndex index, string? refName, string source)
    {
        if (refName is not null)
        {
            return index.Manifests.FirstOrDefault(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation) is { } name && (name == refName || name.EndsWith(":" + refName, StringComparison.Ordinal)))
                ?? throw new FetchException($"{source}: no image with reference \"{refName}\" in the layout");
        }

        return index.Manifests.Count switch
        {
            1 => index.Manifests[0],
            0 => throw new InvalidImageException($"{source}: the layout holds no image"),
            _ => throw new FetchException($"{source}: the layout holds {index.Manifests.Count} images; choose one with :REF ({string.Join(", ", index.Manifests.Select(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation) ?? m.Digest))})"),
        };
    }

    /// <summary>The manifest for this machine's OS and architecture (Go spelling in OCI: amd64, arm64).</summary>
    internal static Descriptor SelectPlatform(ImageIndex index, FetchOptions options, string source)
    {
        string arch = options.Arch switch
        {
            "aarch64" => "arm64",
            "i386" => "386",
            "armv7l" => "arm",
            string a => a,
        };
        return index.Manifests.FirstOrDefault(m => m.Platform is { } p && p.Os == options.Os && p.Architecture == arch)
            ?? (index.Manifests.Count == 1 && index.Manifests[0].Platform is null ? index.Manifests[0] : null)
            ?? throw new FetchException($"{source}: no manifest for {options.Os}/{arch} in the index");
    }
}
