using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Native;

namespace Platform.Rkt.Images.Store;

/// <summary>
/// The image store on disk (layout in docs/ARCHITECTURE.md):
/// <code>
/// cas/blob/&lt;key&gt;            content, read-only, named by digest
/// cas/imageManifest/&lt;id&gt;    the appc manifest of each image
/// cas/index/&lt;id&gt;.json       one record per image: the commit point of an import
/// cas/remote/&lt;sha256(url)&gt;  URL → image, ETag
/// cas/imagelocks/&lt;id&gt;.lck   per-image flock
/// cas/db.lck                 shared by importers, exclusive while unreferenced blobs are swept
/// cas/tmp/&lt;random&gt;/        staging, each directory flock'ed by its owner
/// </code>
/// </summary>
internal sealed partial class ImageStore : IImageStore
{
    /// <summary>How stale a record's last-used time may get before <see cref="MarkUsed"/> rewrites it.</summary>
    internal static readonly TimeSpan LastUsedPrecision = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;

    public ImageStore(StoreOptions options)
    {
        Options = options;
        _time = options.Time;
        Root = Path.Combine(Path.GetFullPath(options.DataDirectory), "cas");
        foreach (string dir in (string[])[BlobDir, ManifestDir, IndexDir, RemoteDir, ImageLockDir, TreeLockDir, TmpDir, TreeDir])
        {
            Directory.CreateDirectory(dir);
        }

        SweepTemp();
    }

    public string Root { get; }

    public StoreOptions Options { get; }

    internal string BlobDir => Path.Combine(Root, "blob");

    internal string ManifestDir => Path.Combine(Root, "imageManifest");

    internal string IndexDir => Path.Combine(Root, "index");

    internal string RemoteDir => Path.Combine(Root, "remote");

    internal string ImageLockDir => Path.Combine(Root, "imagelocks");

    internal string TreeLockDir => Path.Combine(Root, "treestorelocks");

    internal string TreeDir => Path.Combine(Root, "tree");

    internal string TmpDir => Path.Combine(Root, "tmp");

    internal string StoreLockPath => Path.Combine(Root, "db.lck");

    public IReadOnlyList<ImageInfo> List()
    {
        var images = new List<ImageInfo>();
        foreach (string file in Directory.EnumerateFiles(IndexDir, "*.json"))
        {
            if (ReadRecord(file) is { } info)
            {
                images.Add(info);
            }
        }

        return images;
    }

    public ImageInfo? Get(string id)
    {
        if (!IsSafeKey(id))
        {
            return null;
        }

        return ReadRecord(RecordPath(id));
    }

    public IReadOnlyList<ImageInfo> Find(string reference)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        string normalized = reference.Replace("sha256:", "sha256-", StringComparison.Ordinal).Replace("sha512:", "sha512-", StringComparison.Ordinal);
        if (normalized.StartsWith("sha512-", StringComparison.Ordinal) || normalized.StartsWith("sha256-", StringComparison.Ordinal))
        {
            if (normalized.Length <= 7)
            {
                return [];
            }

            // A full sha512 image ID is longer than the key; the key is its prefix.
            string keyPrefix = normalized.StartsWith("sha512-", StringComparison.Ordinal) && normalized.Length > 71 ? normalized[..71] : normalized;
            var byId = List().Where(i => i.Id.StartsWith(keyPrefix, StringComparison.Ordinal)).ToList();
            return normalized.Length > 71 ? byId.Where(i => i.Digest == normalized).ToList() : byId;
        }

