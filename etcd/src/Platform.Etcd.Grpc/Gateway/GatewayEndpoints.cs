using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Platform.Etcd.Api;
using Platform.Etcd.Grpc.Services;
using Platform.Etcd.Server;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.Grpc.Gateway;

/// <summary>
/// etcd 3.4's JSON gateway: <c>POST /v3/&lt;path&gt;</c> (and <c>/v3beta/</c>, which etcd rewrites to
/// <c>/v3/</c>; 3.4.23 does not serve <c>/v3alpha/</c>) with the request as proto3 JSON, answered
/// through the same code as gRPC. Errors are grpc-gateway's: HTTP status from the gRPC code and
/// <c>{"error":…,"message":…,"code":N}</c>; streams are successive <c>{"result":…}</c> lines.
/// </summary>
internal static class GatewayEndpoints
{
    private delegate Task Handler(HttpContext http, IServiceProvider services);

    private static readonly Dictionary<string, Handler> s_routes = BuildRoutes();

    public static void MapEtcdGateway(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/v3/{**path}", context => DispatchAsync(context, "/v3/"));
        endpoints.Map("/v3beta/{**path}", context => DispatchAsync(context, "/v3beta/"));
    }

    private static Task DispatchAsync(HttpContext context, string prefix)
    {
        string path = context.Request.Path.Value![prefix.Length..];
        if (!s_routes.TryGetValue(path, out Handler? handler))
        {
            return PlainText(context, StatusCodes.Status404NotFound, "Not Found");
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            return PlainText(context, StatusCodes.Status405MethodNotAllowed, "Method Not Allowed");
        }

        return handler(context, context.RequestServices);
    }

