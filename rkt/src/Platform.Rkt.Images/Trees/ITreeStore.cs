using System.Text.Json.Serialization;

namespace Platform.Rkt.Images.Trees;

/// <summary>
/// Rendered image trees under <c>cas/tree/&lt;treeId&gt;/{rootfs,manifest,rendered}</c>: an ACI
/// with its dependencies applied depth-first and its <c>pathWhitelist</c>, or an OCI image's layers
/// with whiteouts. Stage1 flavors (issue 7) use <c>rootfs</c> as an overlay lowerdir or copy it.
/// A tree is in use while someone holds its <see cref="ITreeLease"/> (a shared flock); removal takes
/// the lock exclusively and never waits, so trees in use are never deleted.
/// </summary>
public interface ITreeStore
{
    /// <summary>
    /// The tree of image <paramref name="imageId"/>, rendered now if it is not yet. The lease keeps
    /// it from being removed until disposed.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The image or one of its dependencies is not in the store.</exception>
    /// <exception cref="Appc.InvalidImageException">The image content breaks a rule; nothing is left behind.</exception>
    public ITreeLease Render(string imageId, IProgressSink? progress = null);

    /// <summary>
    /// Renders the image with its dependencies into <paramref name="destination"/> (which must not
    /// exist) without caching: <c>rootfs/</c> and <c>manifest</c>, or only the rootfs content when
    /// <paramref name="rootfsOnly"/>. With <paramref name="withDependencies"/> false, only the image's
    /// own content is written (<c>rkt image extract</c>). A failure removes the destination.
    /// </summary>
    public void RenderTo(string imageId, string destination, bool rootfsOnly, bool withDependencies, Archives.ExtractionPolicy policy, IProgressSink? progress = null);

    /// <summary>The ID <see cref="Render"/> would use (depends on the image and its dependencies' IDs).</summary>
    public string GetTreeId(string imageId);

    /// <summary>Every rendered tree.</summary>
    public IReadOnlyList<TreeInfo> List();

    /// <summary>Removes the tree unless someone holds a lease on it; false when in use or absent.</summary>
    public bool TryRemove(string treeId);

    /// <summary>
    /// Re-hashes the tree and compares with the hash recorded at render time (rkt's on-disk check,
    /// skipped with <c>--insecure-options=ondisk</c>). Returns null when it matches, else what differs.
    /// </summary>
    public string? Verify(string treeId);
}

/// <summary>A rendered tree held open (shared lock) by its user.</summary>
public interface ITreeLease : IDisposable
{
    public TreeInfo Info { get; }

    /// <summary><c>cas/tree/&lt;id&gt;</c>.</summary>
    public string TreePath { get; }

    /// <summary><c>cas/tree/&lt;id&gt;/rootfs</c>.</summary>
    public string RootfsPath { get; }
}

/// <summary>The <c>rendered</c> record of a tree.</summary>
public sealed record TreeInfo
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The image the tree renders.</summary>
    [JsonPropertyName("image")]
    public required string ImageId { get; init; }

    /// <summary>Every image applied, in application order (dependencies first).</summary>
    [JsonPropertyName("images")]
    public required IReadOnlyList<string> Images { get; init; }

    /// <summary>sha512 over the sorted tree (paths, types, modes, owners, sizes, contents, link targets).</summary>
    [JsonPropertyName("hash")]
    public required string Hash { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("renderTime")]
    public DateTimeOffset RenderTime { get; init; }
}
