using Platform.Etcd.Client.IntegrationTests.Infrastructure;

namespace Platform.Etcd.Client.IntegrationTests;

// Every test class against our etcd (etcd/src/etcd as a child process), each with its own process:
// the same tests as RealEtcd34Tests.cs, so any difference in behaviour the client sees fails here.

public sealed class OurEtcdKvTests(OurEtcd fixture) : KvTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdWatchTests(OurEtcd fixture) : WatchTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdWatchResumeTests(OurEtcd fixture) : WatchResumeTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdLeaseTests(OurEtcd fixture) : LeaseTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdClusterMaintenanceTests(OurEtcd fixture) : ClusterMaintenanceTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdAuthTests(OurEtcd fixture) : AuthTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;

public sealed class OurEtcdFailoverTests(OurEtcd fixture) : FailoverTests<OurEtcd>(fixture), IClassFixture<OurEtcd>;
