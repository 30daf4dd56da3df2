using System.Reflection;

namespace Platform.Etcd.Cluster.IntegrationTests.Infrastructure;

/// <summary>Our built etcd, and Debian's etcd 3.4 and etcdctl (TEST_PACKAGES of ./platform).</summary>
internal static class Binaries
{
    public const string RealEtcd = "/usr/bin/etcd";
    public const string Etcdctl = "/usr/bin/etcdctl";

    /// <summary>The apphost of etcd/src/etcd built in the same configuration as this test assembly.</summary>
    public static string OurEtcd { get; } = Path.GetFullPath(
        typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "EtcdExecutable").Value!);
}
