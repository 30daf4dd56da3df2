using System.Formats.Tar;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Native;

namespace Platform.Rkt.Images.Archives;

/// <summary>
/// Writes tar entries into a root directory without ever leaving it. Parent directories are
/// resolved component by component; a symlink met on the way is resolved inside the root (an absolute
/// target restarts at the root, <c>..</c> stops at it), never on the host. The final component is
/// never followed: an existing file, link or directory there is replaced, and new files are created
/// with O_CREAT|O_EXCL. Directory times are applied last, since creating children changes them.
/// </summary>
internal sealed class TreeWriter
{
    private const int MaxSymlinkHops = 40;

    private readonly string _root;
    private readonly ExtractionPolicy _policy;
    private readonly Dictionary<string, string> _resolvedDirs = new(StringComparer.Ordinal);
    private readonly List<(string Path, DateTimeOffset Time)> _directoryTimes = [];
    private readonly byte[] _copyBuffer = new byte[128 * 1024];

    public TreeWriter(string root, ExtractionPolicy policy)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _policy = policy;
        Directory.CreateDirectory(_root);
    }

    /// <summary>The host directory everything is written under.</summary>
    public string Root => _root;

    /// <summary>Regular-file bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Writes one entry at <paramref name="components"/> (relative to the root; empty for the root
    /// itself). <paramref name="hardLinkTarget"/> is the link's target, already relative to the root.
    /// </summary>
    public void Write(TarEntry entry, IReadOnlyList<string> components, IReadOnlyList<string>? hardLinkTarget)
    {
        if (components.Count == 0)
        {
            if (entry.EntryType == TarEntryType.Directory)
            {
                ApplyMetadata(_root, entry, isDirectory: true);
            }

            return;
        }

        string parent = ResolveDirectory(components.Take(components.Count - 1), create: true, entry.Name);
        string path = Path.Join(parent, components[^1]);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (Lstat(path) != NodeKind.Directory)
                {
                    RemoveAny(path);
                    Directory.CreateDirectory(path);
                }

                ApplyMetadata(path, entry, isDirectory: true);
                break;
            case TarEntryType.SymbolicLink:
                RemoveAny(path);
                File.CreateSymbolicLink(path, entry.LinkName);
                ApplyOwnerAndTime(path, entry);
                break;
            case TarEntryType.HardLink:
                string target = ResolveHardLinkTarget(hardLinkTarget!, entry);
                RemoveAny(path);
                Libc.HardLink(target, path);
                break;
            case TarEntryType.Fifo:
                RemoveAny(path);
                Libc.MakeFifo(path, (int)entry.Mode & 0x1ff);
                ApplyMetadata(path, entry, isDirectory: false);
                break;
            default:
                RemoveAny(path);
                WriteFile(path, entry);
                ApplyMetadata(path, entry, isDirectory: false);
                break;
        }
    }

    /// <summary>Deletes <paramref name="components"/> (an OCI whiteout); missing is fine.</summary>
    public void Remove(IReadOnlyList<string> components, string entryName)
    {
        string parent = ResolveDirectory(components.Take(components.Count - 1), create: false, entryName);
        RemoveAny(Path.Join(parent, components[^1]));
    }

    /// <summary>
    /// Empties directory <paramref name="components"/> except the names in <paramref name="keep"/>
    /// (an OCI opaque whiteout keeps what the same layer added).
    /// </summary>
    public void ClearDirectory(IReadOnlyList<string> components, IReadOnlySet<string> keep, string entryName)
    {
        string dir = ResolveDirectory(components, create: true, entryName);
        foreach (string child in Directory.EnumerateFileSystemEntries(dir))
        {
            if (!keep.Contains(Path.GetFileName(child)))
            {
                RemoveAny(child);
            }
        }
    }

    /// <summary>Applies the deferred directory times; call once after the last entry.</summary>
    public void Finish()
    {
        for (int i = _directoryTimes.Count - 1; i >= 0; i--)
        {
            (string path, DateTimeOffset time) = _directoryTimes[i];
            if (Lstat(path) == NodeKind.Directory)
            {
                Libc.SetTimesNoFollow(path, time);
            }
        }

        _directoryTimes.Clear();
    }

    /// <summary>
    /// The host path of a directory inside the root, resolving symlinks within the root and creating
    /// missing directories (mode 0755) when <paramref name="create"/>.
    /// </summary>
    public string ResolveDirectory(IEnumerable<string> components, bool create, string entryName)
    {
        var pending = new LinkedList<string>(components);
        string key = string.Join('/', pending);
        if (_resolvedDirs.TryGetValue(key, out string? cached))
        {
            return cached;
        }

        var resolved = new List<string>();
        int hops = 0;
        while (pending.First is { } node)
        {
            string part = node.Value;
            pending.RemoveFirst();
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            string candidate = Path.Join(_root, string.Join('/', resolved), part);
            switch (Lstat(candidate))
            {
                case NodeKind.Directory:
                    resolved.Add(part);
                    break;
                case NodeKind.Missing when create:
                    Directory.CreateDirectory(candidate);
                    resolved.Add(part);
                    break;
                case NodeKind.Missing:
                    throw new DirectoryNotFoundException($"{entryName}: {string.Join('/', resolved.Append(part))} does not exist");
                case NodeKind.Symlink:
                    if (++hops > MaxSymlinkHops)
                    {
                        throw new InvalidImageException($"tar entry \"{entryName}\": too many levels of symbolic links");
                    }

                    string target = new FileInfo(candidate).LinkTarget!;
                    if (target.StartsWith('/'))
                    {
                        resolved.Clear();
                    }

                    foreach (string t in target.Split('/').Reverse())
                    {
                        pending.AddFirst(t);
                    }

                    break;
                default:
                    throw new InvalidImageException($"tar entry \"{entryName}\": {string.Join('/', resolved.Append(part))} is not a directory");
            }
        }

        string result = resolved.Count == 0 ? _root : Path.Join(_root, string.Join('/', resolved));
        _resolvedDirs[key] = result;
        return result;
    }

    /// <summary>
    /// The host path of an existing regular file inside the root, every symlink on the way (the last
    /// one included) resolved inside the root. For reading members of extracted archives safely.
    /// </summary>
    /// <exception cref="InvalidImageException">Missing, not a regular file, or a symlink loop.</exception>
    public string ResolveExistingFile(string relativePath)
    {
        var components = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        for (int hops = 0; hops <= MaxSymlinkHops; hops++)
        {
            if (components.Count == 0)
            {
                break;
            }

            string parent;
            try
            {
                parent = ResolveDirectory(components.Take(components.Count - 1), create: false, relativePath);
            }
            catch (DirectoryNotFoundException e)
            {
                throw new InvalidImageException($"archive member \"{relativePath}\" does not exist", e);
            }

            string path = Path.Join(parent, components[^1]);
            switch (Lstat(path))
            {
                case NodeKind.File:
                    return path;
                case NodeKind.Symlink:
                    string target = new FileInfo(path).LinkTarget!;
                    var next = target.StartsWith('/') ? new List<string>() : Path.GetRelativePath(_root, parent).Split('/').Where(c => c != ".").ToList();
                    next.AddRange(target.Split('/', StringSplitOptions.RemoveEmptyEntries));
                    components = next;
                    continue;
                default:
                    throw new InvalidImageException($"archive member \"{relativePath}\" is not a regular file");
            }
        }

        throw new InvalidImageException($"archive member \"{relativePath}\" cannot be resolved");
    }

    private string ResolveHardLinkTarget(IReadOnlyList<string> target, TarEntry entry)
    {
        if (target.Count == 0)
        {
            throw new InvalidImageException($"hard link \"{entry.Name}\" points at the root");
        }

        string parent = ResolveDirectory(target.Take(target.Count - 1), create: false, entry.Name);
        string path = Path.Join(parent, target[^1]);
        if (Lstat(path) != NodeKind.File)
        {
            throw new InvalidImageException($"hard link \"{entry.Name}\" -> \"{entry.LinkName}\": the target is not a regular file inside the image");
        }

        return path;
    }

    private void WriteFile(string path, TarEntry entry)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            PreallocationSize = entry.Length,
        };
        using var output = new FileStream(path, options);
        if (entry.DataStream is { } data)
        {
            int n;
            while ((n = data.Read(_copyBuffer)) > 0)
            {
                output.Write(_copyBuffer, 0, n);
                BytesWritten += n;
            }
        }
    }

    private void ApplyMetadata(string path, TarEntry entry, bool isDirectory)
    {
        if (_policy.PreserveOwnership)
        {
            Libc.ChownNoFollow(path, entry.Uid, entry.Gid);
        }

        // chown(2) clears setuid bits, so the mode comes after it.
        File.SetUnixFileMode(path, entry.Mode & (UnixFileMode)0xfff);
        if (isDirectory)
        {
            _directoryTimes.Add((path, entry.ModificationTime));
        }
        else
        {
            Libc.SetTimesNoFollow(path, entry.ModificationTime);
        }
    }

    private void ApplyOwnerAndTime(string path, TarEntry entry)
    {
        if (_policy.PreserveOwnership)
        {
            Libc.ChownNoFollow(path, entry.Uid, entry.Gid);
        }

        Libc.SetTimesNoFollow(path, entry.ModificationTime);
    }

    private void RemoveAny(string path)
    {
        switch (Lstat(path))
        {
            case NodeKind.Missing:
                return;
            case NodeKind.Directory:
                ForgetResolved(path);
                Directory.Delete(path, recursive: true);
                return;
            default:
                ForgetResolved(path);
                File.Delete(path);
                return;
        }
    }

    private void ForgetResolved(string path)
    {
        if (_resolvedDirs.Count == 0)
        {
            return;
        }

        // Cached resolutions through a replaced node would be stale.
        string prefix = path + "/";
        foreach (string key in _resolvedDirs.Where(kv => kv.Value == path || kv.Value.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => kv.Key).ToList())
        {
            _resolvedDirs.Remove(key);
        }

        if (new FileInfo(path).LinkTarget is not null)
        {
            _resolvedDirs.Clear(); // a symlink's resolutions are keyed by the link path, not its target.
        }
    }

    internal enum NodeKind
    {
        Missing,
        File,
        Directory,
        Symlink,
        Other,
    }

    /// <summary>What is at <paramref name="path"/> itself, without following a final symlink (one lstat(2)).</summary>
    internal static NodeKind Lstat(string path)
    {
        FileAttributes attributes = new FileInfo(path).Attributes;
        if ((int)attributes == -1)
        {
            return NodeKind.Missing;
        }

        if ((attributes & FileAttributes.ReparsePoint) != 0)
        {
            return NodeKind.Symlink;
        }

        return (attributes & FileAttributes.Directory) != 0 ? NodeKind.Directory : NodeKind.File;
    }
}
