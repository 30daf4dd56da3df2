using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Platform.Etcd.Api;
using Platform.Etcd.Server;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.Grpc.Http;

/// <summary>
/// etcd's <c>/v2/members</c> (list, leader, add, remove, update) and <c>/v2/stats/{self,leader,store}</c>
/// in etcd's shapes, filled from what the server reports; counters the server does not keep are 0.
/// </summary>
internal static class V2ClusterEndpoints
{
    public static void MapEtcdV2Cluster(this IEndpointRouteBuilder endpoints, IEtcdServer server, DateTimeOffset startTime)
    {
        endpoints.Map("/v2/members", context => MembersAsync(context, server, ""));
        endpoints.Map("/v2/members/{**rest}", context => MembersAsync(context, server, (string?)context.Request.RouteValues["rest"] ?? ""));
        endpoints.Map("/v2/stats/self", context => SelfAsync(context, server, startTime));
        endpoints.Map("/v2/stats/leader", context => LeaderAsync(context, server));
        endpoints.Map("/v2/stats/store", StoreAsync);
        endpoints.Map("/v2/machines", context => MachinesAsync(context, server));
    }

    private static string Hex(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);

    private static async Task MembersAsync(HttpContext context, IEtcdServer server, string rest)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET", "POST", "DELETE", "PUT").ConfigureAwait(false))
        {
            return;
        }

