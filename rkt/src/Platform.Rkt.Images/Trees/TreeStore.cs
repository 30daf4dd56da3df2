using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Trees;

/// <summary>
/// Renders images into <c>cas/tree</c>. A render happens in a private <c>cas/tmp</c> directory and
/// is renamed into place with its <c>rendered</c> record inside, so a tree directory that exists is
/// complete. Locking per tree (<c>cas/treestorelocks/&lt;id&gt;.lck</c>): leases are shared, the
/// renderer and the remover exclusive; images being rendered are share-locked against removal.
/// </summary>
internal sealed class TreeStore : ITreeStore
{
    private const int MaxDependencyDepth = 32;

    private readonly ImageStore _store;

    public TreeStore(ImageStore store)
    {
        _store = store;
    }

    public string GetTreeId(string imageId) => TreeIdOf(Plan(imageId));

    public ITreeLease Render(string imageId, IProgressSink? progress = null)
    {
        progress ??= NullProgressSink.Instance;
        List<RenderStep> plan = Plan(imageId);
        string treeId = TreeIdOf(plan);
        string lockPath = Path.Combine(_store.TreeLockDir, treeId + ".lck");
        string treePath = Path.Combine(_store.TreeDir, treeId);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            FileLock treeLock = FileLock.Acquire(lockPath, LockMode.Shared);
            try
            {
                if (ReadInfo(treePath) is { } existing)
                {
                    return new TreeLease(existing, treePath, treeLock);
                }

                // Not rendered: nobody holds a lease, so waiting for the exclusive lock only waits for
                // another renderer of the same tree.
                treeLock.TryChange(LockMode.Exclusive, wait: true);
                if (ReadInfo(treePath) is null)
                {
                    RenderLocked(imageId, plan, treeId, treePath, progress);
                }

                treeLock.TryChange(LockMode.Shared, wait: true);
                if (ReadInfo(treePath) is { } rendered)
                {
                    return new TreeLease(rendered, treePath, treeLock);
                }
            }
            catch
            {
                treeLock.Dispose();
                throw;
            }

            treeLock.Dispose(); // removed between downgrade and check: render again.
        }

