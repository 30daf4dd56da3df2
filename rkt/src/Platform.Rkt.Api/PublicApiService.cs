using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Platform.Rkt.Api.V1Alpha;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Networking;
using ImageFormat = Platform.Rkt.Api.V1Alpha.ImageFormat;

namespace Platform.Rkt.Api;

/// <summary>
/// The v1alpha PublicAPI. Every call reads the disk afresh (pods and images change under other rkt
/// processes, and there is no daemon to tell us), validates its request and maps "not there" to
/// NOT_FOUND and bad input to INVALID_ARGUMENT.
/// </summary>
internal sealed class PublicApiService : PublicAPI.PublicAPIBase
{
    /// <summary>The API version rkt 1.30 reported.</summary>
    public const string ApiVersion = "1.0.0-alpha";

    private readonly ApiServiceOptions _options;
    private readonly IImageStore _store;

    public PublicApiService(ApiServiceOptions options, IImageStore store)
    {
        _options = options;
        _store = store;
    }

    public override Task<GetInfoResponse> GetInfo(GetInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetInfoResponse
        {
            Info = new Info
            {
                RktVersion = "1.30.0+platform",
                AppcVersion = "0.8.11",
                ApiVersion = ApiVersion,
                GlobalFlags = new GlobalFlags
                {
                    Dir = _options.DataDir,
                    SystemConfigDir = _options.SystemConfigDir,
                    LocalConfigDir = _options.LocalConfigDir,
                    UserConfigDir = _options.UserConfigDir,
                    InsecureFlags = _options.InsecureFlags,
                    TrustKeysFromHttps = _options.TrustKeysFromHttps,
                },
            },
        });

    public override Task<ListPodsResponse> ListPods(ListPodsRequest request, ServerCallContext context)
    {
        var response = new ListPodsResponse();
        foreach (PodDirectory dir in PodDirectory.List(_options.DataDir))
        {
            Pod pod = ToPod(dir, request.Detail);
            if (request.Filters.Count == 0 || request.Filters.Any(f => Matches(pod, f)))
            {
                response.Pods.Add(pod);
            }
        }

        return Task.FromResult(response);
    }

