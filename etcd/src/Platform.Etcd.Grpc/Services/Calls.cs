using Grpc.Core;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>One place for what every unary call does around the server call (etcd's unary interceptor).</summary>
internal static class Calls
{
    /// <summary>etcd's metadata asking the member to refuse when it has no leader (rpctypes.MetadataRequireLeaderKey).</summary>
    public const string RequireLeaderKey = "hasleader";

    public static async Task<TResponse> Unary<TRequest, TResponse>(
        ServerCallContext context,
        IServerInfo info,
        TRequest request,
        Func<TRequest, RequestContext, CancellationToken, ValueTask<TResponse>> call)
    {
        RequireLeader(context, info);
        try
        {
            return await call(request, CallContexts.FromGrpc(context), context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw RpcErrors.From(e);
        }
    }

    /// <summary>With <c>hasleader: true</c> metadata and no leader, etcd answers "etcdserver: no leader".</summary>
    public static void RequireLeader(ServerCallContext context, IServerInfo info)
    {
        if (info.Leader == 0 && context.RequestHeaders.GetValue(RequireLeaderKey) == "true")
        {
            throw RpcErrors.NoLeader;
        }
    }
}
