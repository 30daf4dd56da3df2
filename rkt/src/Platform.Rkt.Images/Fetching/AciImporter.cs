using System.Security.Cryptography;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching;

/// <summary>
/// Imports an ACI file (plain or compressed): decompress once while hashing (the SHA-512 of the
/// uncompressed tar is the image ID) into a staged blob, walk it checking every entry and reading the
/// manifest, let the caller verify (signature, expected name), then commit.
/// </summary>
internal static class AciImporter
{
    /// <summary>Imports <paramref name="aciPath"/>; <paramref name="verify"/> sees the validated manifest before commit and throws to refuse the image.</summary>
    public static ImageInfo Import(IImageStore store, string aciPath, string source, IProgressSink progress, Action<ImageManifest> verify)
    {
        using IImageImport import = store.BeginImport();
        ExtractionPolicy policy = store.Options.Extraction;
        string tarPath = Path.Combine(import.TempDirectory, "image.tar");
        ImageDigest digest;
        long size;
        using (FileStream input = File.OpenRead(aciPath))
        {
            long compressedTotal = input.Length;
            using Stream tar = Compression.OpenDecompressed(input, policy.MaxUncompressedBytes, out _);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
            using var output = new FileStream(tarPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
            byte[] buffer = new byte[256 * 1024];
            int n;
            while ((n = tar.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                output.Write(buffer, 0, n);
                progress.Progress("Importing ACI", input.Position, compressedTotal);
            }

            digest = ImageDigest.Sha512(hash.GetHashAndReset());
            size = output.Length;
        }

        byte[] manifestBytes;
        using (FileStream tar = File.OpenRead(tarPath))
        {
            manifestBytes = AciArchive.Walk(tar, policy, onEntry: null);
        }

        ImageManifest manifest = ImageManifest.Parse(manifestBytes);
        ManifestValidator.Validate(manifest);
        verify(manifest);
        string key = import.AddBlob(tarPath, digest);
        TimeProvider time = store.Options.Time;
        var info = new ImageInfo
        {
            Id = key,
            Digest = digest.ToString(),
            Format = ImageFormat.Aci,
            Name = manifest.Name,
            Labels = (manifest.Labels ?? []).ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal),
            ImportTime = time.GetUtcNow(),
            LastUsed = time.GetUtcNow(),
            Size = size,
            Blobs = [key],
            Source = source,
        };
        return import.Commit(info, manifestBytes);
    }
}
