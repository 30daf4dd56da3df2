using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Platform.Rkt.IntegrationTests;

/// <summary>A small OCI layout (one gzip layer with /bin/hello) written at test time.</summary>
internal static class OciLayouts
{
    public static string Write(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin") { Mode = (UnixFileMode)0b111_101_101 });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/hello") { DataStream = new MemoryStream("#!/bin/sh\necho hi\n"u8.ToArray()), Mode = (UnixFileMode)0b111_101_101 });
        }

        byte[] layerTar = tar.ToArray();
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(layerTar);
        }

        byte[] layer = gz.ToArray();
        byte[] config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Cmd = (string[])["/bin/hello"] },
            rootfs = new { type = "layers", diff_ids = (string[])[Digest(layerTar)] },
        });
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = Digest(config), size = config.Length },
            layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = Digest(layer), size = layer.Length } },
        });
        foreach (byte[] blob in (byte[][])[layer, config, manifest])
        {
            File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", Digest(blob)[7..]), blob);
        }

        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllBytes(Path.Combine(dir, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = new[] { new { mediaType = "application/vnd.oci.image.manifest.v1+json", digest = Digest(manifest), size = manifest.Length, annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "2.0" } } },
        }));
        return dir;
    }

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