        (string name, string? version) = SplitNameVersion(reference);
        return List()
            .Where(i => i.Name == name && (version is null || (i.Labels.TryGetValue("version", out string? v) && v == version)))
            .OrderByDescending(i => i.ImportTime)
            .ToList();
    }

    public ImageInfo? FindByName(string name, IReadOnlyDictionary<string, string> labels) =>
        List()
            .Where(i => i.Name == name && labels.All(l => i.Labels.TryGetValue(l.Key, out string? v) && v == l.Value))
            .OrderByDescending(i => i.ImportTime)
            .FirstOrDefault();

    public byte[] GetManifestBytes(string id)
    {
        string path = Path.Combine(ManifestDir, CheckKey(id));
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new KeyNotFoundException($"no manifest for image {id}", e);
        }
    }

    public ImageManifest GetManifest(string id) => ImageManifest.Parse(GetManifestBytes(id));

    public Stream OpenBlob(string blobKey)
    {
        try
        {
            return new FileStream(BlobPath(blobKey), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw new KeyNotFoundException($"blob {blobKey} is not in the store", e);
        }
    }

    public string BlobPath(string blobKey) => Path.Combine(BlobDir, CheckKey(blobKey));

    public void MarkUsed(string id)
    {
        // Last-used time has a minute's precision (image gc's grace periods are hours): a pod started
        // again within the minute rewrites and fsyncs nothing. Records are replaced by rename, so this
        // unlocked read sees a whole one.
        if (Get(id) is { } recent && _time.GetUtcNow() - recent.LastUsed is var age && age >= TimeSpan.Zero && age < LastUsedPrecision)
        {
            return;
        }

        using FileLock imageLock = LockImage(id, LockMode.Exclusive);
        if (Get(id) is { } info)
        {
            WriteRecord(info with { LastUsed = _time.GetUtcNow() });
        }
    }

    public bool Remove(string id)
    {
        using (FileLock imageLock = LockImage(id, LockMode.Exclusive))
        {
            if (Get(id) is null)
            {
                return false;
            }

            // The record goes first: from here on the image does not exist, whatever else survives a crash.
            File.Delete(RecordPath(id));
            File.Delete(Path.Combine(ManifestDir, id));
        }

        RemoveOrphanBlobs();
        return true;
    }

    public int RemoveOrphanBlobs()
    {
        using FileLock storeLock = FileLock.Acquire(StoreLockPath, LockMode.Exclusive);
        var records = List();
        var referenced = new HashSet<string>(records.SelectMany(r => r.Blobs), StringComparer.Ordinal);
        var ids = new HashSet<string>(records.Select(r => r.Id), StringComparer.Ordinal);
        int removed = 0;
        foreach (string blob in Directory.EnumerateFiles(BlobDir))
        {
            if (!referenced.Contains(Path.GetFileName(blob)))
            {
                File.Delete(blob);
                removed++;
            }
        }

        foreach (string manifest in Directory.EnumerateFiles(ManifestDir))
        {
            if (!ids.Contains(Path.GetFileName(manifest)))
            {
                File.Delete(manifest);
            }
        }

        return removed;
    }

    public IImageImport BeginImport() => new ImageImport(this);

    public RemoteInfo? GetRemote(string url)
    {
        string path = RemotePath(url);
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), StoreJsonContext.Default.RemoteInfo);
        }
        catch (Exception e) when (e is FileNotFoundException or JsonException)
        {
            return null;
        }
    }

    public void SetRemote(RemoteInfo remote) =>
        WriteAtomically(RemotePath(remote.Url), JsonSerializer.SerializeToUtf8Bytes(remote, StoreJsonContext.Default.RemoteInfo));

    public ITempDirectory CreateTempDirectory() => StoreTempDirectory.Create(TmpDir);

    internal FileLock LockImage(string id, LockMode mode) => FileLock.Acquire(Path.Combine(ImageLockDir, CheckKey(id) + ".lck"), mode);

    internal void WriteRecord(ImageInfo info) =>
        WriteAtomically(RecordPath(info.Id), JsonSerializer.SerializeToUtf8Bytes(info, StoreJsonContext.Default.ImageInfo));

    /// <summary>Writes <paramref name="content"/> to a temp file beside <paramref name="path"/> and renames it over.</summary>
    internal void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        string temp = Path.Combine(TmpDir, Guid.NewGuid().ToString("N") + ".part");
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    internal static (string Name, string? Version) SplitNameVersion(string reference)
    {
        int colon = reference.LastIndexOf(':');
        int slash = reference.LastIndexOf('/');
        return colon > slash ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }

    /// <summary>Store keys become file names: only <c>alg-hex</c> or <c>deps-…</c> shapes are accepted.</summary>
    internal static bool IsSafeKey(string key) =>
        key.Length is > 7 and < 200 && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && key.Contains('-', StringComparison.Ordinal);

    internal static string CheckKey(string key) =>
        IsSafeKey(key) ? key : throw new ArgumentException($"\"{key}\" is not a store key", nameof(key));

    private string RecordPath(string id) => Path.Combine(IndexDir, id + ".json");

    private string RemotePath(string url) =>
        Path.Combine(RemoteDir, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url))) + ".json");

    private static ImageInfo? ReadRecord(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), StoreJsonContext.Default.ImageInfo);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Deletes staging directories whose owner died (their lock is free).</summary>
    private void SweepTemp()
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(TmpDir))
        {
            if (Directory.Exists(entry))
            {
                using FileLock? owner = FileLock.TryAcquire(entry, LockMode.Exclusive);
                if (owner is not null)
                {
                    TryDeleteTree(entry);
                }
            }
            else if (entry.EndsWith(".part", StringComparison.Ordinal))
            {
                // WriteAtomically's temp files live for microseconds; one left over is a crash leftover
                // unless it is brand new.
                if (_time.GetUtcNow() - File.GetLastWriteTimeUtc(entry) > TimeSpan.FromMinutes(10))
                {
                    File.Delete(entry);
                }
            }
        }
    }

    internal static void TryDeleteTree(string path)
    {
        try
        {
            MakeWritable(path);
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Rendered trees may contain read-only directories; make them deletable by their owner.</summary>
    internal static void MakeWritable(string path)
    {
        if (Native.Libc.IsRoot)
        {
            return; // root deletes regardless of modes.
        }

        var pending = new Stack<string>();
        pending.Push(path);
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            try
            {
                File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                foreach (string child in Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { AttributesToSkip = FileAttributes.ReparsePoint }))
                {
                    pending.Push(child);
                }
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