        context.Response.Headers["X-Etcd-Cluster-Id"] = Hex(server.ClusterId);
        CancellationToken ct = context.RequestAborted;
        try
        {
            switch (context.Request.Method)
            {
                case "GET" when rest.Length == 0:
                    MemberListResponse list = await server.MemberListAsync(new MemberListRequest(), RequestContext.Anonymous, ct).ConfigureAwait(false);
                    await JsonAsync(context, 200, "{\"members\":[" + string.Join(',', list.Members.Select(MemberJson)) + "]}\n").ConfigureAwait(false);
                    return;
                case "GET" when rest == "leader":
                    if (server.Leader == 0)
                    {
                        await HttpErrorAsync(context, 503, "During election").ConfigureAwait(false);
                        return;
                    }

                    MemberListResponse members = await server.MemberListAsync(new MemberListRequest(), RequestContext.Anonymous, ct).ConfigureAwait(false);
                    Member? leader = members.Members.FirstOrDefault(m => m.ID == server.Leader);
                    await JsonAsync(context, 200, (leader is null ? "{}" : MemberJson(leader)) + "\n").ConfigureAwait(false);
                    return;
                case "GET":
                    await HttpResponses.ErrorAsync(context, 404, "404 page not found").ConfigureAwait(false);
                    return;
                case "POST":
                    string[] urls = await PeerUrlsAsync(context).ConfigureAwait(false);
                    MemberAddResponse added = await server.MemberAddAsync(new MemberAddRequest { PeerURLs = { urls } }, RequestContext.Anonymous, ct).ConfigureAwait(false);
                    await JsonAsync(context, 201, MemberJson(added.Member) + "\n").ConfigureAwait(false);
                    return;
                case "DELETE":
                    await server.MemberRemoveAsync(new MemberRemoveRequest { ID = ParseId(rest) }, RequestContext.Anonymous, ct).ConfigureAwait(false);
                    context.Response.StatusCode = 204;
                    return;
                default:
                    string[] peerUrls = await PeerUrlsAsync(context).ConfigureAwait(false);
                    await server.MemberUpdateAsync(new MemberUpdateRequest { ID = ParseId(rest), PeerURLs = { peerUrls } }, RequestContext.Anonymous, ct).ConfigureAwait(false);
                    context.Response.StatusCode = 204;
                    return;
            }
        }
        catch (FormatException e)
        {
            await HttpErrorAsync(context, 400, e.Message).ConfigureAwait(false);
        }
        catch (EtcdException e)
        {
            int status = e.Code switch
            {
                EtcdErrorCode.NotFound => 404,
                EtcdErrorCode.FailedPrecondition => 409,
                EtcdErrorCode.InvalidArgument => 400,
                _ => 500,
            };
            await HttpErrorAsync(context, status, e.Message).ConfigureAwait(false);
        }
    }

    private static ulong ParseId(string text) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong id)
            ? id
            : throw new FormatException($"strconv.ParseUint: parsing \"{text}\": invalid syntax");

    private static async Task<string[]> PeerUrlsAsync(HttpContext context)
    {
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            return body.RootElement.GetProperty("peerURLs").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException(e.Message);
        }
    }

    // httptypes.Member: id as hex, every list present (never null).
    private static string MemberJson(Member member)
    {
        var sb = new StringBuilder(128);
        sb.Append("{\"id\":\"").Append(Hex(member.ID)).Append("\",\"name\":");
        GoJson.AppendString(sb, member.Name);
        sb.Append(",\"peerURLs\":").Append(StringArray(member.PeerURLs));
        sb.Append(",\"clientURLs\":").Append(StringArray(member.ClientURLs)).Append('}');
        return sb.ToString();
    }

    private static string StringArray(IEnumerable<string> values)
    {
        var sb = new StringBuilder("[");
        bool first = true;
        foreach (string value in values)
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            GoJson.AppendString(sb, value);
        }

        return sb.Append(']').ToString();
    }

    private static async Task SelfAsync(HttpContext context, IEtcdServer server, DateTimeOffset startTime)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET").ConfigureAwait(false))
        {
            return;
        }

        MemberListResponse list = await server.MemberListAsync(new MemberListRequest(), RequestContext.Anonymous, context.RequestAborted).ConfigureAwait(false);
        string name = list.Members.FirstOrDefault(m => m.ID == server.MemberId)?.Name ?? "";
        bool isLeader = server.Leader != 0 && server.Leader == server.MemberId;
        TimeSpan uptime = DateTimeOffset.UtcNow - startTime;
        var sb = new StringBuilder(256);
        sb.Append("{\"name\":");
        GoJson.AppendString(sb, name);
        sb.Append(",\"id\":\"").Append(Hex(server.MemberId)).Append('"');
        sb.Append(",\"state\":\"").Append(isLeader ? "StateLeader" : "StateFollower").Append('"');
        sb.Append(",\"startTime\":\"").Append(GoTime(startTime)).Append('"');
        sb.Append(",\"leaderInfo\":{\"leader\":\"").Append(server.Leader == 0 ? "" : Hex(server.Leader)).Append('"');
        sb.Append(",\"uptime\":\"").Append(Platform.Common.Flags.GoDuration.Format(uptime)).Append('"');
        sb.Append(",\"startTime\":\"").Append(GoTime(startTime)).Append("\"}");
        sb.Append(",\"recvAppendRequestCnt\":0,\"sendAppendRequestCnt\":0}");
        await JsonAsync(context, 200, sb.ToString()).ConfigureAwait(false);
    }

    private static async Task LeaderAsync(HttpContext context, IEtcdServer server)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET").ConfigureAwait(false))
        {
            return;
        }

        if (server.Leader == 0 || server.Leader != server.MemberId)
        {
            await HttpErrorAsync(context, 403, "not current leader").ConfigureAwait(false);
            return;
        }

        MemberListResponse list = await server.MemberListAsync(new MemberListRequest(), RequestContext.Anonymous, context.RequestAborted).ConfigureAwait(false);
        var sb = new StringBuilder(128);
        sb.Append("{\"leader\":\"").Append(Hex(server.MemberId)).Append("\",\"followers\":{");
        bool first = true;
        foreach (Member follower in list.Members.Where(m => m.ID != server.MemberId))
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            sb.Append('"').Append(Hex(follower.ID)).Append("\":{\"latency\":{\"current\":0,\"average\":0,\"standardDeviation\":0,\"minimum\":0,\"maximum\":0},\"counts\":{\"fail\":0,\"success\":0}}");
        }

        sb.Append("}}");
        await JsonAsync(context, 200, sb.ToString()).ConfigureAwait(false);
    }

    // etcd's machinesHandler: every member's client URLs, comma-space separated, as plain text.
    private static async Task MachinesAsync(HttpContext context, IEtcdServer server)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET", "HEAD").ConfigureAwait(false))
        {
            return;
        }

        MemberListResponse list = await server.MemberListAsync(new MemberListRequest(), RequestContext.Anonymous, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(string.Join(", ", list.Members.SelectMany(m => m.ClientURLs)), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task StoreAsync(HttpContext context)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "GET").ConfigureAwait(false))
        {
            return;
        }

        await JsonAsync(
            context,
            200,
            "{\"getsSuccess\":0,\"getsFail\":0,\"setsSuccess\":0,\"setsFail\":0,\"deleteSuccess\":0,\"deleteFail\":0,\"updateSuccess\":0,\"updateFail\":0,"
            + "\"createSuccess\":0,\"createFail\":0,\"compareAndSwapSuccess\":0,\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,"
            + "\"compareAndDeleteFail\":0,\"expireCount\":0,\"watchers\":0}").ConfigureAwait(false);
    }

    // Go's RFC3339Nano.
    private static string GoTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture) + "Z";

    private static Task JsonAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    }

    // etcdhttp.WriteError for an httptypes.HTTPError: {"message":"..."} with the status.
    private static Task HttpErrorAsync(HttpContext context, int status, string message)
    {
        var sb = new StringBuilder("{\"message\":");
        GoJson.AppendString(sb, message);
        sb.Append('}');
        return JsonAsync(context, status, sb.ToString());
    }
}
