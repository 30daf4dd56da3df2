using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>An OCI image built at test time: gzip layers from <see cref="TestAci"/>-style entries, a config and a manifest.</summary>
internal sealed class TestOciImage
{
    public TestOciImage(IReadOnlyList<byte[]> layerTars, string[]? cmd = null, bool tamperDiffId = false)
    {
        var layers = new List<(string Digest, byte[] Blob)>();
        var diffIds = new List<string>();
        foreach (byte[] tar in layerTars)
        {
            byte[] gz = TestAci.Gzip(tar);
            layers.Add((Sha256(gz), gz));
            diffIds.Add(tamperDiffId ? Sha256(gz) : Sha256(tar));
        }

        Config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Cmd = cmd ?? ["/bin/sh"], Env = (string[])["PATH=/bin"], ExposedPorts = new Dictionary<string, object> { ["80/tcp"] = new { } } },
            rootfs = new { type = "layers", diff_ids = diffIds },
        });
        Layers = layers;
        Manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = Sha256(Config), size = Config.Length },
            layers = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = l.Digest, size = l.Blob.Length }),
        });
    }

    public byte[] Config { get; }

    public List<(string Digest, byte[] Blob)> Layers { get; }

    public byte[] Manifest { get; }

    public string ManifestDigest => Sha256(Manifest);

    public string ConfigDigest => Sha256(Config);

    public static string Sha256(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Writes an OCI image layout with this image under <paramref name="refName"/>.</summary>
    public string WriteLayout(string dir, string refName = "latest")
    {
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        WriteBlob(dir, Config);
        WriteBlob(dir, Manifest);
        foreach ((_, byte[] blob) in Layers)
        {
            WriteBlob(dir, blob);
        }

        File.WriteAllBytes(Path.Combine(dir, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = new[]
            {
                new
                {
                    mediaType = "application/vnd.oci.image.manifest.v1+json",
                    digest = ManifestDigest,
                    size = Manifest.Length,
                    annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = refName },
                },
            },
        }));
        return dir;
    }

    /// <summary>A tar of a directory's files (for oci-archive: and docker-archive:).</summary>
    public static byte[] TarDirectory(string dir)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                writer.WriteEntry(file, Path.GetRelativePath(dir, file));
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A <c>docker save</c>-style archive: manifest.json, config JSON and uncompressed layer tars.</summary>
    public static byte[] DockerArchive(IReadOnlyList<byte[]> layerTars, string repoTag)
    {
        var diffIds = layerTars.Select(Sha256).ToList();
        byte[] config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Entrypoint = (string[])["/bin/busybox"], User = "1000:1000" },
            rootfs = new { type = "layers", diff_ids = diffIds },
        });
        string configName = Convert.ToHexStringLower(SHA256.HashData(config)) + ".json";
        var layerNames = diffIds.Select((d, i) => $"{d[7..19]}{i}/layer.tar").ToList();
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new[] { new { Config = configName, RepoTags = new[] { repoTag }, Layers = layerNames } });
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            void Add(string name, byte[] data) => writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 });
            Add("manifest.json", manifest);
            Add(configName, config);
            for (int i = 0; i < layerTars.Count; i++)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, layerNames[i].Split('/')[0]) { Mode = (UnixFileMode)0b111_101_101 });
                Add(layerNames[i], layerTars[i]);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A layer tar from (name, content) pairs; null content means a directory.</summary>
    public static byte[] Layer(params (string Name, string? Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string name, string? content) in entries)
            {
                writer.WriteEntry(content is null
                    ? new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 }
                    : new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)), Mode = (UnixFileMode)0b110_100_100 });
            }
        }

        return buffer.ToArray();
    }

    private static void WriteBlob(string dir, byte[] blob) =>
        File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", Sha256(blob)[7..]), blob);
}
