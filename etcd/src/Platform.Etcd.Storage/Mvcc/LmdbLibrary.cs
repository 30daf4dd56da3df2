using System.Reflection;
using System.Runtime.InteropServices;
using LightningDB;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// Chooses the native LMDB that LightningDB's "lmdb" imports bind to.
/// </summary>
/// <remarks>
/// LightningDB 0.23.1 bundles an LMDB 1.0 pre-release built against glibc 2.38; Debian 12 has
/// glibc 2.36, so that library does not load here. We bind to Debian's liblmdb0 (LMDB 0.9.x,
/// <c>liblmdb.so.0</c>) whenever it is installed, on every machine, not only where the bundled
/// one fails: the two write incompatible file formats, and a data directory must not depend on
/// which glibc the host has. We use only calls 0.9 has (no page size, checksum, encryption,
/// rollback or incremental copy).
/// </remarks>
internal static class LmdbLibrary
{
    public const string SystemLibrary = "liblmdb.so.0";
    private static readonly Lock s_lock = new();
    private static bool s_installed;

    /// <summary>The library the resolver loaded, for diagnostics.</summary>
    public static string? Loaded { get; private set; }

    public static void EnsureResolver()
    {
        lock (s_lock)
        {
            if (s_installed)
            {
                return;
            }

            s_installed = true;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone else in the process installed a resolver for LightningDB first; theirs wins.
            }
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "lmdb")
        {
            return IntPtr.Zero;
        }

        if (OperatingSystem.IsLinux() && NativeLibrary.TryLoad(SystemLibrary, out IntPtr handle))
        {
            Loaded = SystemLibrary;
            return handle;
        }

        Loaded = "bundled";
        return IntPtr.Zero;
    }
}
