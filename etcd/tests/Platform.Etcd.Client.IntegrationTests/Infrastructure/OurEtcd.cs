using System.Reflection;

namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>Our etcd: the etcd/src/etcd executable (built before this project), with the same flags as the real one.</summary>
public sealed class OurEtcd : EtcdProcessFixture
{
    private static readonly string s_executable = Path.GetFullPath(
        typeof(OurEtcd).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "OurEtcdExecutable").Value!);

    public override string Name => "our etcd";

    // Ours reports the etcd version it is compatible with.
    public override string VersionPrefix => "3.4.";

    protected override string Executable => s_executable;
}
