using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Platform.Rkt.Metadata;

/// <summary>
/// The two HTTP surfaces. Registration (unix socket only): <c>PUT /pods/{uuid}?token=T[&amp;ip=A]</c> with
/// the pod manifest, <c>PUT /pods/{uuid}/{app}</c> with the app's image manifest, <c>DELETE /pods/{uuid}</c>.
/// Public: <c>/{token}/acMetadata/v1/...</c> (rkt 1.30, appc 0.8) and <c>/acMetadata/v1/...</c> where the
/// requester's IP picks the pod and the <c>Metadata-Flavor: AppContainer</c> header is required (appc
/// before 0.6). Status codes are rkt's: 401 unknown pod, 404 unknown app or annotation, 400 bad input,
/// 403 failed verification.
/// </summary>
internal static class MetadataHandlers
{
    public const string FlavorHeader = "Metadata-Flavor";
    public const string Flavor = "AppContainer";
    private const string TextPlain = "text/plain; charset=us-ascii";
    private const string Json = "application/json";
    private const int MaxManifestBytes = 4 << 20;

    public static async Task RegistrationAsync(HttpContext context, PodRegistry registry)
    {
        string[] parts = context.Request.Path.Value!.Trim('/').Split('/');
        if (parts.Length is < 2 or > 3 || parts[0] != "pods")
        {
            await Reply(context, 404, TextPlain, "not found");
            return;
        }

        if (!Guid.TryParse(parts[1], out Guid uuid))
        {
            await Reply(context, 400, TextPlain, $"UUID is missing or malformed: \"{parts[1]}\"");
            return;
        }

        string method = context.Request.Method;
        if (parts.Length == 2 && method == "PUT")
        {
            string? token = context.Request.Query["token"];
            if (string.IsNullOrEmpty(token))
            {
                await Reply(context, 400, TextPlain, "token missing");
                return;
            }

            if (token == "acMetadata" || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                await Reply(context, 400, TextPlain, "token must be letters, digits, '-' and '_'");
                return;
            }

            IPAddress? ip = null;
            string? ipText = context.Request.Query["ip"];
            if (!string.IsNullOrEmpty(ipText) && !IPAddress.TryParse(ipText, out ip))
            {
                await Reply(context, 400, TextPlain, $"ip \"{ipText}\" is not an IP address");
                return;
            }

            (JsonObject? manifest, string? error) = await ReadManifest(context, "PodManifest");
            if (manifest is null)
            {
                await Reply(context, 400, TextPlain, error!);
                return;
            }

            registry.RegisterPod(uuid, token, ip, manifest);
            await Reply(context, 200, TextPlain, string.Empty);
        }
        else if (parts.Length == 2 && method == "DELETE")
        {
            bool removed = registry.Unregister(uuid);
            await Reply(context, removed ? 200 : 404, TextPlain, removed ? string.Empty : "pod not found");
        }
        else if (parts.Length == 3 && method == "PUT")
        {
            if (parts[2].Length == 0)
            {
                await Reply(context, 400, TextPlain, "app missing");
                return;
            }

            (JsonObject? manifest, string? error) = await ReadManifest(context, "ImageManifest");
            if (manifest is null)
            {
                await Reply(context, 400, TextPlain, error!);
                return;
            }

            bool added = registry.RegisterApp(uuid, parts[2], manifest);
            await Reply(context, added ? 200 : 404, TextPlain, added ? string.Empty : "Pod with given UUID not found");
        }
        else
        {
            await Reply(context, 405, TextPlain, "method not allowed");
        }
    }

