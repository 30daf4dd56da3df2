using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>etcd's Cluster service (v3rpc/member.go): peer URLs are checked before the server sees them.</summary>
internal sealed class ClusterService : Cluster.ClusterBase
{
    private readonly IEtcdServer _server;

    public ClusterService(IEtcdServer server)
    {
        _server = server;
    }

    public override Task<MemberAddResponse> MemberAdd(MemberAddRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, MemberAddCore);

    public override Task<MemberRemoveResponse> MemberRemove(MemberRemoveRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.MemberRemoveAsync);

    public override Task<MemberUpdateResponse> MemberUpdate(MemberUpdateRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, MemberUpdateCore);

    public override Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.MemberListAsync);

    public override Task<MemberPromoteResponse> MemberPromote(MemberPromoteRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.MemberPromoteAsync);

    public ValueTask<MemberAddResponse> MemberAddCore(MemberAddRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        CheckPeerUrls(request.PeerURLs);
        return _server.MemberAddAsync(request, context, cancellationToken);
    }

    public ValueTask<MemberUpdateResponse> MemberUpdateCore(MemberUpdateRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        CheckPeerUrls(request.PeerURLs);
        return _server.MemberUpdateAsync(request, context, cancellationToken);
    }

    // etcd: types.NewURLs must accept them (scheme http/https/unix(s), host:port, no path).
    private static void CheckPeerUrls(IEnumerable<string> urls)
    {
        foreach (string url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri)
                || uri.Scheme is not ("http" or "https" or "unix" or "unixs")
                || uri.IsDefaultPort && !url.Contains(':', StringComparison.Ordinal)
                || uri.AbsolutePath is not ("/" or ""))
            {
                throw RpcErrors.MemberBadUrls;
            }
        }
    }
}
