using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Platform.Linux.Namespaces;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>
/// rkt 1.30's <c>rkt export</c>: an exited pod's app, with everything it changed, as a gzipped ACI whose
/// manifest is the app's image manifest (<c>appsinfo/$app/manifest</c>, byte for byte).
/// </summary>
/// <remarks>
/// The app's view (tree rootfs + overlay upper) is assembled in a private mount namespace of one
/// dedicated thread: the overlay is mounted there, the walk and the tar run on that thread, and when it
/// ends the namespace and its mounts are gone. Nothing is mounted where other processes see it, so a
/// killed export leaves nothing behind (rkt mounted under <c>$dir/tmp</c> and unmounted afterwards). A
/// fly pod's app root is still mounted in the host namespace (fly execs into the app and nobody
/// unmounts until gc): its submounts (<c>/proc</c>, <c>/sys</c>, <c>/dev</c>, volumes) are detached in the
/// private namespace, leaving the overlay itself. Volumes are not part of the image, as with rkt.
/// The pod's shared lock is held throughout, so <c>gc</c> and <c>rm</c> skip it meanwhile. The output
/// is written to a temporary file beside it and renamed, so a failure never leaves a partial ACI.
/// </remarks>
public sealed class PodExporter
{
    private readonly PodStore _store;
    private readonly ITreeStore _trees;

    public PodExporter(PodStore store, ITreeStore trees)
    {
        _store = store;
        _trees = trees;
    }

    /// <summary>Exports app <paramref name="appName"/> (or the pod's only app) of pod <paramref name="uuid"/> to <paramref name="output"/>.</summary>
    /// <exception cref="PodException">With rkt's message: not exited, no such app, several apps, output exists, image gone.</exception>
    public void Export(string uuid, string? appName, string output, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(uuid);
        ArgumentNullException.ThrowIfNull(output);
        if (Path.GetExtension(output) != ".aci")
        {
            throw new PodException($"extension must be .aci (given {output})");
        }

        string target = Path.GetFullPath(output);
        if (!overwrite && Path.Exists(target))
        {
            throw new PodException("error building aci: target file exists (try --overwrite)");
        }

        (PodEntry pod, FileLock podLock) = LockExited(_store.Find(uuid));
        using (podLock)
        {
            PodManifest manifest = pod.TryReadManifest() ?? throw new PodException($"problem getting the pod's manifest: {PodLayout.Manifest(pod.Path)} is unreadable");
            RuntimeApp app = SelectApp(manifest, appName);
            byte[] imageManifest;
            try
            {
                imageManifest = File.ReadAllBytes(Path.Join(PodLayout.AppInfo(pod.Path, app.Name), "manifest"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PodException($"error building aci: unable to read Image Manifest: {e.Message}", e);
            }

            ITreeLease tree;
            try
            {
                tree = _trees.Render(app.Image.Id);
            }
            catch (KeyNotFoundException e)
            {
                throw new PodException($"couldn't mount the app's root: image {app.Image.Id} of app {app.Name} is no longer in the store: {e.Message}", e);
            }

            using (tree)
            {
                string temp = Path.Join(Path.GetDirectoryName(target), $".{Path.GetFileName(target)}.rkt-export-{Guid.NewGuid().ToString("N")[..8]}");
                try
                {
                    RunInPrivateMountNamespace(() =>
                    {
                        string root = AppRoot(pod.Path, app.Name, tree.RootfsPath);
                        using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                        using (var gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true))
                        {
                            AciWriter.Write(gzip, imageManifest, root);
                        }

                        file.Flush(flushToDisk: true);
                    });
                    File.Move(temp, target, overwrite);
                }
                catch (IOException e) when (!overwrite && Path.Exists(target))
                {
                    throw new PodException("error building aci: target file exists (try --overwrite)", e);
                }
                finally
                {
                    File.Delete(temp);
                }
            }
        }
    }

    /// <summary>The pod, re-read under its shared lock (gc may have moved it between lookup and lock).</summary>
    private (PodEntry Pod, FileLock Lock) LockExited(PodEntry pod)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            if (pod.State is not (PodStates.Exited or PodStates.ExitedGarbage))
            {
                break;
            }

            FileLock? podLock = null;
            try
            {
                podLock = FileLock.TryAcquire(pod.Path, LockMode.Shared);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // moved on meanwhile: look again
            }

            PodEntry? now = _store.Refresh(pod.Uuid);
            if (podLock is not null && now is not null && now.Path == pod.Path)
            {
                // Our own shared lock does not make it look running: the probe is shared too.
                return (now, podLock);
            }

            podLock?.Dispose();
            if (now is null)
            {
                throw new PodException($"problem retrieving pod: pod {pod.Uuid} no longer exists");
            }

            pod = now;
        }