        throw new IOException($"tree {treeId} keeps disappearing while being rendered");
    }

    public void RenderTo(string imageId, string destination, bool rootfsOnly, bool withDependencies, ExtractionPolicy policy, IProgressSink? progress = null)
    {
        progress ??= NullProgressSink.Instance;
        destination = Path.GetFullPath(destination);
        if (Path.Exists(destination))
        {
            throw new IOException($"{destination} already exists");
        }

        List<RenderStep> plan = withDependencies ? Plan(imageId) : [new RenderStep(_store.Get(imageId) ?? throw new KeyNotFoundException($"image {imageId} is not in the store"), null)];
        var imageLocks = new List<FileLock>();
        try
        {
            foreach (string id in plan.Where(s => s.Image is not null).Select(s => s.Image!.Id).Distinct())
            {
                imageLocks.Add(_store.LockImage(id, LockMode.Shared));
            }

            string rootfs = rootfsOnly ? destination : Path.Combine(destination, "rootfs");
            var writer = new TreeWriter(rootfs, policy);
            foreach (RenderStep step in plan)
            {
                if (step.Image is { } image)
                {
                    Apply(image, writer, progress, policy);
                }
                else
                {
                    ApplyWhitelist(rootfs, step.Whitelist!);
                }
            }

            writer.Finish();
            if (!rootfsOnly)
            {
                File.WriteAllBytes(Path.Combine(destination, "manifest"), _store.GetManifestBytes(imageId));
            }
        }
        catch
        {
            if (Directory.Exists(destination))
            {
                ImageStore.TryDeleteTree(destination);
            }

            throw;
        }
        finally
        {
            foreach (FileLock imageLock in imageLocks)
            {
                imageLock.Dispose();
            }
        }
    }

    public IReadOnlyList<TreeInfo> List()
    {
        var trees = new List<TreeInfo>();
        foreach (string dir in Directory.EnumerateDirectories(_store.TreeDir))
        {
            if (ReadInfo(dir) is { } info)
            {
                trees.Add(info);
            }
        }

        return trees;
    }

    public bool TryRemove(string treeId)
    {
        ImageStore.CheckKey(treeId);
        string treePath = Path.Combine(_store.TreeDir, treeId);
        using FileLock? treeLock = FileLock.TryAcquire(Path.Combine(_store.TreeLockDir, treeId + ".lck"), LockMode.Exclusive);
        if (treeLock is null || !Directory.Exists(treePath))
        {
            return false;
        }

        // Rename first: the tree disappears atomically; a crash leaves an unlocked directory in tmp,
        // which the next store open sweeps.
        using ITempDirectory graveyard = _store.CreateTempDirectory();
        string doomed = Path.Combine(graveyard.Path, "tree");
        Directory.Move(treePath, doomed);
        return true;
    }

    public string? Verify(string treeId)
    {
        ImageStore.CheckKey(treeId);
        string treePath = Path.Combine(_store.TreeDir, treeId);
        using FileLock treeLock = FileLock.Acquire(Path.Combine(_store.TreeLockDir, treeId + ".lck"), LockMode.Shared);
        TreeInfo info = ReadInfo(treePath) ?? throw new KeyNotFoundException($"tree {treeId} is not rendered");
        (string hash, long size) = TreeHasher.Hash(Path.Combine(treePath, "rootfs"));
        if (hash != info.Hash)
        {
            return $"tree {treeId} was modified: hash {hash} (size {size}) differs from the rendered {info.Hash} (size {info.Size})";
        }

        return null;
    }

    private void RenderLocked(string imageId, List<RenderStep> plan, string treeId, string treePath, IProgressSink progress)
    {
        var imageLocks = new List<FileLock>();
        try
        {
            foreach (string id in plan.Where(s => s.Image is not null).Select(s => s.Image!.Id).Distinct())
            {
                imageLocks.Add(_store.LockImage(id, LockMode.Shared));
                if (_store.Get(id) is null)
                {
                    throw new KeyNotFoundException($"image {id} was removed while rendering");
                }
            }

            using ITempDirectory temp = _store.CreateTempDirectory();
            string staging = Path.Combine(temp.Path, "tree");
            string rootfs = Path.Combine(staging, "rootfs");
            var writer = new TreeWriter(rootfs, _store.Options.Extraction);
            foreach (RenderStep step in plan)
            {
                if (step.Image is { } image)
                {
                    Apply(image, writer, progress, _store.Options.Extraction);
                }
                else
                {
                    ApplyWhitelist(rootfs, step.Whitelist!);
                }
            }

            writer.Finish();
            File.WriteAllBytes(Path.Combine(staging, "manifest"), _store.GetManifestBytes(imageId));
            (string hash, long size) = TreeHasher.Hash(rootfs);
            var info = new TreeInfo
            {
                Id = treeId,
                ImageId = imageId,
                Images = plan.Where(s => s.Image is not null).Select(s => s.Image!.Id).ToList(),
                Hash = hash,
                Size = size,
                RenderTime = _store.Options.Time.GetUtcNow(),
            };
            File.WriteAllBytes(Path.Combine(staging, "rendered"), JsonSerializer.SerializeToUtf8Bytes(info, StoreJsonContext.Default.TreeInfo));
            if (Directory.Exists(treePath))
            {
                // A crash between a removal's rename and here cannot leave one; a half tree without
                // "rendered" can only come from outside tampering: move it away.
                using ITempDirectory stale = _store.CreateTempDirectory();
                Directory.Move(treePath, Path.Combine(stale.Path, "stale"));
            }

            Directory.Move(staging, treePath);
        }
        finally
        {
            foreach (FileLock imageLock in imageLocks)
            {
                imageLock.Dispose();
            }
        }
    }

    private void Apply(ImageInfo image, TreeWriter writer, IProgressSink progress, ExtractionPolicy policy)
    {
        string what = "Rendering " + (image.Id.Length > 19 ? image.Id[..19] : image.Id);
        if (image.Format == ImageFormat.Aci)
        {
            using Stream blob = _store.OpenBlob(image.Id);
            long total = blob.Length;
            using Stream tar = Compression.OpenDecompressed(blob, policy.MaxUncompressedBytes, out _);
            long start = writer.BytesWritten;
            AciArchive.Walk(tar, policy, entry =>
            {
                if (entry.RootfsComponents is { } components)
                {
                    writer.Write(entry.Entry, components, entry.HardLinkTarget?[1..]);
                    progress.Progress(what, writer.BytesWritten - start, total);
                }
            });
            progress.Progress(what, total, total);
            return;
        }

        for (int i = 0; i < image.Layers.Count; i++)
        {
            using Stream blob = _store.OpenBlob(image.Layers[i]);
            using Stream tar = Compression.OpenDecompressed(blob, policy.MaxUncompressedBytes, out _);
            OciLayer.Apply(tar, policy, writer);
            progress.Progress($"{what} layer", i + 1, image.Layers.Count);
        }
    }

    /// <summary>Removes everything that is neither whitelisted nor a directory above a whitelisted path.</summary>
    private static void ApplyWhitelist(string rootfs, IReadOnlyList<string> whitelist)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        var ancestors = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in whitelist)
        {
            string clean = "/" + string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));
            keep.Add(clean);
            for (int slash = clean.LastIndexOf('/'); slash > 0; slash = clean.LastIndexOf('/', slash - 1))
            {
                ancestors.Add(clean[..slash]);
            }
        }

        Prune(rootfs, string.Empty, keep, ancestors);
    }

    private static void Prune(string dir, string relative, HashSet<string> keep, HashSet<string> ancestors)
    {
        foreach (string child in Directory.EnumerateFileSystemEntries(dir))
        {
            string path = relative + "/" + Path.GetFileName(child);
            TreeWriter.NodeKind kind = TreeWriter.Lstat(child);
            if (kind == TreeWriter.NodeKind.Directory)
            {
                if (ancestors.Contains(path))
                {
                    Prune(child, path, keep, ancestors);
                }
                else if (!keep.Contains(path))
                {
                    Directory.Delete(child, recursive: true);
                }
                else
                {
                    Prune(child, path, keep, ancestors);
                }
            }
            else if (!keep.Contains(path))
            {
                File.Delete(child);
            }
        }
    }

    /// <summary>
    /// The render plan of an image: for an ACI, its dependencies' plans depth-first in manifest order,
    /// then the image, then its <c>pathWhitelist</c>; for OCI, the image (its layers in order).
    /// </summary>
    private List<RenderStep> Plan(string imageId)
    {
        var plan = new List<RenderStep>();
        AddToPlan(imageId, plan, depth: 0);
        return plan;
    }

    private void AddToPlan(string imageId, List<RenderStep> plan, int depth)
    {
        if (depth > MaxDependencyDepth)
        {
            throw new InvalidImageException($"image dependencies nest deeper than {MaxDependencyDepth} (a cycle?) at {imageId}");
        }

        ImageInfo image = _store.Get(imageId) ?? throw new KeyNotFoundException($"image {imageId} is not in the store");
        if (image.Format == ImageFormat.Aci)
        {
            ImageManifest manifest = _store.GetManifest(imageId);
            foreach (Dependency dependency in manifest.Dependencies ?? [])
            {
                ImageInfo dep = ResolveDependency(dependency);
                AddToPlan(dep.Id, plan, depth + 1);
            }

            plan.Add(new RenderStep(image, null));
            if (manifest.PathWhitelist is { Count: > 0 } whitelist)
            {
                plan.Add(new RenderStep(null, whitelist));
            }

            return;
        }

        plan.Add(new RenderStep(image, null));
    }

    /// <summary>A dependency by image ID when the manifest pins one, else by name and labels.</summary>
    internal ImageInfo ResolveDependency(Dependency dependency)
    {
        if (dependency.ImageId is { } id)
        {
            IReadOnlyList<ImageInfo> byId = _store.Find(id);
            return byId.Count == 1
                ? byId[0]
                : throw new KeyNotFoundException($"dependency {dependency.ImageName} ({id}) is not in the store");
        }

        var labels = (dependency.Labels ?? []).ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal);
        return _store.FindByName(dependency.ImageName, labels)
            ?? throw new KeyNotFoundException($"dependency {dependency.ImageName} is not in the store");
    }

    private static string TreeIdOf(List<RenderStep> plan)
    {
        var text = new StringBuilder();
        foreach (RenderStep step in plan)
        {
            text.Append(step.Image is { } image ? image.Digest : "whitelist:" + string.Join(',', step.Whitelist!)).Append('\n');
        }

        return "deps-sha512-" + Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..64];
    }

    private static TreeInfo? ReadInfo(string treePath)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(treePath, "rendered")), StoreJsonContext.Default.TreeInfo);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    private sealed record RenderStep(ImageInfo? Image, IReadOnlyList<string>? Whitelist);

    private sealed class TreeLease : ITreeLease
    {
        private readonly FileLock _lock;

        public TreeLease(TreeInfo info, string treePath, FileLock treeLock)
        {
            Info = info;
            TreePath = treePath;
            _lock = treeLock;
        }

        public TreeInfo Info { get; }

        public string TreePath { get; }

        public string RootfsPath => Path.Combine(TreePath, "rootfs");

        public void Dispose() => _lock.Dispose();
    }
}
