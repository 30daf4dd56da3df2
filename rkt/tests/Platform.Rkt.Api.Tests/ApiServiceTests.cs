using System.Formats.Tar;
using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.Rkt.Api.V1Alpha;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trust;
using Platform.Testing;

namespace Platform.Rkt.Api.Tests;

public sealed class ApiServiceTests : IAsyncLifetime, IDisposable
{
    private readonly TestDirectory _dir = TestDirectory.Create("api");
    private readonly List<FileLock> _locks = [];
    private IApiService _service = null!;
    private GrpcChannel _channel = null!;
    private PublicAPI.PublicAPIClient _client = null!;

    private string DataDir => _dir.Combine("data");

    public async Task InitializeAsync()
    {
        _service = await ApiServices.StartAsync(
            new ApiServiceOptions
            {
                DataDir = DataDir,
                LocalConfigDir = "/etc/rkt-test",
                InsecureFlags = "image",
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                PollInterval = TimeSpan.FromMilliseconds(50),
            },
            CancellationToken.None);
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_service.Port}");
        _client = new PublicAPI.PublicAPIClient(_channel);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
    }

    public void Dispose()
    {
        _channel.Dispose();
        foreach (FileLock l in _locks)
        {
            l.Dispose();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task GetInfo_VersionsAndGlobalFlags()
    {
        Info info = (await _client.GetInfoAsync(new GetInfoRequest())).Info;

        Assert.Equal(("1.0.0-alpha", "0.8.11"), (info.ApiVersion, info.AppcVersion));
        Assert.StartsWith("1.30.0", info.RktVersion, StringComparison.Ordinal);
        Assert.Equal((DataDir, "/etc/rkt-test", "image"), (info.GlobalFlags.Dir, info.GlobalFlags.LocalConfigDir, info.GlobalFlags.InsecureFlags));
    }

    [Fact]
    public async Task ListPods_StatesFromDirectoryAndLock_FiltersAndOrFilters()
    {
        string running = Pod("run", locked: true, apps: ["web", "db"], annotation: ("tier", "front"), pid: 4242, net: ("default", "172.16.28.9"));
        string exited = Pod("run", locked: false, apps: ["web"], annotation: ("tier", "back"));
        string prepared = Pod("prepared", locked: false, apps: ["batch"]);
        string embryo = Pod("embryo", locked: false, apps: ["x"]);
        string aborted = Pod("prepare", locked: false, apps: ["x"]);
        string garbage = Pod("exited-garbage", locked: false, apps: ["x"]);

        string runningDir = Path.Combine(DataDir, "pods", "run", running);
        File.WriteAllText(Path.Combine(runningDir, "cgroups"), $"1 memory,cpu /sys/fs/cgroup/memory /sys/fs/cgroup/memory/rkt/{running}\n2  /sys/fs/cgroup/unified /sys/fs/cgroup/unified/rkt/{running}\n");
        File.WriteAllText(Path.Combine(runningDir, "started"), "2026-01-02T03:04:05.0000000+00:00");

        var all = (await _client.ListPodsAsync(new ListPodsRequest())).Pods.ToDictionary(p => p.Id);

        Assert.Equal(PodState.Running, all[running].State);
        Assert.Equal(PodState.Exited, all[exited].State);
        Assert.Equal(PodState.Prepared, all[prepared].State);
        Assert.Equal(PodState.Embryo, all[embryo].State);
        Assert.Equal(PodState.AbortedPrepare, all[aborted].State);
        Assert.Equal(PodState.Garbage, all[garbage].State);
        Assert.Equal(4242, all[running].Pid);
        Assert.Equal(["web", "db"], all[running].Apps.Select(a => a.Name));
        Assert.Equal("sha512-" + new string('a', 64), all[running].Apps[0].Image.Id);
        Assert.Equal(("default", "172.16.28.9"), (all[running].Networks.Single().Name, all[running].Networks.Single().Ipv4));
        Assert.Empty(all[exited].Networks); // networks only for running pods
        Assert.Empty(all[embryo].Apps); // only id and state before prepared
        Assert.True(all[running].CreatedAt > 0);
        Assert.Equal($"/rkt/{running}", all[running].Cgroup);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, all[running].StartedAt);
        Assert.Equal([running], (await _client.ListPodsAsync(new ListPodsRequest { Filters = { new PodFilter { PodSubCgroups = { $"/rkt/{running}/app" } } } })).Pods.Select(p => p.Id));
        Assert.True(all[running].Manifest.IsEmpty); // not detailed

        var filtered = await _client.ListPodsAsync(new ListPodsRequest
        {
            Filters =
            {
                new PodFilter { States = { PodState.Running }, AppNames = { "web", "db" } },
                new PodFilter { Annotations = { new KeyValue { Key = "tier", Value = "back" } } },
            },
        });
        Assert.Equal(new[] { running, exited }.Order(), filtered.Pods.Select(p => p.Id).Order());
        Assert.Empty((await _client.ListPodsAsync(new ListPodsRequest { Filters = { new PodFilter { AppNames = { "web", "nope" } } } })).Pods);
        Assert.Equal([prepared], (await _client.ListPodsAsync(new ListPodsRequest { Filters = { new PodFilter { Ids = { prepared } } } })).Pods.Select(p => p.Id));
    }

    [Fact]
    public async Task InspectPod_AppStatesExitCodesManifestAndImages()
    {
        string imageId = await ImportAsync("example.com/web", "1.2.3");
        string running = Pod("run", locked: true, apps: ["web", "db"], imageId: imageId);
        Directory.CreateDirectory(Path.Combine(DataDir, "pods", "run", running, "stage1", "rootfs", "rkt", "status"));
        File.WriteAllText(Path.Combine(DataDir, "pods", "run", running, "stage1", "rootfs", "rkt", "status", "db"), "3");

        Pod pod = (await _client.InspectPodAsync(new InspectPodRequest { Id = running })).Pod;

        Assert.Equal((AppState.Running, 0), (pod.Apps[0].State, pod.Apps[0].ExitCode));
        Assert.Equal((AppState.Exited, 3), (pod.Apps[1].State, pod.Apps[1].ExitCode));
        Assert.Equal(("example.com/web", "1.2.3"), (pod.Apps[0].Image.Name, pod.Apps[0].Image.Version));
        Assert.Equal(File.ReadAllBytes(Path.Combine(DataDir, "pods", "run", running, "pod")), pod.Manifest.ToByteArray());

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.InspectPodAsync(new InspectPodRequest { Id = Guid.NewGuid().ToString() }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        var empty = await Assert.ThrowsAsync<RpcException>(async () => await _client.InspectPodAsync(new InspectPodRequest()));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
    }

    [Fact]
    public async Task ListImages_InspectImage_FromTheRealStore()
    {
        string etcd = await ImportAsync("coreos.com/etcd", "3.4.0");
        string web = await ImportAsync("example.com/web", "1.0");

        var images = (await _client.ListImagesAsync(new ListImagesRequest())).Images;
        Assert.Equal(new[] { etcd, web }.Order(), images.Select(i => i.Id).Order());
        Assert.All(images, i => Assert.Equal(ImageType.Appc, i.BaseFormat.Type));
        Assert.All(images, i => Assert.True(i.Manifest.IsEmpty));

        Assert.Equal([etcd], (await _client.ListImagesAsync(new ListImagesRequest { Filters = { new ImageFilter { BaseNames = { "etcd" } } } })).Images.Select(i => i.Id));
        Assert.Equal([web], (await _client.ListImagesAsync(new ListImagesRequest { Filters = { new ImageFilter { Prefixes = { "example.com/" } } } })).Images.Select(i => i.Id));
        Assert.Equal([etcd], (await _client.ListImagesAsync(new ListImagesRequest { Filters = { new ImageFilter { Labels = { new KeyValue { Key = "version", Value = "3.4.0" } } } } })).Images.Select(i => i.Id));
        Assert.Equal([web], (await _client.ListImagesAsync(new ListImagesRequest { Filters = { new ImageFilter { Annotations = { new KeyValue { Key = "created-by", Value = "example.com/web" } } } } })).Images.Select(i => i.Id));
        Assert.Empty((await _client.ListImagesAsync(new ListImagesRequest { Filters = { new ImageFilter { Keywords = { "nothing" } } } })).Images);

        Image detail = (await _client.InspectImageAsync(new InspectImageRequest { Id = etcd })).Image;
        Assert.Equal(("coreos.com/etcd", "3.4.0"), (detail.Name, detail.Version));
        Assert.Contains("\"coreos.com/etcd\"", detail.Manifest.ToStringUtf8(), StringComparison.Ordinal);
        Assert.Contains(detail.Annotations, a => a.Key == "created-by" && a.Value == "coreos.com/etcd");
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.InspectImageAsync(new InspectImageRequest { Id = "sha512-" + new string('0', 64) }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ListenEvents_PodLifecycleAndImages()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _client.ListenEvents(new ListenEventsRequest(), cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        Assert.Empty(call.ResponseStream.Current.Events); // the baseline is taken

        string uuid = Pod("prepared", locked: false, apps: ["web"]);
        await ExpectEvent(call, e => e.Type == EventType.PodPrepared && e.Id == uuid, cancel.Token);

        // prepared → run (locked = running): the pod and its app start.
        Directory.CreateDirectory(Path.Combine(DataDir, "pods", "run"));
        Directory.Move(Path.Combine(DataDir, "pods", "prepared", uuid), Path.Combine(DataDir, "pods", "run", uuid));
        _locks.Add(FileLock.Acquire(Path.Combine(DataDir, "pods", "run", uuid), LockMode.Exclusive));
        await ExpectEvent(call, e => e.Type == EventType.AppStarted && e.Id == uuid && e.From == "web", cancel.Token);

        string image = await ImportAsync("example.com/new", "1");
        await ExpectEvent(call, e => e.Type == EventType.ImageImported && e.Id == image && e.From == "example.com/new", cancel.Token);
    }

    [Fact]
    public async Task ListenEvents_TypeFilterAndUntilTime()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long until = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 4; // room for the import on a loaded machine
        using var call = _client.ListenEvents(new ListenEventsRequest { Filter = new EventFilter { Types_ = { EventType.ImageImported }, UntilTime = until } }, cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));

        Pod("prepared", locked: false, apps: ["web"]);
        string image = await ImportAsync("example.com/filtered", "1");

        var seen = new List<Event>();
        while (await call.ResponseStream.MoveNext(cancel.Token))
        {
            seen.AddRange(call.ResponseStream.Current.Events);
        }

        // The stream ended by itself at until_time, with only image events.
        Assert.Equal([(EventType.ImageImported, image)], seen.Select(e => (e.Type, e.Id)));
    }

    [Fact]
    public async Task GetLogs_TailAndFollow()
    {
        string uuid = Pod("run", locked: true, apps: ["web"]);
        string log = PodLogReader.LogPath(Path.Combine(DataDir, "pods", "run", uuid), "web");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllText(log, "one\ntwo\nthree\n");

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tail = _client.GetLogs(new GetLogsRequest { PodId = uuid, Lines = 2 }, cancellationToken: cancel.Token);
        var lines = new List<string>();
        while (await tail.ResponseStream.MoveNext(cancel.Token))
        {
            lines.AddRange(tail.ResponseStream.Current.Lines);
        }

        Assert.Equal(["two", "three"], lines);

        using var follow = _client.GetLogs(new GetLogsRequest { PodId = uuid, AppName = "web", Follow = true }, cancellationToken: cancel.Token);
        Assert.True(await follow.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(["one", "two", "three"], follow.ResponseStream.Current.Lines);
        File.AppendAllText(log, "four\n");
        Assert.True(await follow.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(["four"], follow.ResponseStream.Current.Lines);

        var badApp = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = _client.GetLogs(new GetLogsRequest { PodId = uuid, AppName = "nope" }, cancellationToken: cancel.Token);
            await call.ResponseStream.MoveNext(cancel.Token);
        });
        Assert.Equal(StatusCode.NotFound, badApp.StatusCode);
    }

    private static async Task ExpectEvent(AsyncServerStreamingCall<ListenEventsResponse> call, Func<Event, bool> match, CancellationToken ct)
    {
        while (await call.ResponseStream.MoveNext(ct))
        {
            if (call.ResponseStream.Current.Events.Any(match))
            {
                return;
            }
        }

        Assert.Fail("the event stream ended before the expected event");
    }

    /// <summary>A pod directory as stage0 leaves it; <paramref name="locked"/> holds its flock like a live stage1 does.</summary>
    private string Pod(string stateDir, bool locked, string[] apps, (string Key, string Value)? annotation = null, int pid = 0, (string Name, string Ip)? net = null, string? imageId = null)
    {
        string uuid = Guid.NewGuid().ToString();
        string dir = Path.Combine(DataDir, "pods", stateDir, uuid);
        Directory.CreateDirectory(dir);
        string appsJson = string.Join(',', apps.Select(a => $$$"""{"name":"{{{a}}}","image":{"name":"example.com/{{{a}}}","id":"{{{imageId ?? "sha512-" + new string('a', 64)}}}"}}"""));
        string annotations = annotation is null ? "[]" : $$"""[{"name":"{{annotation.Value.Key}}","value":"{{annotation.Value.Value}}"}]""";
        File.WriteAllText(Path.Combine(dir, "pod"), $$"""{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{{appsJson}}],"annotations":{{annotations}}}""");
        if (pid > 0)
        {
            File.WriteAllText(Path.Combine(dir, "pid"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (net is not null)
        {
            File.WriteAllText(Path.Combine(dir, "net-info.json"), $$$"""[{"netName":"{{{net.Value.Name}}}","ifName":"eth0","ip":"{{{net.Value.Ip}}}","prefixLength":24,"complete":true,"config":{}}]""");
        }

        if (locked)
        {
            _locks.Add(FileLock.Acquire(dir, LockMode.Exclusive));
        }

        return uuid;
    }

    /// <summary>Imports an ACI through the real fetcher into the data dir's store; returns its ID.</summary>
    private async Task<string> ImportAsync(string name, string version)
    {
        string manifest = $$"""{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{{name}}","labels":[{"name":"version","value":"{{version}}"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"annotations":[{"name":"created-by","value":"{{name}}"}]}""";
        string path = _dir.Combine(Guid.NewGuid().ToString("N") + ".aci");
        using (var file = File.Create(path))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(manifest)), Mode = (UnixFileMode)0b110_100_100 });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs") { Mode = (UnixFileMode)0b111_101_101 });
        }

        IImageStore store = StoreFactory.OpenImageStore(new StoreOptions { DataDirectory = DataDir });
        ITrustStore trust = TrustStoreFactory.Open(new ConfigPaths { SystemConfig = _dir.Combine("usr"), LocalConfig = _dir.Combine("etc") });
        ImageInfo info = await FetcherFactory.Create(store, trust, new FetchOptions { Insecure = InsecureOptions.Image }).FetchAsync(path);
        return info.Id;
    }
}
