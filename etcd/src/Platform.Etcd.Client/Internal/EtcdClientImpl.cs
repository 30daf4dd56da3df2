namespace Platform.Etcd.Client.Internal;

internal sealed class EtcdClientImpl : IEtcdClient
{
    private readonly Connection _connection;

    public EtcdClientImpl(EtcdClientOptions options)
    {
        _connection = new Connection(options);
        Kv = new KvClient(_connection);
        Watch = new WatchClient(_connection);
        Lease = new LeaseClient(_connection);
        Cluster = new ClusterClient(_connection);
        Maintenance = new MaintenanceClient(_connection);
        Auth = new AuthClient(_connection);
    }

    public IReadOnlyList<string> Endpoints => _connection.Addresses;

    public IKvClient Kv { get; }

    public IWatchClient Watch { get; }

    public ILeaseClient Lease { get; }

    public IClusterClient Cluster { get; }

    public IMaintenanceClient Maintenance { get; }

    public IAuthClient Auth { get; }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
