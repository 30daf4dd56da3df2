using Platform.Etcd.Client;
using Platform.Flannel.Config;

namespace Platform.Flannel.Subnets;

public enum LeaseEventType
{
    /// <summary>A lease appeared or changed (etcd PUT).</summary>
    Added,

    /// <summary>A lease was deleted or expired (etcd DELETE).</summary>
    Removed,
}

public sealed record LeaseEvent(LeaseEventType Type, SubnetLease Lease);

/// <summary>
/// One batch from <see cref="ISubnetManager.WatchLeasesAsync"/>. A snapshot (<see cref="IsSnapshot"/>)
/// replaces everything the consumer knew: it is the first batch and follows every re-list (after a
/// compaction or a broken watch); its events are all <see cref="LeaseEventType.Added"/>.
/// </summary>
public sealed record LeaseBatch(bool IsSnapshot, IReadOnlyList<LeaseEvent> Events, long Revision);

/// <summary>flannel's <c>subnet.Manager</c> over etcd v3: config, subnet leases, peers.</summary>
public interface ISubnetManager
{
    /// <summary>Reads and checks <c>&lt;prefix&gt;/config</c>.</summary>
    /// <exception cref="NetworkConfigNotFoundException">The key does not exist (flannel's wording).</exception>
    /// <exception cref="NetworkConfigException">The config is invalid (flannel's wording).</exception>
    public Task<NetworkConfig> GetNetworkConfigAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Acquires a subnet for <paramref name="attrs"/> as flannel's <c>tryAcquireLease</c> does: reuse the
    /// lease with our PublicIP if compatible (else delete it), else <paramref name="previousSubnet"/>
    /// (from the old subnet.env) if free and compatible, else a random free subnet. Creation is a
    /// transaction on <c>version == 0</c>, attached to a fresh 24 h etcd lease; races are retried.
    /// </summary>
    /// <exception cref="SubnetsExhaustedException">"out of subnets".</exception>
    public Task<SubnetLease> AcquireLeaseAsync(NetworkConfig config, LeaseAttrs attrs, Ip4Net? previousSubnet = null, CancellationToken cancellationToken = default);

    /// <summary>Re-attaches the key to a fresh 24 h etcd lease (flannel's renewal: grant + put; the old lease is left to expire).</summary>
    public Task<SubnetLease> RenewLeaseAsync(SubnetLease lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists <c>&lt;prefix&gt;/subnets/</c> and watches from the list's revision + 1; on compaction or a
    /// broken watch, waits (100 ms doubling to 5 s) and re-lists, yielding a new snapshot. Never ends
    /// until <paramref name="cancellationToken"/> fires.
    /// </summary>
    public IAsyncEnumerable<LeaseBatch> WatchLeasesAsync(CancellationToken cancellationToken = default);
}

public sealed class SubnetManagerOptions
{
    /// <summary>flannel's <c>--etcd-prefix</c>.</summary>
    public string Prefix { get; init; } = "/coreos.com/network";

    /// <summary>flannel's <c>subnetTTL</c>: 24 h.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromHours(24);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Chooses among free subnets; seeded in tests.</summary>
    public Random Random { get; init; } = Random.Shared;
}

public static class SubnetManagers
{
    /// <summary>An etcd-backed manager; the client stays owned by the caller.</summary>
    public static ISubnetManager CreateEtcd(IEtcdClient client, SubnetManagerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new EtcdSubnetManager(client, options ?? new SubnetManagerOptions());
    }
}

public sealed class NetworkConfigNotFoundException : Exception
{
    public const string Text = "flannel config not found in etcd store. Did you create your config using etcdv3 API?";

    public NetworkConfigNotFoundException()
        : base(Text)
    {
    }

    public NetworkConfigNotFoundException(string message)
        : base(message)
    {
    }

    public NetworkConfigNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

public sealed class SubnetsExhaustedException : Exception
{
    public SubnetsExhaustedException()
        : base("out of subnets")
    {
    }

    public SubnetsExhaustedException(string message)
        : base(message)
    {
    }

    public SubnetsExhaustedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
