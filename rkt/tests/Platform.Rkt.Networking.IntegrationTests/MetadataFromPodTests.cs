using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.Linux.Netns;
using Platform.Rkt.Metadata;
using Platform.Testing;

namespace Platform.Rkt.Networking.IntegrationTests;

/// <summary>
/// Why default-restricted exists: a pod without the default network still reaches the host's
/// metadata service. Requests leave from inside the pod's namespace (sockets made there), so the
/// service sees the pod's real address, which the token-less appc route relies on.
/// </summary>
[Collection(nameof(HostNetworkCollection))]
public sealed class MetadataFromPodTests
{
    [RootFact("creates network namespaces and veths")]
    public async Task Pod_OnDefaultRestricted_ReachesMetadataServiceByTokenAndByItsAddress()
    {
        using var box = new PodSandbox(nameof(Pod_OnDefaultRestricted_ReachesMetadataServiceByTokenAndByItsAddress));
        box.IsolateDefaultRestricted();
        var pod = box.NewPod();
        PodNetworkStatus status = await box.Networking.SetupAsync(PodSandbox.Request(pod, "default-restricted"), CancellationToken.None);
        NetworkAttachment restricted = Assert.Single(status.Attachments);
        Assert.Equal("default-restricted", restricted.NetName);
        IPAddress podIp = IPAddress.Parse(restricted.IPv4Cidr.Split('/')[0]);
        string host = restricted.Gateway!; // the host's end of the pod's veth

        using var socketDir = TestDirectory.Create("mds"); // unix socket paths are limited to 108 bytes
        string socket = socketDir.Combine("mds.sock");
        await using IMetadataService mds = await MetadataServices.StartAsync(
            new MetadataServiceOptions { ListenPort = FreePorts.Next(), ListenAddress = IPAddress.Any, RegistrationSocket = socket },
            CancellationToken.None);
        using var registration = new MetadataRegistrationClient(socket);
        string token = MetadataRegistrationClient.NewToken();
        await registration.RegisterPodAsync(Guid.Parse(pod.Uuid), token, Encoding.UTF8.GetBytes("""{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}"""), podIp, CancellationToken.None);

        using var ns = NetworkNamespace.Open(pod.Netns);
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                Socket socket = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });

        string byToken = await http.GetStringAsync(new Uri($"{MetadataRegistrationClient.MetadataUrl(host, mds.Port, token)}/acMetadata/v1/pod/uuid"));
        Assert.Equal(pod.Uuid, byToken);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{host}:{mds.Port}/acMetadata/v1/pod/uuid"));
        request.Headers.Add("Metadata-Flavor", "AppContainer");
        using HttpResponseMessage byAddress = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, byAddress.StatusCode);
        Assert.Equal(pod.Uuid, await byAddress.Content.ReadAsStringAsync());

        // From the host itself (another address) the token-less route finds no pod.
        using var fromHost = new HttpClient();
        using var hostRequest = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{host}:{mds.Port}/acMetadata/v1/pod/uuid"));
        hostRequest.Headers.Add("Metadata-Flavor", "AppContainer");
        Assert.Equal(HttpStatusCode.Unauthorized, (await fromHost.SendAsync(hostRequest)).StatusCode);

        await box.Networking.TeardownAsync(pod.PodDir, pod.Uuid, CancellationToken.None);
    }
}