    private static Dictionary<string, Handler> BuildRoutes()
    {
        var routes = new Dictionary<string, Handler>(StringComparer.Ordinal)
        {
            ["kv/range"] = Unary<RangeRequest, RangeResponse>(s => s.GetRequiredService<KvService>().RangeCore),
            ["kv/put"] = Unary<PutRequest, PutResponse>(s => s.GetRequiredService<KvService>().PutCore),
            ["kv/deleterange"] = Unary<DeleteRangeRequest, DeleteRangeResponse>(s => s.GetRequiredService<KvService>().DeleteRangeCore),
            ["kv/txn"] = Unary<TxnRequest, TxnResponse>(s => s.GetRequiredService<KvService>().TxnCore),
            ["kv/compaction"] = Unary<CompactionRequest, CompactionResponse>(s => s.GetRequiredService<KvService>().CompactCore),
            ["watch"] = WatchAsync,
            ["lease/grant"] = Unary<LeaseGrantRequest, LeaseGrantResponse>(s => s.GetRequiredService<LeaseService>().LeaseGrantCore),
            ["lease/revoke"] = Unary<LeaseRevokeRequest, LeaseRevokeResponse>(s => Server(s).LeaseRevokeAsync),
            ["kv/lease/revoke"] = Unary<LeaseRevokeRequest, LeaseRevokeResponse>(s => Server(s).LeaseRevokeAsync),
            ["lease/keepalive"] = KeepAliveAsync,
            ["lease/timetolive"] = Unary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(s => Server(s).LeaseTimeToLiveAsync),
            ["kv/lease/timetolive"] = Unary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(s => Server(s).LeaseTimeToLiveAsync),
            ["lease/leases"] = Unary<LeaseLeasesRequest, LeaseLeasesResponse>(s => Server(s).LeaseLeasesAsync),
            ["kv/lease/leases"] = Unary<LeaseLeasesRequest, LeaseLeasesResponse>(s => Server(s).LeaseLeasesAsync),
            ["cluster/member/add"] = Unary<MemberAddRequest, MemberAddResponse>(s => s.GetRequiredService<ClusterService>().MemberAddCore),
            ["cluster/member/remove"] = Unary<MemberRemoveRequest, MemberRemoveResponse>(s => Server(s).MemberRemoveAsync),
            ["cluster/member/update"] = Unary<MemberUpdateRequest, MemberUpdateResponse>(s => s.GetRequiredService<ClusterService>().MemberUpdateCore),
            ["cluster/member/list"] = Unary<MemberListRequest, MemberListResponse>(s => Server(s).MemberListAsync),
            ["cluster/member/promote"] = Unary<MemberPromoteRequest, MemberPromoteResponse>(s => Server(s).MemberPromoteAsync),
            ["maintenance/alarm"] = Unary<AlarmRequest, AlarmResponse>(s => Server(s).AlarmAsync),
            ["maintenance/status"] = Unary<StatusRequest, StatusResponse>(s => Server(s).StatusAsync),
            ["maintenance/defragment"] = Unary<DefragmentRequest, DefragmentResponse>(s => Server(s).DefragmentAsync),
            // 3.4 binds both Hash and HashKV to this path; the gateway's first registration, Hash, wins.
            ["maintenance/hash"] = Unary<HashRequest, HashResponse>(s => Server(s).HashAsync),
            ["maintenance/snapshot"] = SnapshotAsync,
            ["maintenance/transfer-leadership"] = Unary<MoveLeaderRequest, MoveLeaderResponse>(s => Server(s).MoveLeaderAsync),
            ["auth/enable"] = Unary<AuthEnableRequest, AuthEnableResponse>(s => Server(s).AuthEnableAsync),
            ["auth/disable"] = Unary<AuthDisableRequest, AuthDisableResponse>(s => Server(s).AuthDisableAsync),
            ["auth/authenticate"] = Unary<AuthenticateRequest, AuthenticateResponse>(s => Server(s).AuthenticateAsync),
            ["auth/user/add"] = Unary<AuthUserAddRequest, AuthUserAddResponse>(s => Server(s).UserAddAsync),
            ["auth/user/get"] = Unary<AuthUserGetRequest, AuthUserGetResponse>(s => Server(s).UserGetAsync),
            ["auth/user/list"] = Unary<AuthUserListRequest, AuthUserListResponse>(s => Server(s).UserListAsync),
            ["auth/user/delete"] = Unary<AuthUserDeleteRequest, AuthUserDeleteResponse>(s => Server(s).UserDeleteAsync),
            ["auth/user/changepw"] = Unary<AuthUserChangePasswordRequest, AuthUserChangePasswordResponse>(s => Server(s).UserChangePasswordAsync),
            ["auth/user/grant"] = Unary<AuthUserGrantRoleRequest, AuthUserGrantRoleResponse>(s => Server(s).UserGrantRoleAsync),
            ["auth/user/revoke"] = Unary<AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse>(s => Server(s).UserRevokeRoleAsync),
            ["auth/role/add"] = Unary<AuthRoleAddRequest, AuthRoleAddResponse>(s => Server(s).RoleAddAsync),
            ["auth/role/get"] = Unary<AuthRoleGetRequest, AuthRoleGetResponse>(s => Server(s).RoleGetAsync),
            ["auth/role/list"] = Unary<AuthRoleListRequest, AuthRoleListResponse>(s => Server(s).RoleListAsync),
            ["auth/role/delete"] = Unary<AuthRoleDeleteRequest, AuthRoleDeleteResponse>(s => Server(s).RoleDeleteAsync),
            ["auth/role/grant"] = Unary<AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse>(s => Server(s).RoleGrantPermissionAsync),
            ["lock/lock"] = Unary<Api.Lock.LockRequest, Api.Lock.LockResponse>(s => s.GetRequiredService<LockService>().LockCore),
            ["lock/unlock"] = Unary<Api.Lock.UnlockRequest, Api.Lock.UnlockResponse>(s => s.GetRequiredService<LockService>().UnlockCore),
            ["election/campaign"] = Unary<Api.Election.CampaignRequest, Api.Election.CampaignResponse>(s => s.GetRequiredService<ElectionService>().CampaignCore),
            ["election/proclaim"] = Unary<Api.Election.ProclaimRequest, Api.Election.ProclaimResponse>(s => s.GetRequiredService<ElectionService>().ProclaimCore),
            ["election/leader"] = Unary<Api.Election.LeaderRequest, Api.Election.LeaderResponse>(s => s.GetRequiredService<ElectionService>().LeaderCore),
            ["election/resign"] = Unary<Api.Election.ResignRequest, Api.Election.ResignResponse>(s => s.GetRequiredService<ElectionService>().ResignCore),
            ["election/observe"] = ObserveAsync,
            ["auth/role/revoke"] = Unary<AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse>(s => Server(s).RoleRevokePermissionAsync),
        };
        return routes;
    }

    private static IEtcdServer Server(IServiceProvider services) => services.GetRequiredService<IEtcdServer>();

