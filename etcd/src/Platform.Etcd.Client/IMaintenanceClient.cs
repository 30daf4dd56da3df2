namespace Platform.Etcd.Client;

public enum AlarmType
{
    None,
    NoSpace,
    Corrupt,
}

public sealed record AlarmMember(ulong MemberId, AlarmType Alarm);

/// <summary>One member's status (etcdctl endpoint status). Sizes are in bytes.</summary>
public sealed record StatusResult(
    ResponseHeader Header,
    string Version,
    long DbSizeBytes,
    long DbSizeInUseBytes,
    ulong Leader,
    ulong RaftIndex,
    ulong RaftTerm,
    ulong RaftAppliedIndex,
    IReadOnlyList<string> Errors,
    bool IsLearner);

public sealed record HashResult(ResponseHeader Header, uint Hash);

public sealed record HashKVResult(ResponseHeader Header, uint Hash, long CompactRevision);

/// <summary>
/// The Maintenance service. Calls that concern one member take an optional <c>endpoint</c>, which
/// must be one of <see cref="IEtcdClient.Endpoints"/>: given, the call goes to that member only
/// (no failover); null, to any member.
/// </summary>
public interface IMaintenanceClient
{
    public Task<StatusResult> StatusAsync(string? endpoint = null, CancellationToken cancellationToken = default);

    /// <summary>Every raised alarm in the cluster.</summary>
    public Task<IReadOnlyList<AlarmMember>> AlarmListAsync(CancellationToken cancellationToken = default);

    /// <summary>Clears an alarm (e.g. NOSPACE after freeing space); returns the alarms that were cleared.</summary>
    public Task<IReadOnlyList<AlarmMember>> AlarmDisarmAsync(AlarmMember alarm, CancellationToken cancellationToken = default);

    /// <summary>Defragments a member's backend. Bounded by <see cref="EtcdClientOptions.RequestTimeout"/>.</summary>
    public Task<ResponseHeader> DefragmentAsync(string? endpoint = null, CancellationToken cancellationToken = default);

    /// <summary>Hash of a member's whole backend.</summary>
    public Task<HashResult> HashAsync(string? endpoint = null, CancellationToken cancellationToken = default);

    /// <summary>Hash of the MVCC key space up to <paramref name="revision"/> (0: latest); equal on members with equal histories.</summary>
    public Task<HashKVResult> HashKVAsync(long revision = 0, string? endpoint = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a member's backend snapshot into <paramref name="destination"/> and returns the bytes
    /// written. etcd appends a SHA-256 of the preceding bytes as the last 32 bytes. Not bounded by
    /// <see cref="EtcdClientOptions.RequestTimeout"/>; retried on another endpoint only before the
    /// first byte was written.
    /// </summary>
    public Task<long> SnapshotAsync(Stream destination, string? endpoint = null, CancellationToken cancellationToken = default);

    /// <summary>Asks the leader (<paramref name="endpoint"/> must be it) to hand leadership to <paramref name="targetMemberId"/>.</summary>
    public Task<ResponseHeader> MoveLeaderAsync(ulong targetMemberId, string? endpoint = null, CancellationToken cancellationToken = default);
}
