using System.Runtime.InteropServices;
using System.Text;

namespace Platform.Linux.Processes;

/// <summary>
/// A <see cref="SpawnRequest"/> turned into native memory (argv, envp, posix_spawn attributes and file
/// actions) so that the spawn itself is a single libc call with no managed allocation: the form needed
/// inside the critical windows of <c>NamespaceLauncher</c>, where the calling thread must not run
/// arbitrary runtime code.
/// </summary>
internal sealed unsafe class PreparedSpawn : IDisposable
{
    private readonly byte* _path;
    private readonly byte** _argv;
    private readonly byte** _envp;
    private readonly void* _attr;
    private readonly void* _actions;
    private readonly List<nint> _strings = [];
    private bool _disposed;

    public PreparedSpawn(SpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Path.StartsWith('/'))
        {
            throw new ArgumentException($"executable path must be absolute: {request.Path}", nameof(request));
        }

        if (request.Arguments.Count == 0)
        {
            throw new ArgumentException("argv needs at least argv[0]", nameof(request));
        }

        _path = Utf8(request.Path);
        _argv = StringArray(request.Arguments);
        _envp = StringArray(request.Environment);
        _attr = NativeMemory.AllocZeroed(Sys.SpawnAttrBytes);
        _actions = NativeMemory.AllocZeroed(Sys.FileActionsBytes);
        Check(Sys.SpawnAttrInit(_attr), "posix_spawnattr_init");
        Check(Sys.FileActionsInit(_actions), "posix_spawn_file_actions_init");

        byte* set = stackalloc byte[Sys.SigSetBytes];
        _ = Sys.SigEmptySet(set);
        Check(Sys.SpawnAttrSetSigMask(_attr, set), "posix_spawnattr_setsigmask");
        _ = Sys.SigFillSet(set);
        _ = Sys.SigDelSet(set, 9);
        _ = Sys.SigDelSet(set, 19);
        Check(Sys.SpawnAttrSetSigDefault(_attr, set), "posix_spawnattr_setsigdefault");
        short flags = Sys.PosixSpawnSetSigDef | Sys.PosixSpawnSetSigMask;
        if (request.NewSession)
        {
            flags |= Sys.PosixSpawnSetSid;
        }

        Check(Sys.SpawnAttrSetFlags(_attr, flags), "posix_spawnattr_setflags");

        // dup2 onto 0, 1, 2 in order. A source equal to its target would be a no-op that keeps
        // FD_CLOEXEC on some glibc versions, so the caller's own 0/1/2 (never close-on-exec) are skipped.
        int[] sources = [request.StdinFd, request.StdoutFd, request.StderrFd];
        for (int target = 0; target < 3; target++)
        {
            if (sources[target] != target)
            {
                Check(Sys.FileActionsAddDup2(_actions, sources[target], target), "posix_spawn_file_actions_adddup2");
            }
        }

        if (request.WorkingDirectory is { } cwd)
        {
            Check(Sys.FileActionsAddChdir(_actions, cwd), "posix_spawn_file_actions_addchdir_np");
        }

        Description = request.Path;
    }

    public string Description { get; }

    /// <summary>posix_spawn from the calling thread; returns 0 and the pid, or the error number. Allocation-free.</summary>
    public int Spawn(int* pid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return NativeCalls.PosixSpawn(pid, _path, _actions, _attr, _argv, _envp);
    }

    internal byte* PathPointer => _path;

    internal void* Actions => _actions;

    internal void* Attributes => _attr;

    internal byte** Argv => _argv;

    internal byte** Envp => _envp;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = Sys.SpawnAttrDestroy(_attr);
        _ = Sys.FileActionsDestroy(_actions);
        NativeMemory.Free(_attr);
        NativeMemory.Free(_actions);
        NativeMemory.Free(_argv);
        NativeMemory.Free(_envp);
        foreach (nint s in _strings)
        {
            NativeMemory.Free((void*)s);
        }
    }

    private byte* Utf8(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("a NUL byte in an argument or environment entry");
        }

        int length = Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(value, new Span<byte>(p, length));
        p[length] = 0;
        _strings.Add((nint)p);
        return p;
    }

    private byte** StringArray(IReadOnlyList<string> values)
    {
        byte** array = (byte**)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < values.Count; i++)
        {
            array[i] = Utf8(values[i]);
        }

        return array;
    }

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw new LinuxException(what, result);
        }
    }
}