    public static async Task PublicAsync(HttpContext context, PodRegistry registry)
    {
        context.Response.Headers[FlavorHeader] = Flavor;
        List<string> parts = context.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        RegisteredPod? pod;
        if (parts.Count >= 2 && parts[0] == "acMetadata" && parts[1] == "v1")
        {
            if (context.Request.Headers[FlavorHeader] != Flavor)
            {
                await Reply(context, 400, TextPlain, $"requests without a token need the \"{FlavorHeader}: {Flavor}\" header");
                return;
            }

            IPAddress? remote = context.Connection.RemoteIpAddress;
            pod = remote is null ? null : registry.ByIp(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
            parts.RemoveRange(0, 2);
        }
        else if (parts.Count >= 3 && parts[1] == "acMetadata" && parts[2] == "v1")
        {
            pod = registry.ByToken(parts[0]);
            parts.RemoveRange(0, 3);
        }
        else
        {
            await Reply(context, 404, TextPlain, "not found");
            return;
        }

        string method = context.Request.Method;
        if (parts is ["pod", "hmac", "verify"] && method == "POST")
        {
            await VerifyAsync(context, registry); // Any pod may verify another's signature.
            return;
        }

        if (pod is null)
        {
            await Reply(context, 401, TextPlain, "pod not found\n");
            return;
        }

        if (parts is ["pod", "hmac", "sign"] && method == "POST")
        {
            string? content = await FormValue(context, "content");
            if (string.IsNullOrEmpty(content))
            {
                await Reply(context, 400, TextPlain, "content form value not found");
                return;
            }

            await Reply(context, 200, TextPlain, Convert.ToBase64String(registry.Sign(pod.Uuid, content)));
            return;
        }

        if (method != "GET")
        {
            await Reply(context, 405, TextPlain, "method not allowed");
            return;
        }

        switch (parts.ToArray())
        {
            case ["pod", "annotations"]:
                await Reply(context, 200, Json, Annotations(pod.Manifest["annotations"]).ToJsonString());
                return;
            case ["pod", "annotations", .. var nameParts] when nameParts.Length > 0:
                await Annotation(context, Annotations(pod.Manifest["annotations"]), string.Join('/', nameParts), "Pod");
                return;
            case ["pod", "manifest"]:
                await Reply(context, 200, Json, pod.Manifest.ToJsonString());
                return;
            case ["pod", "uuid"]:
                await Reply(context, 200, TextPlain, pod.Uuid.ToString());
                return;
            case ["apps", string app, .. var rest] when rest.Length > 0:
                JsonObject? image = registry.AppManifest(pod, app);
                if (image is null)
                {
                    await Reply(context, 404, TextPlain, "app not found\n");
                    return;
                }

                await AppAsync(context, pod, app, image, rest);
                return;
            default:
                await Reply(context, 404, TextPlain, "not found");
                return;
        }
    }

    private static async Task AppAsync(HttpContext context, RegisteredPod pod, string app, JsonObject image, string[] rest)
    {
        switch (rest)
        {
            case ["annotations"]:
                await Reply(context, 200, Json, MergedAnnotations(pod, app, image).ToJsonString());
                return;
            case ["annotations", .. var nameParts] when nameParts.Length > 0:
                await Annotation(context, MergedAnnotations(pod, app, image), string.Join('/', nameParts), "App");
                return;
            case ["image", "manifest"]:
                await Reply(context, 200, Json, image.ToJsonString());
                return;
            case ["image", "id"]:
                string? id = (string?)PodApp(pod, app)?["image"]?["id"];
                if (id is null)
                {
                    await Reply(context, 404, TextPlain, $"app \"{app}\" has no image ID in the pod manifest");
                    return;
                }

                await Reply(context, 200, TextPlain, id);
                return;
            default:
                await Reply(context, 404, TextPlain, "not found");
                return;
        }
    }

    private static async Task VerifyAsync(HttpContext context, PodRegistry registry)
    {
        if (!Guid.TryParse(await FormValue(context, "uuid"), out Guid uuid))
        {
            await Reply(context, 400, TextPlain, "uuid field missing or malformed");
            return;
        }

        string? content = await FormValue(context, "content");
        if (string.IsNullOrEmpty(content))
        {
            await Reply(context, 400, TextPlain, "content field missing");
            return;
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(await FormValue(context, "signature") ?? string.Empty);
        }
        catch (FormatException e)
        {
            await Reply(context, 400, TextPlain, $"signature field missing or corrupt: {e.Message}");
            return;
        }

        context.Response.ContentType = TextPlain;
        context.Response.StatusCode = signature.Length > 0 && registry.Verify(uuid, content, signature) ? 200 : 403;
    }

    /// <summary>Image manifest annotations, overridden by the pod manifest's annotations for the app (appc's merge).</summary>
    private static JsonArray MergedAnnotations(RegisteredPod pod, string app, JsonObject image)
    {
        var merged = new List<(string Name, JsonNode? Value)>();
        foreach (JsonNode? source in new[] { image["annotations"], PodApp(pod, app)?["annotations"] })
        {
            foreach (JsonObject entry in Annotations(source).OfType<JsonObject>())
            {
                string? name = (string?)entry["name"];
                if (name is null)
                {
                    continue;
                }

                int at = merged.FindIndex(m => m.Name == name);
                var item = (name, entry["value"]?.DeepClone());
                if (at >= 0)
                {
                    merged[at] = item;
                }
                else
                {
                    merged.Add(item);
                }
            }
        }

        return new JsonArray(merged.Select(m => (JsonNode)new JsonObject { ["name"] = m.Name, ["value"] = m.Value }).ToArray());
    }

    private static JsonObject? PodApp(RegisteredPod pod, string app) =>
        (pod.Manifest["apps"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(a => (string?)a["name"] == app);

    private static JsonArray Annotations(JsonNode? node) => node is JsonArray array ? (JsonArray)array.DeepClone() : [];

    private static async Task Annotation(HttpContext context, JsonArray annotations, string name, string kind)
    {
        JsonObject? entry = annotations.OfType<JsonObject>().FirstOrDefault(a => (string?)a["name"] == name);
        if (entry is null)
        {
            await Reply(context, 404, TextPlain, $"{kind} annotation \"{name}\" not found");
            return;
        }

        await Reply(context, 200, TextPlain, (string?)entry["value"] ?? string.Empty);
    }

    private static async Task<string?> FormValue(HttpContext context, string key)
    {
        if (context.Request.HasFormContentType)
        {
            IFormCollection form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (form.TryGetValue(key, out var value))
            {
                return value;
            }
        }

        return context.Request.Query.TryGetValue(key, out var query) ? query.ToString() : null;
    }

    private static async Task<(JsonObject? Manifest, string? Error)> ReadManifest(HttpContext context, string kind)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxManifestBytes)
            {
                return (null, $"{kind} larger than {MaxManifestBytes} bytes");
            }
        }

        try
        {
            if (JsonNode.Parse(buffer.ToArray()) is JsonObject manifest)
            {
                string? acKind = (string?)manifest["acKind"];
                return acKind is null || acKind == kind ? (manifest, null) : (null, $"JSON-decoding failed: acKind is \"{acKind}\", expected \"{kind}\"");
            }

            return (null, $"JSON-decoding failed: a {kind} must be a JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return (null, $"JSON-decoding failed: {e.Message}");
        }
    }

    private static Task Reply(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return body.Length == 0 ? Task.CompletedTask : context.Response.WriteAsync(body, Encoding.UTF8, context.RequestAborted);
    }
}
