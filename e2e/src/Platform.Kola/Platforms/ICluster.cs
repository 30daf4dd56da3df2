namespace Platform.Kola.Platforms;

/// <summary>A set of machines on one network, created empty and destroyed as a whole (kola's Cluster).</summary>
public interface ICluster : IAsyncDisposable
{
    /// <summary>The machines created so far, in creation order.</summary>
    public IReadOnlyList<IMachine> Machines { get; }

    /// <summary>
    /// A fresh etcd discovery URL for a cluster of <paramref name="size"/> members (the
    /// <c>$discovery</c> of cloud-configs), served by the flight's own discovery service.
    /// </summary>
    public ValueTask<Uri> GetDiscoveryUrlAsync(int size, CancellationToken cancellationToken);

    /// <summary>
    /// Boots a machine configured by <paramref name="userData"/> (a cloud-config or script, or
    /// null for none); <c>$private_ipv4</c> and <c>$public_ipv4</c> are substituted with the
    /// machine's addresses before it boots. Returns once the machine's services were started.
    /// </summary>
    public ValueTask<IMachine> NewMachineAsync(string? userData, CancellationToken cancellationToken);

    /// <summary>Cuts every packet between the two groups (both directions) until <see cref="HealAsync"/>.</summary>
    public ValueTask PartitionAsync(IReadOnlyList<IMachine> left, IReadOnlyList<IMachine> right, CancellationToken cancellationToken);

    /// <summary>Removes every partition this cluster made.</summary>
    public ValueTask HealAsync(CancellationToken cancellationToken);
}
