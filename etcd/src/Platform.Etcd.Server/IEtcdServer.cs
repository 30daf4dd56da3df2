using Platform.Etcd.Api;

namespace Platform.Etcd.Server;

// The narrow interfaces between etcd's API layer (gRPC services, JSON gateway, v2 HTTP) and the
// server. The API layer validates requests, calls these, translates EtcdException into gRPC
// status / HTTP errors, and leaves the response header to the server (which fills cluster_id,
// member_id, revision and raft_term). Every write goes through raft, even with one member.
// Reads are linearizable (ReadIndex, then wait for apply) unless the request says serializable.

/// <summary>Who is asking: the user name from an auth token or a client certificate's CN.</summary>
/// <param name="Token">The auth token presented (gRPC metadata "token" / gateway Authorization header), or null.</param>
/// <param name="CommonName">The verified client certificate's common name, or null.</param>
public sealed record RequestContext(string? Token = null, string? CommonName = null)
{
    public static RequestContext Anonymous { get; } = new();
}

/// <summary>The KV service: Range, Put, DeleteRange, Txn, Compact.</summary>
public interface IKvServer
{
    public ValueTask<RangeResponse> RangeAsync(RangeRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<PutResponse> PutAsync(PutRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<TxnResponse> TxnAsync(TxnRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<CompactionResponse> CompactAsync(CompactionRequest request, RequestContext context, CancellationToken cancellationToken);
}

/// <summary>The Lease service. KeepAlive streams call <see cref="LeaseRenewAsync"/> per request.</summary>
public interface ILeaseServer
{
    public ValueTask<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<LeaseRevokeResponse> LeaseRevokeAsync(LeaseRevokeRequest request, RequestContext context, CancellationToken cancellationToken);

    /// <summary>Renews lease <paramref name="request"/>.ID; the response carries the new TTL, or TTL 0 when the lease is gone (as etcd answers).</summary>
    public ValueTask<LeaseKeepAliveResponse> LeaseRenewAsync(LeaseKeepAliveRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<LeaseLeasesResponse> LeaseLeasesAsync(LeaseLeasesRequest request, RequestContext context, CancellationToken cancellationToken);
}

/// <summary>The Cluster service (membership goes through raft conf changes).</summary>
public interface IClusterServer
{
    public ValueTask<MemberAddResponse> MemberAddAsync(MemberAddRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<MemberRemoveResponse> MemberRemoveAsync(MemberRemoveRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<MemberUpdateResponse> MemberUpdateAsync(MemberUpdateRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<MemberListResponse> MemberListAsync(MemberListRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<MemberPromoteResponse> MemberPromoteAsync(MemberPromoteRequest request, RequestContext context, CancellationToken cancellationToken);
}

/// <summary>The Maintenance service.</summary>
public interface IMaintenanceServer
{
    public ValueTask<AlarmResponse> AlarmAsync(AlarmRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<StatusResponse> StatusAsync(StatusRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<DefragmentResponse> DefragmentAsync(DefragmentRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<HashResponse> HashAsync(HashRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<HashKVResponse> HashKVAsync(HashKVRequest request, RequestContext context, CancellationToken cancellationToken);

    /// <summary>The backend database as a stream of chunks (remaining_bytes counting down), ending with etcd's sha256 trailer.</summary>
    public IAsyncEnumerable<SnapshotResponse> SnapshotAsync(SnapshotRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<MoveLeaderResponse> MoveLeaderAsync(MoveLeaderRequest request, RequestContext context, CancellationToken cancellationToken);
}

/// <summary>The Auth service.</summary>
public interface IAuthServer
{
    public ValueTask<AuthEnableResponse> AuthEnableAsync(AuthEnableRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthDisableResponse> AuthDisableAsync(AuthDisableRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthStatusResponse> AuthStatusAsync(AuthStatusRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthenticateResponse> AuthenticateAsync(AuthenticateRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserAddResponse> UserAddAsync(AuthUserAddRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserGetResponse> UserGetAsync(AuthUserGetRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserListResponse> UserListAsync(AuthUserListRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserDeleteResponse> UserDeleteAsync(AuthUserDeleteRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserChangePasswordResponse> UserChangePasswordAsync(AuthUserChangePasswordRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserGrantRoleResponse> UserGrantRoleAsync(AuthUserGrantRoleRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthUserRevokeRoleResponse> UserRevokeRoleAsync(AuthUserRevokeRoleRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleAddResponse> RoleAddAsync(AuthRoleAddRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleGetResponse> RoleGetAsync(AuthRoleGetRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleListResponse> RoleListAsync(AuthRoleListRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleDeleteResponse> RoleDeleteAsync(AuthRoleDeleteRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleGrantPermissionResponse> RoleGrantPermissionAsync(AuthRoleGrantPermissionRequest request, RequestContext context, CancellationToken cancellationToken);

    public ValueTask<AuthRoleRevokePermissionResponse> RoleRevokePermissionAsync(AuthRoleRevokePermissionRequest request, RequestContext context, CancellationToken cancellationToken);
}

/// <summary>The Watch service: one <see cref="IWatchStream"/> per gRPC Watch stream.</summary>
public interface IWatchServer
{
    public IWatchStream OpenWatchStream(RequestContext context);
}

/// <summary>
/// Many watchers multiplexed on one stream, as etcd's gRPC Watch. Responses (created, events,
/// progress, canceled with compact_revision / cancel_reason, fragments) arrive on
/// <see cref="Responses"/> in order; the stream ends when disposed.
/// </summary>
public interface IWatchStream : IAsyncDisposable
{
    public System.Threading.Channels.ChannelReader<WatchResponse> Responses { get; }

    /// <summary>Handles one client message (create, cancel or progress request); answers arrive on <see cref="Responses"/>.</summary>
    public ValueTask HandleAsync(WatchRequest request, CancellationToken cancellationToken);
}

/// <summary>What /health, /version, /metrics and response headers need.</summary>
public interface IServerInfo
{
    public ulong ClusterId { get; }

    public ulong MemberId { get; }

    /// <summary>The current leader's member id, 0 when there is none.</summary>
    public ulong Leader { get; }

    public ulong RaftTerm { get; }

    public ulong AppliedIndex { get; }

    /// <summary>Why the member is unhealthy (no leader, an active alarm), or null when healthy.</summary>
    public string? HealthProblem { get; }

    /// <summary>The server version reported on /version and in Status ("3.4.23"-compatible).</summary>
    public string Version { get; }

    /// <summary>The cluster version ("3.4.0").</summary>
    public string ClusterVersion { get; }

    /// <summary>Completes, with the reason, when the member stops by itself (removed from the cluster, raft loop failure).</summary>
    public Task<string> Terminated { get; }
}

/// <summary>
/// The v2 keys API (etcd's v2 Request), applied through raft like v3 writes: mutations (PUT, POST,
/// DELETE, and GET with quorum=true) are proposed and answered once applied to the v2 store;
/// plain GETs read the local store; waits return a watcher. Errors are
/// <see cref="Platform.Etcd.V2Store.V2Error"/> with etcd's codes.
/// </summary>
public interface IV2Server
{
    /// <summary>The store's current index (X-Etcd-Index).</summary>
    public ulong V2Index { get; }

    public ValueTask<Platform.Etcd.V2Store.V2Event> V2DoAsync(V2Request request, CancellationToken cancellationToken);

    /// <summary>A watcher for GET ?wait=true (and stream=true); starts at <paramref name="sinceIndex"/> (0 = from now).</summary>
    public Platform.Etcd.V2Store.IV2Watcher V2Watch(string path, bool recursive, bool stream, ulong sinceIndex);
}

/// <summary>A v2 keys request, as parsed by the HTTP layer from /v2/keys.</summary>
/// <param name="Method">GET, PUT, POST or DELETE.</param>
/// <param name="Path">The key path, starting with '/'.</param>
/// <param name="Value">PUT/POST value.</param>
/// <param name="Dir">Create or delete a directory.</param>
/// <param name="PrevValue">Compare-and-swap/delete on value.</param>
/// <param name="PrevIndex">Compare-and-swap/delete on modified index (0 = none).</param>
/// <param name="PrevExist">prevExist=true/false, or null when absent.</param>
/// <param name="Ttl">ttl= in seconds, null when absent; an empty ttl= clears the TTL (TtlCleared).</param>
/// <param name="TtlCleared">ttl= was given empty: make the key permanent.</param>
/// <param name="Refresh">Refresh the TTL without changing the value or notifying watchers.</param>
/// <param name="Recursive">GET/DELETE recursively.</param>
/// <param name="Sorted">GET children sorted.</param>
/// <param name="Quorum">GET through raft (linearizable).</param>
public sealed record V2Request(
    string Method,
    string Path,
    string? Value = null,
    bool Dir = false,
    string? PrevValue = null,
    ulong PrevIndex = 0,
    bool? PrevExist = null,
    long? Ttl = null,
    bool TtlCleared = false,
    bool Refresh = false,
    bool Recursive = false,
    bool Sorted = false,
    bool Quorum = false);

/// <summary>Everything the API layer serves.</summary>
public interface IEtcdServer : IKvServer, ILeaseServer, IClusterServer, IMaintenanceServer, IAuthServer, IWatchServer, IV2Server, IServerInfo, IAsyncDisposable
{
}
