using System.Reflection;

namespace Platform.Etcd.IntegrationTests.Infrastructure;

/// <summary>Where the peers live: Debian's etcd 3.4 packages and our built executable.</summary>
internal static class Binaries
{
    public const string RealEtcd = "/usr/bin/etcd";
    public const string Etcdctl = "/usr/bin/etcdctl";

    // Debian's python with python3-etcd3, not whatever python3 is first on PATH.
    public const string Python = "/usr/bin/python3";

    /// <summary>The apphost of etcd/src/etcd built in the same configuration as this test assembly.</summary>
    public static string OurEtcd { get; } = Path.GetFullPath(
        typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "EtcdExecutable").Value!);

    public static bool HasPythonEtcd3 { get; } = File.Exists(Python) && Directory.Exists("/usr/lib/python3/dist-packages/etcd3");

    /// <summary>Why a test needing <paramref name="paths"/> must skip, or null. As root (CI) nothing skips: a missing package fails.</summary>
    public static string? SkipReason(params string[] paths)
    {
        string[] missing = [.. paths.Where(p => !File.Exists(p))];
        if (missing.Length == 0 || Environment.IsPrivilegedProcess)
        {
            return null;
        }

        return $"needs {string.Join(", ", missing)} (Debian packages etcd-server, etcd-client, python3-etcd3; `./platform test` installs them when run as root)";
    }
}

/// <summary>A fact that needs etcdctl 3.4 (Debian etcd-client).</summary>
public sealed class EtcdctlFactAttribute : FactAttribute
{
    public EtcdctlFactAttribute()
    {
        Skip = Binaries.SkipReason(Binaries.Etcdctl);
    }
}

/// <summary>A fact that needs the real etcd 3.4 (Debian etcd-server) and etcdctl.</summary>
public sealed class RealEtcdFactAttribute : FactAttribute
{
    public RealEtcdFactAttribute()
    {
        Skip = Binaries.SkipReason(Binaries.RealEtcd, Binaries.Etcdctl);
    }
}

/// <summary>A fact that needs /usr/bin/python3 with python3-etcd3.</summary>
public sealed class PythonEtcd3FactAttribute : FactAttribute
{
    public PythonEtcd3FactAttribute()
    {
        Skip = Binaries.HasPythonEtcd3 || Environment.IsPrivilegedProcess
            ? null
            : "needs /usr/bin/python3 with python3-etcd3 (Debian package; `./platform test` installs it when run as root)";
    }
}
