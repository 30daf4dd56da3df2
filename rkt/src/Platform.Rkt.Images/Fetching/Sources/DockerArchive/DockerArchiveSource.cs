using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching.Sources.Oci;
using Platform.Rkt.Images.Oci;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.DockerArchive;

/// <summary>
/// <c>docker save</c> archives (<c>docker-archive:FILE[:REPO:TAG]</c>): <c>manifest.json</c> lists each
/// image's config and layer tars. There is no registry manifest, so the image ID is the config's
/// sha256 (Docker's own image ID); layers are stored by the sha256 of their files and checked against
/// the config's diff IDs. Newer <c>docker save</c> output (an OCI layout inside) keeps the same
/// <c>manifest.json</c>, pointing into <c>blobs/sha256/</c>, and is read the same way.
/// </summary>
internal sealed class DockerArchiveSource : IImageSource
{
    public IReadOnlyList<string> Schemes { get; } = ["docker-archive"];

    public async Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        OciSource.RequireInsecureImage(context, reference.Original);
        (string path, string? tagRef) = SplitArchiveRef(reference.Location);
        path = Path.GetFullPath(path);
        if (!File.Exists(path))
        {
            throw new FetchException($"docker archive {path} does not exist");
        }

        using ITempDirectory unpacked = context.Store.CreateTempDirectory();
        Archives.TreeWriter reader = OciSource.Unpack(path, unpacked.Path, context.Store.Options.Extraction);
        List<DockerArchiveEntry> entries;
        try
        {
            entries = JsonSerializer.Deserialize(File.ReadAllBytes(reader.ResolveExistingFile("manifest.json")), OciJsonContext.Default.ListDockerArchiveEntry) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidImageException($"docker archive manifest.json is not valid JSON: {e.Message}", e);
        }

        DockerArchiveEntry entry = tagRef is null
            ? entries.Count == 1 ? entries[0] : throw new FetchException($"{reference.Original}: the archive holds {entries.Count} images; choose one with :REPO:TAG")
            : entries.FirstOrDefault(e => e.RepoTags?.Any(t => t == tagRef || DockerReference.Parse(t) == DockerReference.Parse(tagRef)) == true)
                ?? throw new FetchException($"{reference.Original}: no image tagged {tagRef} in the archive");
        string? repoTag = tagRef ?? entry.RepoTags?.FirstOrDefault();
        (string name, string tag) = repoTag is null
            ? (AppcNames.SanitizeAcIdentifier(Path.GetFileNameWithoutExtension(path)), "latest")
            : (DockerReference.Parse(repoTag).AppcName, DockerReference.Parse(repoTag).Tag);

        // A synthetic manifest ties config and layer files to digests the importer verifies.
        string configFile = reader.ResolveExistingFile(entry.Config);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var manifest = new OciManifest
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciManifest,
            Config = Describe(configFile, files, MediaTypes.OciConfig),
            Layers = entry.Layers.Select(l => Describe(reader.ResolveExistingFile(l), files, "application/vnd.oci.image.layer.v1.tar")).ToList(),
        };
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, OciJsonContext.Default.OciManifest);
        return await OciImporter.ImportAsync(
            context.Store,
            reference.Original,
            name,
            tag,
            manifestBytes,
            manifestDigest: null,
            (descriptor, destination, _) =>
            {
                File.Copy(files[descriptor.Digest], destination);
                return Task.CompletedTask;
            },
            context.Progress,
            cancellationToken).ConfigureAwait(false);
    }

    private static Descriptor Describe(string file, Dictionary<string, string> files, string mediaType)
    {
        using FileStream stream = File.OpenRead(file);
        string digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        files[digest] = file;
        return new Descriptor { MediaType = mediaType, Digest = digest, Size = stream.Length };
    }

    /// <summary><c>FILE[:REPO[:TAG]]</c>: the reference starts after the first colon that follows the file name.</summary>
    private static (string Path, string? Ref) SplitArchiveRef(string location)
    {
        int search = location.LastIndexOf('/') + 1;
        int colon = location.IndexOf(':', search);
        return colon > 0 ? (location[..colon], location[(colon + 1)..]) : (location, null);
    }
}
