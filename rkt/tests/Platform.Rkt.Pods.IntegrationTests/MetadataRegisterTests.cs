using System.Diagnostics;
using System.Net.Sockets;
using Platform.Rkt.Images.Native;
using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary>
/// <c>rkt run --mds-register</c> against a real <c>rkt metadata-service</c>: the app finds the service at
/// <c>$AC_METADATA_URL</c> and reads its own pod and image from it.
/// </summary>
public sealed class MetadataRegisterTests
{
    /// <summary>rkt's fixed registration socket and port are machine-wide: tests using them take turns.</summary>
    private const string MachineLock = "/run/rkt/mds-register-test.lock";

    [RootFact("runs a metadata service on rkt's socket and port, and a pod on a CNI network")]
    public void Run_MdsRegister_AppReadsItsPodAndImageFromTheService()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(MachineLock)!);
        using FileLock turn = FileLock.Acquire(MachineLock, LockMode.Exclusive);
        using var host = new PodTestHost(nameof(Run_MdsRegister_AppReadsItsPodAndImageFromTheService));
        string config = host.Combine("config");
        Directory.CreateDirectory(Path.Combine(config, "net.d"));
        string subnet = $"10.232.{Random.Shared.Next(1, 254)}.";
        File.WriteAllText(
            Path.Combine(config, "net.d", "10-mdstest.conf"),
            "{\"cniVersion\":\"0.4.0\",\"name\":\"mdstest\",\"type\":\"ptp\",\"ipMasq\":false,"
            + $"\"ipam\":{{\"type\":\"host-local\",\"subnet\":\"{subnet}0/24\"}}}}");

        using Process service = Process.Start(host.StartInfo(["metadata-service"]))!;
        try
        {
            service.StandardInput.Close();
            PodTestHost.Poll(() => Accepts(new UnixDomainSocketEndPoint("/run/rkt/metadata-svc.sock")) && Accepts(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 18112)) ? "up" : null, "the metadata service to listen", service);

            string uuidFile = host.Combine("uuid");
            var run = host.Rkt(
                $"--local-config={config}", "run", "--net=mdstest", "--mds-register", $"--uuid-file-save={uuidFile}",
                host.Aci, "--exec=/bin/sh", "--", "-c",
                "echo url=$AC_METADATA_URL; wget -qO- $AC_METADATA_URL/acMetadata/v1/pod/uuid; echo; wget -qO- $AC_METADATA_URL/acMetadata/v1/apps/busybox/image/manifest");
            Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
            string uuid = File.ReadAllText(uuidFile);
            Assert.Matches($"url=http://{subnet.Replace(".", "\\.", StringComparison.Ordinal)}1:18112/[0-9a-f]{{64}}\n", run.Stdout);
            Assert.Contains("\n" + uuid + "\n", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("\"name\":\"example.com/busybox\"", run.Stdout.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
            host.RktOk($"--local-config={config}", "gc", "--grace-period=0s");
        }
        finally
        {
            if (!service.HasExited)
            {
                service.Kill();
            }

            service.WaitForExit(60_000);
        }
    }

    /// <summary>Something accepts connections there (a socket file left by a killed service does not).</summary>
    private static bool Accepts(System.Net.EndPoint endpoint)
    {
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, endpoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
            socket.Connect(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
