using System.Runtime.ExceptionServices;
using System.Text;
using static Tmds.Linux.LibC;

namespace Platform.Linux.Netns;

/// <summary>
/// A Linux network namespace held open by a file descriptor, like <c>ip netns</c>'s
/// <c>/run/netns/NAME</c> files. Code runs "inside" it on a dedicated, fresh thread that
/// <c>setns()</c>-ed into the namespace; that thread ends afterwards and is never returned to a pool,
/// so no other code ever runs in the wrong namespace.
/// </summary>
/// <remarks>
/// The namespace of a socket, a TUN file or a netlink handle is fixed when it is created: anything
/// created inside <see cref="Run"/> keeps working in this namespace from any thread afterwards (that
/// is how per-namespace <c>IRtNetlink</c> handles and UDP sockets are made). A child process started
/// (<c>Process.Start</c>) inside <see cref="Run"/> inherits the namespace. Note that <c>/sys</c> and
/// <c>/proc/net</c> of this process still show the namespace of the mount / of the main thread.
/// </remarks>
public sealed class NetworkNamespace : IDisposable
{
    private int _fd;

    private NetworkNamespace(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <summary>Where the namespace was opened from or is bind-mounted.</summary>
    public string Path { get; }

    /// <summary>The namespace file descriptor (O_CLOEXEC), valid until <see cref="Dispose"/>; e.g. for IFLA_NET_NS_FD.</summary>
    public int FileDescriptor
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            return _fd;
        }
    }

    /// <summary>
    /// Creates a new network namespace (unshare(CLONE_NEWNET) on a dedicated thread) and bind-mounts it at
    /// <paramref name="path"/> (parent directories and the file are created). Its <c>lo</c> is left down,
    /// as the kernel makes it.
    /// </summary>
    /// <exception cref="IOException">The file already exists.</exception>
    /// <exception cref="LinuxException">unshare or mount failed (e.g. EPERM when not root).</exception>
    public static NetworkNamespace Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        using (new FileStream(full, FileMode.CreateNew, FileAccess.Write))
        {
            // An empty file is the bind-mount target, as `ip netns add` makes it.
        }

        try
        {
            RunOnFreshThread(() =>
            {
                Check(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)");
                Mount("/proc/thread-self/ns/net", full);
                return 0;
            });
        }
        catch
        {
            File.Delete(full);
            throw;
        }

        return Open(full);
    }

    /// <summary>Opens an existing namespace, e.g. <c>/proc/&lt;pid&gt;/ns/net</c> or <c>/run/netns/x</c>.</summary>
    /// <exception cref="LinuxException">open failed (ENOENT, ...).</exception>
    public static NetworkNamespace Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd = OpenFile(path, $"open {path}");
        return new NetworkNamespace(fd, path);
    }

    /// <summary>The calling thread's namespace.</summary>
    public static NetworkNamespace Current()
    {
        // thread-self, not self: a thread inside Run may differ from the main thread.
        int fd = OpenFile("/proc/thread-self/ns/net", "open /proc/thread-self/ns/net");
        // "/proc/thread-self" links to "<pid>/task/<tid>".
        string? self = new FileInfo("/proc/thread-self").LinkTarget;
        return new NetworkNamespace(fd, self is null ? "/proc/thread-self/ns/net" : $"/proc/{self}/ns/net");
    }

    /// <summary>
    /// Whether <paramref name="path"/> refers to a namespace: a namespace bind mount (what <see cref="Create"/>
    /// and <c>ip netns add</c> make) or a <c>/proc/PID/ns/*</c> link. The empty file left behind once the
    /// mount is gone is not. Every namespace file lives on the kernel's one nsfs, so its device is the one
    /// of this thread's own <c>/proc/thread-self/ns/net</c> (<c>ip netns identify</c> relies on the same).
    /// False when the path does not exist.
    /// </summary>
    /// <exception cref="LinuxException">stat failed for another reason than a missing path.</exception>
    public static unsafe bool IsNamespaceFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Tmds.Linux.stat target;
        Tmds.Linux.stat own;
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* n = name)
        {
            if (stat(n, &target) != 0)
            {
                int e = errno;
                return e == ENOENT || e == ENOTDIR ? false : throw new LinuxException($"stat {path}", e);
            }
        }

        fixed (byte* n = "/proc/thread-self/ns/net\0"u8)
        {
            if (stat(n, &own) != 0)
            {
                throw new LinuxException("stat /proc/thread-self/ns/net", errno);
            }
        }

        return target.st_dev == own.st_dev;
    }

    /// <summary>Unmounts (MNT_DETACH) and removes a namespace file made by <see cref="Create"/>; idempotent.</summary>
    /// <remarks>The namespace itself goes away when no process, socket or handle refers to it any more.</remarks>
    public static unsafe void Delete(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] target = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* t = target)
        {
            if (umount2(t, MNT_DETACH) != 0)
            {
                int e = errno;
                // EINVAL: not a mount point (already unmounted); ENOENT: gone.
                if (e != EINVAL && e != ENOENT)
                {
                    throw new LinuxException($"umount2 {path}", e);
                }
            }

            if (unlink(t) != 0 && errno != ENOENT)
            {
                throw new LinuxException($"unlink {path}", errno);
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> on a fresh thread inside this namespace and waits for it; exceptions are rethrown.</summary>
    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run(() =>
        {
            action();
            return 0;
        });
    }

    /// <summary>Runs <paramref name="function"/> on a fresh thread inside this namespace and returns its result.</summary>
    /// <remarks>
    /// Only synchronous code runs inside: a task started or awaited by <paramref name="function"/> continues on
    /// pool threads, which are in the process's namespace. Create sockets/handles inside and use them outside.
    /// </remarks>
    public T Run<T>(Func<T> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        int fd = FileDescriptor;
        return RunOnFreshThread(() =>
        {
            Check(setns(fd, CLONE_NEWNET), $"setns {Path}");
            return function();
        });
    }

    /// <summary>Like <see cref="Run{T}(Func{T})"/> without blocking the caller: the task completes when the thread is done.</summary>
    public Task<T> RunAsync<T>(Func<T> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(Run(function));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns-async",
        };
        thread.Start();
        return done.Task;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    private static T RunOnFreshThread<T>(Func<T> function)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = function();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    private static unsafe void Mount(string source, string target)
    {
        byte[] s = Encoding.UTF8.GetBytes(source + "\0");
        byte[] t = Encoding.UTF8.GetBytes(target + "\0");
        byte[] type = "none\0"u8.ToArray();
        fixed (byte* ps = s, pt = t, ptype = type)
        {
            Check(mount(ps, pt, ptype, MS_BIND, null), $"mount --bind {source} {target}");
        }
    }

    private static unsafe int OpenFile(string path, string operation)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            int fd = open(pp, O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0)
            {
                throw new LinuxException(operation, errno);
            }

            return fd;
        }
    }

    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new LinuxException(operation, errno);
        }
    }
}
