using Platform.Etcd.Client.IntegrationTests.Infrastructure;

namespace Platform.Etcd.Client.IntegrationTests;

// Every test class against the real etcd 3.4, each with its own etcd process (IClassFixture).
// OurEtcdTests.cs runs the same classes against our etcd.

public sealed class RealEtcd34KvTests(RealEtcd34 fixture) : KvTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34WatchTests(RealEtcd34 fixture) : WatchTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34WatchResumeTests(RealEtcd34 fixture) : WatchResumeTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34LeaseTests(RealEtcd34 fixture) : LeaseTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34ClusterMaintenanceTests(RealEtcd34 fixture) : ClusterMaintenanceTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34AuthTests(RealEtcd34 fixture) : AuthTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;

public sealed class RealEtcd34FailoverTests(RealEtcd34 fixture) : FailoverTests<RealEtcd34>(fixture), IClassFixture<RealEtcd34>;
