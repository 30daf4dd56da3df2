using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Oci;

/// <summary>Fetches one blob described by <paramref name="descriptor"/> into <paramref name="path"/>.</summary>
internal delegate Task BlobFetcher(Descriptor descriptor, string path, CancellationToken cancellationToken);

/// <summary>
/// Imports an OCI or Docker image natively (sha256 content addressing, no conversion): every blob is
/// verified against its descriptor digest, every layer is decompressed once to check its entries
/// (<see cref="OciLayer"/>) and its diff ID against the config, then the blobs, a synthesised appc
/// manifest and the index record are committed. Layers already stored are not fetched again.
/// </summary>
internal static class OciImporter
{
    public static async Task<ImageInfo> ImportAsync(
        IImageStore store,
        string source,
        string name,
        string? tag,
        byte[] manifestBytes,
        ImageDigest? manifestDigest,
        BlobFetcher fetchBlob,
        IProgressSink progress,
        CancellationToken cancellationToken)
    {
        OciManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(manifestBytes, OciJsonContext.Default.OciManifest) ?? throw new InvalidImageException("image manifest is null");
        }
        catch (JsonException e)
        {
            throw new InvalidImageException($"image manifest is not valid JSON: {e.Message}", e);
        }

        if (manifest.SchemaVersion != 2)
        {
            throw new InvalidImageException($"unsupported image manifest schemaVersion {manifest.SchemaVersion} (want 2)");
        }

