using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Platform.Etcd.Server;
using Platform.Etcd.V2Store;
using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.Grpc.Http;

/// <summary>
/// etcd's v2 keys API (v2http/client.go keysHandler): the form is parsed and validated here with
/// etcd's error codes, the request goes to <see cref="IV2Server"/>, and events and errors are
/// written by <see cref="V2Json"/>. Keys live under the store's <c>/1</c> namespace.
/// </summary>
internal static class V2KeysEndpoints
{
    /// <summary>etcd's StoreKeysPrefix: <c>/v2/keys/foo</c> is <c>/1/foo</c> in the store.</summary>
    public const string StoreKeysPrefix = "/1";

    private const string KeysPrefix = "/v2/keys";

    public static void MapEtcdV2Keys(this IEndpointRouteBuilder endpoints, IEtcdServer server)
    {
        endpoints.Map(KeysPrefix, context => ServeAsync(context, server));
        endpoints.Map(KeysPrefix + "/{**key}", context => ServeAsync(context, server));
    }

    private static async Task ServeAsync(HttpContext context, IEtcdServer server)
    {
        if (!await HttpResponses.AllowMethodAsync(context, "HEAD", "GET", "PUT", "POST", "DELETE").ConfigureAwait(false))
        {
            return;
        }

        context.Response.Headers["X-Etcd-Cluster-Id"] = server.ClusterId.ToString("x", CultureInfo.InvariantCulture);
        try
        {
            ParsedRequest parsed = await ParseAsync(context).ConfigureAwait(false);
            if (parsed.Wait)
            {
                await WatchAsync(context, server, parsed).ConfigureAwait(false);
                return;
            }

            V2Event e = await server.V2DoAsync(parsed.Request, context.RequestAborted).ConfigureAwait(false);
            await WriteEventAsync(context, server, e, parsed.NoValueOnSuccess).ConfigureAwait(false);
        }
        catch (V2StoreException e)
        {
            await WriteErrorAsync(context, e.Error).ConfigureAwait(false);
        }
        catch (EtcdException e)
        {
            await WriteErrorAsync(context, V2Error.Create(V2ErrorCodes.RaftInternal, e.Message, 0)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (a long poll it gave up on).
        }
    }

    private static async Task WatchAsync(HttpContext context, IEtcdServer server, ParsedRequest parsed)
    {
        using IV2Watcher watcher = server.V2Watch(parsed.Request.Path, parsed.Request.Recursive, parsed.Stream, parsed.WaitIndex);
        HttpResponse response = context.Response;
        response.ContentType = "application/json";
        response.Headers["X-Etcd-Index"] = watcher.StartIndex.ToString(CultureInfo.InvariantCulture);
        SetRaftHeaders(response, server);
        response.StatusCode = StatusCodes.Status200OK;
        // Long polling: the headers go out now, the event when it happens.
        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        await foreach (V2Event e in watcher.ReadAllAsync(context.RequestAborted).ConfigureAwait(false))
        {
            await response.WriteAsync(V2Json.Serialize(e, StoreKeysPrefix) + "\n", context.RequestAborted).ConfigureAwait(false);
            if (!parsed.Stream)
            {
                return;
            }

            await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static Task WriteEventAsync(HttpContext context, IEtcdServer server, V2Event e, bool noValueOnSuccess)
    {
        HttpResponse response = context.Response;
        response.ContentType = "application/json";
        response.Headers["X-Etcd-Index"] = e.EtcdIndex.ToString(CultureInfo.InvariantCulture);
        SetRaftHeaders(response, server);
        if (e.IsCreated)
        {
            response.StatusCode = StatusCodes.Status201Created;
        }

        string body = noValueOnSuccess && e.Action is V2Actions.Set or V2Actions.CompareAndSwap or V2Actions.Create or V2Actions.Update
            ? $"{{\"action\":\"{e.Action}\"}}"
            : V2Json.Serialize(e, StoreKeysPrefix);
        return response.WriteAsync(body + "\n");
    }

    /// <summary>etcd's v2error.Error.WriteTo: X-Etcd-Index, JSON body, the code's HTTP status.</summary>
    internal static Task WriteErrorAsync(HttpContext context, V2Error error)
    {
        HttpResponse response = context.Response;
        response.ContentType = "application/json";
        response.Headers["X-Etcd-Index"] = error.Index.ToString(CultureInfo.InvariantCulture);
        response.StatusCode = error.HttpStatus;
        return response.WriteAsync(V2Json.Serialize(error, StoreKeysPrefix) + "\n");
    }

    private static void SetRaftHeaders(HttpResponse response, IServerInfo server)
    {
        response.Headers["X-Raft-Index"] = server.AppliedIndex.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Raft-Term"] = server.RaftTerm.ToString(CultureInfo.InvariantCulture);
    }

    private sealed record ParsedRequest(V2Request Request, bool Wait, bool Stream, ulong WaitIndex, bool NoValueOnSuccess);

    /// <summary>etcd's parseKeyRequest, check for check, with its codes and causes.</summary>
    private static async Task<ParsedRequest> ParseAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        Dictionary<string, StringValues> form = await FormAsync(request).ConfigureAwait(false);
        string keyPath = request.Path.Value!.Length > KeysPrefix.Length ? request.Path.Value[KeysPrefix.Length..] : "";
        string path = CleanPath(StoreKeysPrefix + "/" + keyPath);

        ulong prevIndex = Uint(form, "prevIndex", V2ErrorCodes.IndexNaN, "invalid value for \"prevIndex\"") ?? 0;
        ulong waitIndex = Uint(form, "waitIndex", V2ErrorCodes.IndexNaN, "invalid value for \"waitIndex\"") ?? 0;
        bool recursive = Bool(form, "recursive", "invalid value for \"recursive\"") ?? false;
        bool sorted = Bool(form, "sorted", "invalid value for \"sorted\"") ?? false;
        bool wait = Bool(form, "wait", "invalid value for \"wait\"") ?? false;
        bool dir = Bool(form, "dir", "invalid value for \"dir\"") ?? false;
        bool quorum = Bool(form, "quorum", "invalid value for \"quorum\"") ?? false;
        bool stream = Bool(form, "stream", "invalid value for \"stream\"") ?? false;
        if (wait && request.Method != "GET")
        {
            throw Error(V2ErrorCodes.InvalidField, "\"wait\" can only be used with GET requests");
        }

        string prevValue = First(form, "prevValue") ?? "";
        if (form.ContainsKey("prevValue") && prevValue.Length == 0)
        {
            throw Error(V2ErrorCodes.PrevValueRequired, "\"prevValue\" cannot be empty");
        }

        bool noValueOnSuccess = Bool(form, "noValueOnSuccess", "invalid value for \"noValueOnSuccess\"") ?? false;

        // An empty ttl= is "no TTL" (it makes an existing key permanent on update).
        long? ttl = null;
        string? ttlText = First(form, "ttl");
        if (!string.IsNullOrEmpty(ttlText))
        {
            ttl = (long?)Uint(form, "ttl", V2ErrorCodes.TtlNaN, "invalid value for \"ttl\"");
        }

        bool? prevExist = form.ContainsKey("prevExist") ? Bool(form, "prevExist", "invalid value for prevExist") : null;
        bool refresh = false;
        if (form.ContainsKey("refresh"))
        {
            refresh = Bool(form, "refresh", "invalid value for refresh") ?? false;
            if (refresh)
            {
                if (form.ContainsKey("value") && !string.IsNullOrEmpty(First(form, "value")))
                {
                    throw Error(V2ErrorCodes.RefreshValue, "A value was provided on a refresh");
                }

                if (ttl is null)
                {
                    throw Error(V2ErrorCodes.RefreshTtlRequired, "No TTL value set");
                }
            }
        }

        string method = request.Method == "HEAD" ? "GET" : request.Method;
        var v2 = new V2Request(
            method,
            path,
            Value: First(form, "value") ?? "",
            Dir: dir,
            PrevValue: prevValue.Length == 0 ? null : prevValue,
            PrevIndex: prevIndex,
            PrevExist: prevExist,
            Ttl: ttl,
            TtlCleared: ttlText is not null && ttlText.Length == 0,
            Refresh: refresh,
            Recursive: recursive,
            Sorted: sorted,
            Quorum: quorum);
        return new ParsedRequest(v2, wait, stream, waitIndex, noValueOnSuccess);
    }

    // Go's ParseForm: the urlencoded body of PUT/POST/PATCH first, then the query string.
    private static async Task<Dictionary<string, StringValues>> FormAsync(HttpRequest request)
    {
        var form = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        if (request.Method is "PUT" or "POST" or "PATCH" && request.HasFormContentType)
        {
            try
            {
                IFormCollection body = await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
                foreach (KeyValuePair<string, StringValues> pair in body)
                {
                    form[pair.Key] = pair.Value;
                }
            }
            catch (InvalidDataException e)
            {
                throw Error(V2ErrorCodes.InvalidForm, e.Message);
            }
        }

        foreach (KeyValuePair<string, StringValues> pair in request.Query)
        {
            form[pair.Key] = form.TryGetValue(pair.Key, out StringValues existing) ? StringValues.Concat(existing, pair.Value) : pair.Value;
        }

        return form;
    }

    private static string? First(Dictionary<string, StringValues> form, string key) =>
        form.TryGetValue(key, out StringValues values) && values.Count > 0 ? values[0] : null;

    private static ulong? Uint(Dictionary<string, StringValues> form, string key, int code, string cause)
    {
        string? text = First(form, key);
        if (text is null)
        {
            return null;
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) ? value : throw Error(code, cause);
    }

    // Go's strconv.ParseBool.
    private static bool? Bool(Dictionary<string, StringValues> form, string key, string cause)
    {
        string? text = First(form, key);
        return text switch
        {
            null => null,
            "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
            "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
            _ => throw Error(V2ErrorCodes.InvalidField, cause),
        };
    }

    private static V2StoreException Error(int code, string cause) => new(V2Error.Create(code, cause, 0));

    /// <summary>Go's <c>path.Clean</c> for an absolute path.</summary>
    internal static string CleanPath(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }
}