    private static Handler Unary<TRequest, TResponse>(Func<IServiceProvider, Func<TRequest, RequestContext, CancellationToken, ValueTask<TResponse>>> resolve)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        return async (http, services) =>
        {
            TResponse response;
            try
            {
                TRequest request = await ReadRequestAsync<TRequest>(http).ConfigureAwait(false);
                services.GetRequiredService<RequestChecks>().GrpcMessageSize(request);
                response = await resolve(services)(request, CallContexts.FromGateway(http), http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
            {
                await WriteErrorAsync(http, RpcErrors.From(e)).ConfigureAwait(false);
                return;
            }

            SetJsonHeaders(http);
            await http.Response.WriteAsync(GatewayJson.Format(response), http.RequestAborted).ConfigureAwait(false);
        };
    }

    private static async Task WatchAsync(HttpContext http, IServiceProvider services)
    {
        WatchService watch = services.GetRequiredService<WatchService>();
        var splitter = new JsonValueSplitter(http.Request.Body);
        Func<CancellationToken, Task<WatchRequest?>>? receive = await StreamRequestsAsync<WatchRequest>(http, splitter).ConfigureAwait(false);
        if (receive is null)
        {
            return;
        }

        var stream = new StreamWriter(http);
        // A watch may wait long for its first event; the headers go out now (etcd's "created"
        // response comes at once anyway), so clients waiting for them are not held up.
        await stream.StartAsync().ConfigureAwait(false);
        try
        {
            await watch.RunAsync(
                CallContexts.FromGateway(http),
                receive,
                stream.WriteAsync,
                http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await stream.WriteErrorAsync(RpcErrors.From(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task KeepAliveAsync(HttpContext http, IServiceProvider services)
    {
        LeaseService lease = services.GetRequiredService<LeaseService>();
        var splitter = new JsonValueSplitter(http.Request.Body);
        Func<CancellationToken, Task<LeaseKeepAliveRequest?>>? receive = await StreamRequestsAsync<LeaseKeepAliveRequest>(http, splitter).ConfigureAwait(false);
        if (receive is null)
        {
            return;
        }

        var stream = new StreamWriter(http);
        await stream.StartAsync().ConfigureAwait(false);
        try
        {
            await lease.KeepAliveAsync(
                CallContexts.FromGateway(http),
                receive,
                stream.WriteAsync,
                http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await stream.WriteErrorAsync(RpcErrors.From(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task ObserveAsync(HttpContext http, IServiceProvider services)
    {
        var stream = new StreamWriter(http);
        try
        {
            Api.Election.LeaderRequest request = await ReadRequestAsync<Api.Election.LeaderRequest>(http).ConfigureAwait(false);
            await stream.StartAsync().ConfigureAwait(false);
            await services.GetRequiredService<ElectionService>().ObserveAsync(request, CallContexts.FromGateway(http), stream.WriteAsync, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await stream.WriteErrorAsync(RpcErrors.From(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task SnapshotAsync(HttpContext http, IServiceProvider services)
    {
        var stream = new StreamWriter(http);
        try
        {
            SnapshotRequest request = await ReadRequestAsync<SnapshotRequest>(http).ConfigureAwait(false);
            await foreach (SnapshotResponse chunk in Server(services).SnapshotAsync(request, CallContexts.FromGateway(http), http.RequestAborted).ConfigureAwait(false))
            {
                await stream.WriteAsync(chunk, http.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await stream.WriteErrorAsync(RpcErrors.From(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    /// <summary>
    /// The body as etcd 3.4's gateway decodes it (<see cref="JsonPbDecoder"/>): the first JSON value,
    /// an empty body as an empty request (io.EOF), errors in Go's words.
    /// </summary>
    private static async Task<TRequest> ReadRequestAsync<TRequest>(HttpContext http)
        where TRequest : IMessage<TRequest>, new()
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted).ConfigureAwait(false);
        return Decode<TRequest>(body.GetBuffer().AsSpan(0, (int)body.Length));
    }

    /// <summary>
    /// The requests of a client-streaming call, as grpc-gateway's generated bidi handlers read
    /// them: the first is decoded before the response starts, and its decode error is the call's
    /// error (not a gRPC status there: code 2, HTTP 500, a plain error body; then null is
    /// returned); a later decode error only ends the request stream (the gateway's sender stops
    /// and half-closes), the responses go on.
    /// </summary>
    private static async Task<Func<CancellationToken, Task<TRequest?>>?> StreamRequestsAsync<TRequest>(HttpContext http, JsonValueSplitter splitter)
        where TRequest : class, IMessage<TRequest>, new()
    {
        TRequest? first = null;
        if (await splitter.NextAsync(http.RequestAborted).ConfigureAwait(false) is { } json)
        {
            try
            {
                first = JsonPbDecoder.Decode<TRequest>(Encoding.UTF8.GetBytes(json));
            }
            catch (GatewayDecodeException e)
            {
                await WriteErrorAsync(http, RpcErrors.New(StatusCode.Unknown, e.Message)).ConfigureAwait(false);
                return null;
            }
        }

        bool ended = first is null;
        return async ct =>
        {
            if (first is not null)
            {
                TRequest taken = first;
                first = null;
                return taken;
            }

            if (ended || await splitter.NextAsync(ct).ConfigureAwait(false) is not { } next)
            {
                ended = true;
                return null;
            }

            try
            {
                return JsonPbDecoder.Decode<TRequest>(Encoding.UTF8.GetBytes(next));
            }
            catch (GatewayDecodeException)
            {
                ended = true;
                return null;
            }
        };
    }

    private static TRequest Decode<TRequest>(ReadOnlySpan<byte> json)
        where TRequest : IMessage<TRequest>, new()
    {
        try
        {
            return JsonPbDecoder.Decode<TRequest>(json);
        }
        catch (GatewayDecodeException e)
        {
            throw RpcErrors.New(StatusCode.InvalidArgument, e.Message);
        }
    }

    private static void SetJsonHeaders(HttpContext http)
    {
        http.Response.ContentType = "application/json";
        http.Response.Headers["Grpc-Metadata-Content-Type"] = "application/grpc";
    }

    private static Task WriteErrorAsync(HttpContext http, RpcException error)
    {
        http.Response.StatusCode = HttpStatusFromCode(error.StatusCode);
        http.Response.ContentType = "application/json";
        var body = new StringBuilder(128);
        body.Append("{\"error\":");
        GoJson.AppendString(body, error.Status.Detail);
        body.Append(",\"message\":");
        GoJson.AppendString(body, error.Status.Detail);
        body.Append(",\"code\":").Append((int)error.StatusCode).Append('}');
        return http.Response.WriteAsync(body.ToString());
    }

    private static Task PlainText(HttpContext http, int status, string text)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return http.Response.WriteAsync(text + "\n");
    }

    /// <summary>grpc-gateway 1.x's runtime.HTTPStatusFromCode.</summary>
    internal static int HttpStatusFromCode(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.Cancelled => 408,
        StatusCode.Unknown => 500,
        StatusCode.InvalidArgument => 400,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists => 409,
        StatusCode.PermissionDenied => 403,
        StatusCode.Unauthenticated => 401,
        StatusCode.ResourceExhausted => 429,
        StatusCode.FailedPrecondition => 412,
        StatusCode.Aborted => 409,
        StatusCode.OutOfRange => 400,
        StatusCode.Unimplemented => 501,
        StatusCode.Internal => 500,
        StatusCode.Unavailable => 503,
        StatusCode.DataLoss => 500,
        _ => 500,
    };

    /// <summary>A gateway response stream: one <c>{"result":…}</c> line per message, flushed; an error as grpc-gateway's stream error.</summary>
    private sealed class StreamWriter
    {
        private readonly HttpContext _http;
        private bool _started;

        public StreamWriter(HttpContext http)
        {
            _http = http;
        }

        public async Task StartAsync()
        {
            SetJsonHeaders(_http);
            _started = true;
            await _http.Response.StartAsync(_http.RequestAborted).ConfigureAwait(false);
            // StartAsync only fixes the headers; the flush sends them.
            await _http.Response.Body.FlushAsync(_http.RequestAborted).ConfigureAwait(false);
        }

        public async Task WriteAsync(IMessage message, CancellationToken cancellationToken)
        {
            if (!_started)
            {
                SetJsonHeaders(_http);
                _started = true;
            }

            string line = "{\"result\":" + GatewayJson.Format(message) + "}\n";
            await _http.Response.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            await _http.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task WriteErrorAsync(RpcException error)
        {
            int httpCode = HttpStatusFromCode(error.StatusCode);
            if (!_started)
            {
                _http.Response.StatusCode = httpCode;
                SetJsonHeaders(_http);
                _started = true;
            }

            var body = new StringBuilder(160);
            body.Append("{\"error\":{\"grpc_code\":").Append((int)error.StatusCode);
            body.Append(",\"http_code\":").Append(httpCode);
            body.Append(",\"message\":");
            GoJson.AppendString(body, error.Status.Detail);
            body.Append(",\"http_status\":");
            GoJson.AppendString(body, ReasonPhrases.GetReasonPhrase(httpCode));
            body.Append("}}");
            return _http.Response.WriteAsync(body.ToString());
        }
    }
}