        throw new PodException("pod is not exited. Only exited pods can be exported");
    }

    /// <summary>rkt's choice: <c>--app</c> if given, else the only app.</summary>
    internal static RuntimeApp SelectApp(PodManifest manifest, string? appName)
    {
        if (!string.IsNullOrEmpty(appName))
        {
            return manifest.Apps.FirstOrDefault(a => a.Name == appName)
                ?? throw new PodException($"unable to find app: app {appName} is not present in pod");
        }

        return manifest.Apps.Count switch
        {
            0 => throw new PodException("unable to find app: pod contains zero apps"),
            1 => manifest.Apps[0],
            _ => throw new PodException($"unable to find app: pod contains multiple apps ({string.Join(", ", manifest.Apps.Select(a => a.Name))}): specify app using \"rkt export --app= ...\""),
        };
    }

    /// <summary>
    /// In the calling thread's private mount namespace: the app's merged root, with no submounts.
    /// </summary>
    private static string AppRoot(string pod, string app, string treeRootfs)
    {
        string root = PodLayout.AppRootfs(pod, app);
        string upper = Path.Join(PodLayout.AppOverlay(pod, app), "upper");
        string work = Path.Join(PodLayout.AppOverlay(pod, app), "work");
        IReadOnlyList<string> mounted = Mounts.MountPointsUnder(root, "/proc/thread-self/mountinfo");
        if (mounted.Contains(root))
        {
            // fly: still mounted from the run; keep the overlay, drop what was bound into it.
            foreach (string point in mounted.Where(p => p != root))
            {
                Mounts.Unmount(point, detach: true);
            }

            return root;
        }

        if (!Directory.Exists(upper))
        {
            return treeRootfs; // the app never ran: nothing changed
        }

        Directory.CreateDirectory(root);
        Directory.CreateDirectory(work);
        Mounts.Mount("overlay", root, "overlay", MountFlags.ReadOnly, $"lowerdir={treeRootfs},upperdir={upper},workdir={work}");
        return root;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a fresh thread that first unshares its filesystem context and
    /// mount namespace and makes every mount private (nothing propagates back to the host). The thread
    /// ends with the body; with it go the namespace and its mounts.
    /// </summary>
    private static void RunInPrivateMountNamespace(Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                NamespaceLauncher.UnshareThreadMountNamespace();
                Mounts.MakePrivate("/", recursive: true);
                body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            Name = "rkt export",
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw failure is PodException or IOException or UnauthorizedAccessException
                ? failure
                : new PodException($"error building aci: {failure.Message}", failure);
        }
    }
}

/// <summary>Packs a manifest and a root directory as an ACI tar: <c>manifest</c>, then <c>rootfs/...</c> in sorted order.</summary>
internal static partial class AciWriter
{
    private const int StatxType = 0x1;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtFdCwd = -100;
    private const int FileTypeMask = 0xF000;
    private const int FileTypeSocket = 0xC000;

    public static void Write(Stream output, byte[] manifest, string rootfs)
    {
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest")
        {
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            DataStream = new MemoryStream(manifest),
            ModificationTime = DateTimeOffset.UtcNow,
        });
        writer.WriteEntry(rootfs, "rootfs");
        AddDirectory(writer, rootfs, "rootfs");
    }

    private static void AddDirectory(TarWriter writer, string dir, string name)
    {
        foreach (FileSystemInfo entry in new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (IsSocket(entry.FullName))
            {
                continue; // a tar cannot hold one (rkt's walker skipped them too)
            }

            string entryName = name + "/" + entry.Name;
            writer.WriteEntry(entry.FullName, entryName);
            if (entry.LinkTarget is null && (entry.Attributes & FileAttributes.Directory) != 0)
            {
                AddDirectory(writer, entry.FullName, entryName);
            }
        }
    }

    /// <summary>statx(2) with the file type only: its layout is the same on every architecture.</summary>
    private static unsafe bool IsSocket(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            return false; // let the tar writer report it
        }

        ushort mode = *(ushort*)(buffer + 28); // stx_mode
        return (mode & FileTypeMask) == FileTypeSocket;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, int mask, byte* buffer);
}
