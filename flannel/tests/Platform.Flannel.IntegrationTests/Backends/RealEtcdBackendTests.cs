using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Backends;

/// <summary>
/// The three-host scenario once against the real etcd 3.4: flanneld's data in a store nobody here wrote
/// is flannel's key layout (keys, JSON, 24 h leases), and the watch-driven routing behaves the same.
/// vxlan, because its leases carry the most (BackendType and BackendData).
/// </summary>
public sealed class RealEtcdBackendTests : IClassFixture<RealEtcd>, IDisposable
{
    private readonly RealEtcd _etcd;
    private readonly TestDirectory _directory = TestDirectory.Create("flannel-backends-real");

    public RealEtcdBackendTests(RealEtcd etcd)
    {
        _etcd = etcd;
    }

    public void Dispose() => _directory.Dispose();

    [RootFact("creates network namespaces, veths, bridges and vxlan devices")]
    public Task ThreeHosts_Vxlan_OnRealEtcd34_SameLayoutAndRouting() =>
        ThreeHostScenario.RunAsync(_etcd, "vxlan", $"/test-{Guid.NewGuid():N}/network", _directory, TimeSpan.FromSeconds(30));
}
