using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Store;

/// <summary>
/// The content-addressed image store under <c>&lt;dir&gt;/cas</c>. Safe for concurrent rkt
/// processes: imports, removals and renders take flock(2) locks per image and per tree, and every
/// write lands in <c>cas/tmp</c> first and is renamed into place, so a killed process leaves no half
/// image visible (its leftovers are swept on the next open).
/// </summary>
public interface IImageStore
{
    /// <summary>The <c>cas</c> directory.</summary>
    public string Root { get; }

    /// <summary>The policy image tars are checked against.</summary>
    public StoreOptions Options { get; }

    /// <summary>Every image in the index, in no particular order.</summary>
    public IReadOnlyList<ImageInfo> List();

    /// <summary>The image with store key <paramref name="id"/>, or null.</summary>
    public ImageInfo? Get(string id);

    /// <summary>
    /// Images matching <paramref name="reference"/>: a full or partial ID (<c>sha512-abc…</c>, at least
    /// the algorithm and one hex digit; <c>sha256:</c> accepted), or <c>name[:version]</c>.
    /// </summary>
    public IReadOnlyList<ImageInfo> Find(string reference);

    /// <summary>
    /// The newest image named <paramref name="name"/> whose labels include all of
    /// <paramref name="labels"/>, or null.
    /// </summary>
    public ImageInfo? FindByName(string name, IReadOnlyDictionary<string, string> labels);

    /// <summary>The image's appc manifest (synthesised for OCI images), exactly as stored.</summary>
    /// <exception cref="KeyNotFoundException">No such image.</exception>
    public byte[] GetManifestBytes(string id);

    /// <summary>The parsed <see cref="GetManifestBytes"/>.</summary>
    public ImageManifest GetManifest(string id);

    /// <summary>Opens a blob for reading; the caller disposes it.</summary>
    /// <exception cref="KeyNotFoundException">No such blob.</exception>
    public Stream OpenBlob(string blobKey);

    /// <summary>The path of a blob file (read-only).</summary>
    public string BlobPath(string blobKey);

    /// <summary>Records that the image was just used (for <c>image gc</c>'s grace period).</summary>
    public void MarkUsed(string id);

    /// <summary>
    /// Removes the image from the index and deletes blobs no other image references. False when the
    /// image does not exist.
    /// </summary>
    public bool Remove(string id);

    /// <summary>Deletes blobs and manifests that no index record references (crash leftovers).</summary>
    public int RemoveOrphanBlobs();

    /// <summary>Starts an import: content is staged in a private temp directory until committed.</summary>
    public IImageImport BeginImport();

    /// <summary>The remote record of <paramref name="url"/>, or null.</summary>
    public RemoteInfo? GetRemote(string url);

    /// <summary>Records that a URL produced an image (overwrites the previous record of that URL).</summary>
    public void SetRemote(RemoteInfo remote);

    /// <summary>A fresh private directory under <c>cas/tmp</c>, deleted when disposed or swept after a crash.</summary>
    public ITempDirectory CreateTempDirectory();
}

/// <summary>
/// One image being imported. Blobs are verified and staged; <see cref="Commit"/> moves them into the
/// store and writes the index record last. Disposing without committing discards everything.
/// </summary>
public interface IImageImport : IDisposable
{
    /// <summary>A private directory for downloads that belong to this import.</summary>
    public string TempDirectory { get; }

    /// <summary>
    /// Stages the file at <paramref name="path"/> (moved, not copied) as blob <paramref name="digest"/>.
    /// The caller has verified the digest.
    /// </summary>
    public string AddBlob(string path, ImageDigest digest);

    /// <summary>
    /// Commits: blobs and manifest renamed into place under the image's lock, then the index record.
    /// Importing an image that exists keeps the existing one (and its import time). Returns the record.
    /// </summary>
    public ImageInfo Commit(ImageInfo info, byte[] manifest);
}

/// <summary>A private temp directory in the store; deleted on dispose.</summary>
public interface ITempDirectory : IDisposable
{
    public string Path { get; }
}
