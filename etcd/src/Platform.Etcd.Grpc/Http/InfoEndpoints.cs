using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Platform.Common.Hosting;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Http;

/// <summary>
/// <c>/version</c>, <c>/health</c> and <c>/metrics</c> as etcd 3.4 serves them (etcdhttp/base.go,
/// metrics.go): <c>{"health":"true"}</c>, or 503 with <c>{"health":"false"}</c> when the member has
/// no leader, has an alarm raised, or cannot serve a linearizable read within a second.
/// </summary>
internal static class InfoEndpoints
{
    public static void MapEtcdInfo(this IEndpointRouteBuilder endpoints, IEtcdServer server)
    {
        endpoints.Map("/version", async context =>
        {
            if (!await HttpResponses.AllowMethodAsync(context, "GET").ConfigureAwait(false))
            {
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(
                $"{{\"etcdserver\":\"{server.Version}\",\"etcdcluster\":\"{server.ClusterVersion}\"}}",
                context.RequestAborted).ConfigureAwait(false);
        });
        endpoints.Map("/health", context => HealthAsync(context, server));
        endpoints.MapPlatformMetrics();
    }

    public static async Task HealthAsync(HttpContext context, IEtcdServer server)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET").ConfigureAwait(false))
        {
            return;
        }

        bool healthy = server.HealthProblem is null && server.Leader != 0 && await QuorumReadAsync(server).ConfigureAwait(false);
        if (healthy)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("{\"health\":\"true\"}", context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await HttpResponses.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "{\"health\":\"false\"}").ConfigureAwait(false);
        }
    }

    // etcd proposes a v2 quorum GET; a linearizable range does the same round trip. Auth errors
    // still prove the member answers (etcdctl's endpoint health reasons the same way).
    private static async Task<bool> QuorumReadAsync(IEtcdServer server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            _ = await server.RangeAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health"), CountOnly = true }, RequestContext.Anonymous, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (EtcdException e) when (e.Code is EtcdErrorCode.PermissionDenied or EtcdErrorCode.Unauthenticated or EtcdErrorCode.InvalidArgument)
        {
            return true;
        }
        catch (Exception e) when (e is EtcdException or OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>Go net/http's small responses, byte for byte.</summary>
internal static class HttpResponses
{
    /// <summary>Go's <c>http.Error</c>: text/plain, nosniff, the text and a newline.</summary>
    public static Task ErrorAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return context.Response.WriteAsync(text + "\n");
    }

    /// <summary>etcd's allowMethod: 405 with an Allow header listing <paramref name="methods"/>.</summary>
    public static async Task<bool> AllowMethodAsync(HttpContext context, params string[] methods)
    {
        if (methods.Contains(context.Request.Method, StringComparer.Ordinal))
        {
            return true;
        }

        context.Response.Headers.Allow = string.Join(',', methods);
        await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Method Not Allowed").ConfigureAwait(false);
        return false;
    }
}