    public override Task<InspectPodResponse> InspectPod(InspectPodRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Id))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "pod id is required"));
        }

        PodDirectory dir = PodDirectory.Find(_options.DataDir, request.Id)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"pod \"{request.Id}\" not found"));
        return Task.FromResult(new InspectPodResponse { Pod = ToPod(dir, detail: true) });
    }

    public override Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
    {
        var response = new ListImagesResponse();
        foreach (ImageInfo info in _store.List().OrderBy(i => i.ImportTime))
        {
            Image image = ToImage(info, request.Detail || request.Filters.Any(f => f.Annotations.Count > 0));
            if (request.Filters.Count == 0 || request.Filters.Any(f => Matches(image, f)))
            {
                if (!request.Detail)
                {
                    image.Manifest = ByteString.Empty;
                }

                response.Images.Add(image);
            }
        }

        return Task.FromResult(response);
    }

    public override Task<InspectImageResponse> InspectImage(InspectImageRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Id))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "image id is required"));
        }

        ImageInfo info;
        try
        {
            IReadOnlyList<ImageInfo> found = _store.Find(request.Id);
            info = found.Count == 1 ? found[0] : throw new RpcException(new Status(StatusCode.NotFound, found.Count == 0 ? $"image \"{request.Id}\" not found" : $"image id \"{request.Id}\" is ambiguous"));
        }
        catch (FormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }

        return Task.FromResult(new InspectImageResponse { Image = ToImage(info, detail: true) });
    }

    public override Task ListenEvents(ListenEventsRequest request, IServerStreamWriter<ListenEventsResponse> responseStream, ServerCallContext context) =>
        new EventWatcher(_options, _store, request.Filter ?? new EventFilter()).RunAsync(responseStream, context.CancellationToken);

    public override Task GetLogs(GetLogsRequest request, IServerStreamWriter<GetLogsResponse> responseStream, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.PodId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "pod_id is required"));
        }

        PodDirectory dir = PodDirectory.Find(_options.DataDir, request.PodId)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"pod \"{request.PodId}\" not found"));
        return PodLogReader.StreamAsync(dir, request, _options, responseStream, context.CancellationToken);
    }

    private Pod ToPod(PodDirectory dir, bool detail)
    {
        var pod = new Pod { Id = dir.Uuid, State = dir.State };
        if (dir.State is PodState.Embryo or PodState.Preparing or PodState.AbortedPrepare)
        {
            return pod; // rkt: only id and state before the pod is prepared.
        }

        pod.Pid = dir.Pid();
        pod.Cgroup = dir.State == PodState.Running ? dir.Cgroup() : string.Empty;
        pod.CreatedAt = dir.CreatedAt();
        pod.StartedAt = dir.StartedAt();
        pod.GcMarkedAt = dir.GcMarkedAt();
        JsonObject? manifest = dir.Manifest();
        if (manifest is not null)
        {
            pod.Annotations.AddRange(KeyValues(manifest["annotations"]));
            foreach (JsonObject app in (manifest["apps"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                string name = (string?)app["name"] ?? string.Empty;
                string imageId = (string?)app["image"]?["id"] ?? string.Empty;
                var entry = new App { Name = name, Image = new Image { Id = imageId } };
                entry.Annotations.AddRange(KeyValues(app["annotations"]));
                if (detail)
                {
                    ImageInfo? info = Lookup(imageId);
                    if (info is not null)
                    {
                        entry.Image = ToImage(info, detail: false);
                    }

                    int? exit = dir.ExitCode(name);
                    entry.State = exit is not null || dir.State != PodState.Running ? AppState.Exited : AppState.Running;
                    entry.ExitCode = exit ?? 0;
                }

                pod.Apps.Add(entry);
            }

            if (detail)
            {
                pod.Manifest = ByteString.CopyFrom(dir.ManifestBytes());
            }
        }

        if (dir.State == PodState.Running)
        {
            foreach (NetworkAttachment net in SafeNetworks(dir.Path))
            {
                pod.Networks.Add(new Network { Name = net.NetName, Ipv4 = net.IPv4Cidr.Split('/')[0] });
            }
        }

        return pod;
    }

    private static IReadOnlyList<NetworkAttachment> SafeNetworks(string podDir)
    {
        try
        {
            return NetInfo.Load(podDir);
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }

    private ImageInfo? Lookup(string imageId)
    {
        if (imageId.Length == 0)
        {
            return null;
        }

        try
        {
            IReadOnlyList<ImageInfo> found = _store.Find(imageId);
            return found.Count == 1 ? found[0] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private Image ToImage(ImageInfo info, bool detail)
    {
        var image = new Image
        {
            BaseFormat = new ImageFormat
            {
                Type = info.Format == Images.Store.ImageFormat.Aci ? ImageType.Appc : ImageType.Oci,
                Version = info.Format == Images.Store.ImageFormat.Aci ? "0.8.11" : "1.0.0",
            },
            Id = info.Id,
            Name = info.Name,
            Version = info.Labels.TryGetValue("version", out string? version) ? version : string.Empty,
            ImportTimestamp = info.ImportTime.ToUnixTimeSeconds(),
            Size = info.Size,
        };
        image.Labels.AddRange(info.Labels.Select(l => new KeyValue { Key = l.Key, Value = l.Value }));
        if (detail)
        {
            try
            {
                byte[] manifest = _store.GetManifestBytes(info.Id);
                image.Manifest = ByteString.CopyFrom(manifest);
                image.Annotations.AddRange(KeyValues((JsonNode.Parse(manifest) as JsonObject)?["annotations"]));
            }
            catch (Exception e) when (e is KeyNotFoundException or IOException or System.Text.Json.JsonException)
            {
                // Removed meanwhile or unreadable: the summary is still right.
            }
        }

        return image;
    }

    internal static IEnumerable<KeyValue> KeyValues(JsonNode? annotations) =>
        (annotations as JsonArray)?.OfType<JsonObject>()
            .Where(a => a["name"] is not null)
            .Select(a => new KeyValue { Key = (string)a["name"]!, Value = (string?)a["value"] ?? string.Empty }) ?? [];

    private static bool Matches(Pod pod, PodFilter filter) =>
        (filter.Ids.Count == 0 || filter.Ids.Contains(pod.Id))
        && (filter.States.Count == 0 || filter.States.Contains(pod.State))
        && filter.AppNames.All(name => pod.Apps.Any(a => a.Name == name))
        && filter.ImageIds.All(id => pod.Apps.Any(a => a.Image?.Id == id))
        && filter.NetworkNames.All(name => pod.Networks.Any(n => n.Name == name))
        && filter.Annotations.All(kv => pod.Annotations.Any(a => a.Key == kv.Key && a.Value == kv.Value))
        && (filter.Cgroups.Count == 0 || filter.Cgroups.Contains(pod.Cgroup))
        && (filter.PodSubCgroups.Count == 0 || (pod.Cgroup.Length > 0 && filter.PodSubCgroups.Any(c => c.StartsWith(pod.Cgroup, StringComparison.Ordinal))));

    private static bool Matches(Image image, ImageFilter filter)
    {
        string baseName = image.Name[(image.Name.LastIndexOf('/') + 1)..];
        return (filter.Ids.Count == 0 || filter.Ids.Contains(image.Id))
            && (filter.Prefixes.Count == 0 || filter.Prefixes.Any(p => image.Name.StartsWith(p, StringComparison.Ordinal)))
            && (filter.BaseNames.Count == 0 || filter.BaseNames.Contains(baseName))
            && (filter.Keywords.Count == 0 || filter.Keywords.Any(k => image.Name.Contains(k, StringComparison.Ordinal)))
            && filter.Labels.All(kv => image.Labels.Any(l => l.Key == kv.Key && l.Value == kv.Value))
            && (filter.ImportedAfter == 0 || image.ImportTimestamp > filter.ImportedAfter)
            && (filter.ImportedBefore == 0 || image.ImportTimestamp < filter.ImportedBefore)
            && filter.Annotations.All(kv => image.Annotations.Any(a => a.Key == kv.Key && a.Value == kv.Value))
            && (filter.FullNames.Count == 0 || filter.FullNames.Contains(image.Name));
    }
}
