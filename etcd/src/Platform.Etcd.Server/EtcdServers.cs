namespace Platform.Etcd.Server;

/// <summary>Starts etcd servers.</summary>
public static class EtcdServers
{
    /// <summary>etcd's member id for <paramref name="peerUrls"/> bootstrapped with <paramref name="clusterToken"/> (the discovery URL when discovering).</summary>
    public static ulong ComputeMemberId(IEnumerable<string> peerUrls, string clusterToken) =>
        Membership.MemberIds.ComputeMemberId(peerUrls, clusterToken, null);

    /// <summary>
    /// Starts a member: bootstraps a new cluster (a fresh data dir) or restarts from the data dir
    /// (newest usable snapshot, WAL replay above the backend's consistent index), then waits until
    /// the member has applied everything it recovered and, for a single voter, is leader.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="EtcdException">The data dir cannot be used (e.g. another process holds it).</exception>
    public static async ValueTask<IEtcdServer> StartAsync(EtcdServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        EtcdServer server = EtcdServer.Create(options);
        try
        {
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