        using IImageImport import = store.BeginImport();
        ExtractionPolicy policy = store.Options.Extraction;
        string configPath = Path.Combine(import.TempDirectory, "config");
        ImageDigest configDigest = await FetchVerifiedAsync(manifest.Config, configPath, fetchBlob, cancellationToken).ConfigureAwait(false);
        ImageConfig config;
        try
        {
            config = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(configPath, cancellationToken).ConfigureAwait(false), OciJsonContext.Default.ImageConfig)
                ?? throw new InvalidImageException("image config is null");
        }
        catch (JsonException e)
        {
            throw new InvalidImageException($"image config is not valid JSON: {e.Message}", e);
        }

        List<string> diffIds = config.RootFs?.DiffIds ?? [];
        if (diffIds.Count != manifest.Layers.Count)
        {
            throw new InvalidImageException($"image config lists {diffIds.Count} diff IDs for {manifest.Layers.Count} layers");
        }

        var layerKeys = new List<string>();
        long size = new FileInfo(configPath).Length + manifestBytes.Length;
        for (int i = 0; i < manifest.Layers.Count; i++)
        {
            Descriptor layer = manifest.Layers[i];
            if (!ImageDigest.TryParse(layer.Digest, out ImageDigest layerDigest))
            {
                throw new InvalidImageException($"layer {i} has an invalid digest \"{layer.Digest}\"");
            }

            size += layer.Size;
            if (store.Get(layerDigest.StoreKey) is null && File.Exists(store.BlobPath(layerDigest.StoreKey)))
            {
                layerKeys.Add(layerDigest.StoreKey); // shared with a stored image: verified when it came in.
                progress.Message($"image: layer {layerDigest.OciString[..19]} already in the store");
                continue;
            }

            string layerPath = Path.Combine(import.TempDirectory, $"layer-{i}");
            await FetchVerifiedAsync(layer, layerPath, fetchBlob, cancellationToken).ConfigureAwait(false);
            CheckLayer(layerPath, diffIds[i], i, policy);
            layerKeys.Add(import.AddBlob(layerPath, layerDigest));
            progress.Progress("Importing layers", i + 1, manifest.Layers.Count);
        }

        string configKey = import.AddBlob(configPath, configDigest);
        var blobs = new List<string> { configKey };
        ImageDigest id = configDigest;
        if (manifestDigest is { } md)
        {
            string manifestPath = Path.Combine(import.TempDirectory, "manifest");
            await File.WriteAllBytesAsync(manifestPath, manifestBytes, cancellationToken).ConfigureAwait(false);
            blobs.Add(import.AddBlob(manifestPath, md));
            id = md;
        }

        blobs.AddRange(layerKeys);
        ImageManifest appc = Synthesize(name, tag, config);
        TimeProvider time = store.Options.Time;
        var info = new ImageInfo
        {
            Id = id.StoreKey,
            Digest = id.ToString(),
            Format = ImageFormat.Oci,
            Name = appc.Name,
            Labels = (appc.Labels ?? []).ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal),
            ImportTime = time.GetUtcNow(),
            LastUsed = time.GetUtcNow(),
            Size = size,
            Blobs = blobs.Distinct().ToList(),
            Layers = layerKeys,
            Source = source,
        };
        return import.Commit(info, appc.ToJson());
    }

    private static async Task<ImageDigest> FetchVerifiedAsync(Descriptor descriptor, string path, BlobFetcher fetchBlob, CancellationToken cancellationToken)
    {
        if (!ImageDigest.TryParse(descriptor.Digest, out ImageDigest digest))
        {
            throw new InvalidImageException($"invalid digest \"{descriptor.Digest}\"");
        }

        await fetchBlob(descriptor, path, cancellationToken).ConfigureAwait(false);
        using IncrementalHash hash = digest.CreateHash();
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
        {
            byte[] buffer = new byte[256 * 1024];
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, n);
            }
        }

        if (!digest.Matches(hash.GetHashAndReset()))
        {
            throw new InvalidImageException($"blob {descriptor.Digest} does not match its digest");
        }

        return digest;
    }

    /// <summary>Decompresses once: every entry checked, the uncompressed bytes hashed against the diff ID.</summary>
    private static void CheckLayer(string path, string diffId, int index, ExtractionPolicy policy)
    {
        if (!ImageDigest.TryParse(diffId, out ImageDigest expected))
        {
            throw new InvalidImageException($"layer {index} has an invalid diff ID \"{diffId}\"");
        }

        using FileStream file = File.OpenRead(path);
        using Stream tar = Compression.OpenDecompressed(file, policy.MaxUncompressedBytes, out _);
        using IncrementalHash hash = expected.CreateHash();
        using var hashing = new HashingReadStream(tar, hash);
        OciLayer.Apply(hashing, policy, writer: null);
        hashing.CopyTo(Stream.Null); // the end-of-archive padding counts too
        if (!expected.Matches(hash.GetHashAndReset()))
        {
            throw new InvalidImageException($"layer {index} does not match its diff ID {diffId}");
        }
    }

    /// <summary>An appc manifest for an OCI config, as docker2aci made one (exec, user, env, ports).</summary>
    internal static ImageManifest Synthesize(string name, string? tag, ImageConfig config)
    {
        var labels = new List<Label>();
        if (tag is not null)
        {
            labels.Add(new Label("version", tag));
        }

        labels.Add(new Label("os", string.IsNullOrEmpty(config.Os) ? "linux" : config.Os));
        labels.Add(new Label("arch", config.Architecture switch
        {
            "arm64" => "aarch64",
            "386" => "i386",
            "arm" => "armv7l",
            null or "" => "amd64",
            string other => other,
        }));
        ContainerConfig c = config.Config ?? new ContainerConfig();
        string user = "0", group = "0";
        if (!string.IsNullOrEmpty(c.User))
        {
            string[] parts = c.User.Split(':', 2);
            user = parts[0];
            group = parts.Length > 1 ? parts[1] : (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? "0" : parts[0]);
        }

        var app = new App
        {
            Exec = [.. c.Entrypoint ?? [], .. c.Cmd ?? []],
            User = user,
            Group = group,
            WorkingDirectory = string.IsNullOrEmpty(c.WorkingDir) ? null : c.WorkingDir,
            Environment = c.Env?.Select(e => e.Split('=', 2)).Where(p => p.Length == 2).Select(p => new Label(p[0], p[1])).DistinctBy(l => l.Name).ToList(),
            Ports = c.ExposedPorts?.Keys.Select(ParsePort).OfType<Port>().ToList(),
        };
        if (app.Exec.Count == 0)
        {
            app.Exec = null;
        }

        return new ImageManifest
        {
            Name = AppcNames.SanitizeAcIdentifier(name),
            Labels = labels,
            App = app,
            Annotations = c.Labels?.Where(l => AppcNames.IsAcIdentifier(l.Key)).Select(l => new Label(l.Key, l.Value)).ToList() is { Count: > 0 } annotations ? annotations : null,
        };
    }

    private static Port? ParsePort(string exposed)
    {
        string[] parts = exposed.Split('/');
        string protocol = parts.Length > 1 ? parts[1] : "tcp";
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int number)
            ? new Port { Name = $"{number}-{protocol}", Number = number, Protocol = protocol }
            : null;
    }

    /// <summary>Hashes everything read through it.</summary>
    private sealed class HashingReadStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
