using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Native;

namespace Platform.Rkt.Images.Store;

/// <summary>Staging for one import; see <see cref="IImageImport"/>.</summary>
internal sealed class ImageImport : IImageImport
{
    private readonly ImageStore _store;
    private readonly StoreTempDirectory _temp;
    private readonly Dictionary<string, string> _staged = new(StringComparer.Ordinal);
    private bool _committed;

    public ImageImport(ImageStore store)
    {
        _store = store;
        _temp = StoreTempDirectory.Create(store.TmpDir);
    }

    public string TempDirectory => _temp.Path;

    public string AddBlob(string path, ImageDigest digest)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        string key = digest.StoreKey;
        if (_staged.ContainsKey(key))
        {
            File.Delete(path);
            return key;
        }

        string staged = Path.Combine(_temp.Path, "blob-" + key);
        File.Move(path, staged, overwrite: true);
        File.SetUnixFileMode(staged, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        _staged[key] = staged;
        return key;
    }

    public ImageInfo Commit(ImageInfo info, byte[] manifest)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        foreach (string blob in info.Blobs)
        {
            if (!_staged.ContainsKey(blob) && !File.Exists(_store.BlobPath(blob)))
            {
                throw new InvalidOperationException($"image {info.Id} needs blob {blob}, which was neither staged nor stored");
            }
        }

        // Shared: many imports commit at once; blob sweeping (exclusive) waits for them.
        using FileLock storeLock = FileLock.Acquire(_store.StoreLockPath, LockMode.Shared);
        using FileLock imageLock = _store.LockImage(info.Id, LockMode.Exclusive);
        ImageInfo? existing = _store.Get(info.Id);
        foreach ((string key, string staged) in _staged)
        {
            string target = _store.BlobPath(key);
            if (File.Exists(target))
            {
                File.Delete(staged);
            }
            else
            {
                File.Move(staged, target);
            }
        }

        foreach (string blob in info.Blobs)
        {
            if (!File.Exists(_store.BlobPath(blob)))
            {
                throw new InvalidOperationException($"blob {blob} of image {info.Id} vanished during the import");
            }
        }

        _staged.Clear();
        _committed = true;
        if (existing is not null)
        {
            return existing;
        }

        _store.WriteAtomically(Path.Combine(_store.ManifestDir, info.Id), manifest);
        _store.WriteRecord(info); // the commit point: the image exists from here on.
        return info;
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// A directory under <c>cas/tmp</c> flock'ed by its creator for its lifetime, so the sweep at store
/// open removes exactly the directories whose owner died.
/// </summary>
internal sealed class StoreTempDirectory : ITempDirectory
{
    private readonly FileLock _lock;

    private StoreTempDirectory(string path, FileLock fileLock)
    {
        Path = path;
        _lock = fileLock;
    }

    public string Path { get; }

    public static StoreTempDirectory Create(string tmpRoot)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            string path = System.IO.Path.Combine(tmpRoot, Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            FileLock? owner = FileLock.TryAcquire(path, LockMode.Exclusive);
            // A sweeper may have taken and deleted the new directory between mkdir and flock.
            if (owner is not null && Directory.Exists(path))
            {
                return new StoreTempDirectory(path, owner);
            }

            owner?.Dispose();
        }

        throw new IOException($"cannot create a temp directory in {tmpRoot}");
    }

    public void Dispose()
    {
        ImageStore.TryDeleteTree(Path);
        _lock.Dispose();
    }
}
