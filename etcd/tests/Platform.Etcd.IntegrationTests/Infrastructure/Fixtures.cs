namespace Platform.Etcd.IntegrationTests.Infrastructure;

/// <summary>One in-process member shared by the tests of a class (each test uses its own keys).</summary>
public sealed class InProcessEtcdFixture : IAsyncLifetime
{
    private InProcessEtcd? _etcd;

    public InProcessEtcd Etcd => _etcd ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _etcd = await InProcessEtcd.StartAsync("inproc");

    public async Task DisposeAsync()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }
}
