namespace Platform.Etcd.Client;

public sealed record LeaseGrantResult(ResponseHeader Header, long Id, long TtlSeconds);

public sealed record LeaseKeepAliveResult(ResponseHeader Header, long Id, long TtlSeconds);

/// <summary><see cref="TtlSeconds"/> is -1 when the lease has expired or never existed.</summary>
#pragma warning disable CA1819
public sealed record LeaseTimeToLiveResult(ResponseHeader Header, long Id, long TtlSeconds, long GrantedTtlSeconds, IReadOnlyList<byte[]> Keys);
#pragma warning restore CA1819

public sealed record LeaseLeasesResult(ResponseHeader Header, IReadOnlyList<long> Ids);

/// <summary>
/// A running keep-alive for one lease. It renews the lease every third of its TTL over a
/// LeaseKeepAlive stream, reconnecting (any endpoint) when the stream breaks. Dispose to stop
/// renewing; the lease then expires after its TTL unless revoked.
/// </summary>
public interface ILeaseKeepAlive : IAsyncDisposable
{
    public long LeaseId { get; }

    /// <summary>The TTL granted by the latest renewal, in seconds.</summary>
    public long TtlSeconds { get; }

    /// <summary>Successful renewals so far (the initial one included).</summary>
    public long Renewals { get; }

    /// <summary>
    /// Completes, with the reason, when the lease is lost: etcd answered that it no longer exists
    /// (expired or revoked: <see cref="EtcdLeaseNotFoundException"/>), or no renewal got through
    /// before its deadline, or a non-retryable error ended the loop. Renewing stops then.
    /// Cancelled when the handle is disposed before that.
    /// </summary>
    public Task<EtcdClientException> Lost { get; }
}

/// <summary>The Lease service. TTLs are whole seconds; etcd raises TTLs below its minimum (2 s by default).</summary>
public interface ILeaseClient
{
    /// <summary>Grants a lease of <paramref name="ttlSeconds"/>; <paramref name="id"/> 0 lets etcd choose the ID.</summary>
    public Task<LeaseGrantResult> GrantAsync(long ttlSeconds, long id = 0, CancellationToken cancellationToken = default);

    /// <summary>Revokes the lease, deleting every key attached to it.</summary>
    /// <exception cref="EtcdLeaseNotFoundException">No such lease.</exception>
    public Task<ResponseHeader> RevokeAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Remaining and granted TTL, and the attached keys when <paramref name="keys"/>.</summary>
    public Task<LeaseTimeToLiveResult> TimeToLiveAsync(long id, bool keys = false, CancellationToken cancellationToken = default);

    /// <summary>Every live lease.</summary>
    public Task<LeaseLeasesResult> LeasesAsync(CancellationToken cancellationToken = default);

    /// <summary>Renews the lease once.</summary>
    /// <exception cref="EtcdLeaseNotFoundException">The lease has expired or was revoked.</exception>
    public Task<LeaseKeepAliveResult> KeepAliveOnceAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Renews the lease once (so a missing lease fails here) and then keeps renewing it in the
    /// background until the handle is disposed, the client is disposed or the lease is lost.
    /// </summary>
    /// <exception cref="EtcdLeaseNotFoundException">The lease has expired or was revoked.</exception>
    public Task<ILeaseKeepAlive> KeepAliveAsync(long id, CancellationToken cancellationToken = default);
}
