using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Images.Trust;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Platform.Rkt.Benchmarks;

/// <summary>
/// Modes: <c>gen-aci OUT.aci MB</c>, <c>gen-oci DIR MB</c>, <c>gen-store DATADIR COUNT</c>,
/// <c>fetch-render DATADIR IMAGE</c> (fetch with --insecure-options=image, then render into the tree
/// store, printing both durations).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "gen-aci":
                GenerateAci(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            case "gen-oci":
                GenerateOci(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            case "gen-store":
                await GenerateStoreAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                return 0;
            case "fetch-render":
                await FetchRenderAsync(args[1], args[2]);
                return 0;
            default:
                Console.Error.WriteLine("usage: gen-aci OUT MB | gen-oci DIR MB | gen-store DATADIR COUNT | fetch-render DATADIR IMAGE");
                return 2;
        }
    }

    /// <summary>
    /// A rootfs like a real distribution image: ~2,000 files of 4 KiB-256 KiB, half random (binaries)
    /// and half text (compressible), in nested directories.
    /// </summary>
    private static IEnumerable<(string Path, byte[] Data)> Files(int megabytes, int seed)
    {
        var random = new Random(seed);
        long budget = megabytes * 1024L * 1024;
        int n = 0;
        while (budget > 0)
        {
            int size = (int)Math.Min(budget, random.Next(4 * 1024, 256 * 1024));
            byte[] data = new byte[size];
            if (n % 2 == 0)
            {
                random.NextBytes(data);
            }
            else
            {
                byte[] line = Encoding.ASCII.GetBytes($"line of configuration text number {n} with some words repeated\n");
                for (int i = 0; i < size; i++)
                {
                    data[i] = line[i % line.Length];
                }
            }

            yield return ($"usr/share/d{n % 40}/s{n % 7}/file{n}", data);
            budget -= size;
            n++;
        }
    }

    private static void WriteTree(TarWriter writer, string prefix, int megabytes, int seed)
    {
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string path, byte[] data) in Files(megabytes, seed))
        {
            string[] parts = path.Split('/');
            for (int i = 1; i < parts.Length; i++)
            {
                string dir = string.Join('/', parts[..i]);
                if (dirs.Add(dir))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, prefix + dir) { Mode = (UnixFileMode)0b111_101_101 });
                }
            }

            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, prefix + path) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 });
        }
    }

    private static void GenerateAci(string output, int megabytes)
    {
        using var file = File.Create(output);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        byte[] manifest = """{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/bench","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/true"],"user":"0","group":"0"}}"""u8.ToArray();
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest") { DataStream = new MemoryStream(manifest), Mode = (UnixFileMode)0b110_100_100 });
        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs") { Mode = (UnixFileMode)0b111_101_101 });
        WriteTree(writer, "rootfs/", megabytes, seed: 1);
    }

    private static void GenerateOci(string dir, int megabytes)
    {
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        var layers = new List<(string Digest, long Size)>();
        var diffIds = new List<string>();
        for (int layer = 0; layer < 3; layer++)
        {
            using var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                WriteTree(writer, $"l{layer}/", megabytes / 3, seed: 10 + layer);
            }

            byte[] raw = tar.ToArray();
            using var gz = new MemoryStream();
            using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(raw);
            }

            diffIds.Add(Digest(raw));
            layers.Add((WriteBlob(dir, gz.ToArray()), gz.Length));
        }

        byte[] config = JsonSerializer.SerializeToUtf8Bytes(new { architecture = "amd64", os = "linux", config = new { Cmd = (string[])["/bin/true"] }, rootfs = new { type = "layers", diff_ids = diffIds } });
        string configDigest = WriteBlob(dir, config);
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = l.Digest, size = l.Size }),
        });
        string manifestDigest = WriteBlob(dir, manifest);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllBytes(Path.Combine(dir, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = new[] { new { mediaType = "application/vnd.oci.image.manifest.v1+json", digest = manifestDigest, size = manifest.Length, annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "1" } } },
        }));
    }

    private static async Task GenerateStoreAsync(string dataDir, int count)
    {
        IImageStore store = StoreFactory.OpenImageStore(new StoreOptions { DataDirectory = dataDir });
        IImageFetcher fetcher = FetcherFactory.Create(store, TrustStoreFactory.Open(new ConfigPaths()), new FetchOptions { Insecure = InsecureOptions.Image });
        string temp = Path.Combine(dataDir, "gen");
        Directory.CreateDirectory(temp);
        for (int i = 0; i < count; i++)
        {
            string aci = Path.Combine(temp, $"{i}.aci");
            using (var file = File.Create(aci))
            using (var writer = new TarWriter(file, TarEntryFormat.Pax))
            {
                byte[] manifest = Encoding.UTF8.GetBytes($$"""{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app{{i % 100}}","labels":[{"name":"version","value":"{{i}}"}]}""");
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest") { DataStream = new MemoryStream(manifest) });
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs"));
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/id") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))) });
            }

            await fetcher.FetchAsync(aci);
            File.Delete(aci);
        }
    }

    private static async Task FetchRenderAsync(string dataDir, string image)
    {
        IImageStore store = StoreFactory.OpenImageStore(new StoreOptions { DataDirectory = dataDir });
        ITreeStore trees = StoreFactory.OpenTreeStore(store);
        IImageFetcher fetcher = FetcherFactory.Create(store, TrustStoreFactory.Open(new ConfigPaths()), new FetchOptions { Insecure = InsecureOptions.Image, PullPolicy = PullPolicy.New });
        var watch = Stopwatch.StartNew();
        ImageInfo info = await fetcher.FetchAsync(image);
        double fetchMs = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        using ITreeLease tree = trees.Render(info.Id);
        double renderMs = watch.Elapsed.TotalMilliseconds;
        Console.WriteLine($"fetch_ms={fetchMs:F0} render_ms={renderMs:F0} image={info.Id[..19]} tree_bytes={tree.Info.Size}");
    }

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static string WriteBlob(string dir, byte[] data)
    {
        string digest = Digest(data);
        File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", digest[7..]), data);
        return digest;
    }
}
