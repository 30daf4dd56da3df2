using System.Net.Sockets;
using Platform.Testing;

namespace Platform.Kola.Units.Tests;

/// <summary>The real etcd 3.4 (Debian's /usr/bin/etcd) as a Type=notify service: its sd_notify READY=1 ends activation.</summary>
public class RealEtcdTests
{
    [Fact]
    public async Task Notify_RealEtcd_StartsWhenReadyAndStopsCleanly()
    {
        await using Harness h = Harness.Create(nameof(Notify_RealEtcd_StartsWhenReadyAndStopsCleanly));
        int[] ports = FreePorts.Next(2);
        string client = $"http://127.0.0.1:{ports[0]}";
        string peer = $"http://127.0.0.1:{ports[1]}";
        Harness.Write(h.Lib, "etcd-member.service", $"""
            [Unit]
            Description=etcd (System Application Container)

            [Service]
            Type=notify
            Restart=on-failure
            Environment=ETCD_DATA_DIR={h.Path("etcd")}
            Environment="ETCD_NAME=%H"
            Environment=ETCD_LISTEN_CLIENT_URLS={client} ETCD_ADVERTISE_CLIENT_URLS={client}
            Environment=ETCD_LISTEN_PEER_URLS={peer} ETCD_INITIAL_ADVERTISE_PEER_URLS={peer}
            Environment=ETCD_INITIAL_CLUSTER=%H={peer}
            ExecStart=/usr/bin/etcd
            TimeoutStartSec=60
            """);

        await h.Manager.StartAsync("etcd-member", CancellationToken.None);
        UnitStatus status = h.Manager.GetStatus("etcd-member");
        Assert.Equal(("active", "running"), (status.ActiveState, status.SubState));

        // Ready means serving: the client port accepts connections right away.
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync("127.0.0.1", ports[0]);
        }

        Assert.Contains("name = node1", await h.JournalAsync("etcd-member"), StringComparison.Ordinal);
        await h.Manager.StopAsync("etcd-member", CancellationToken.None);
        status = h.Manager.GetStatus("etcd-member");
        Assert.Equal(("inactive", "dead", "success"), (status.ActiveState, status.SubState, status.Result));
        Assert.Contains("Stopped etcd (System Application Container).", await h.JournalAsync("etcd-member"), StringComparison.Ordinal);
    }
}
