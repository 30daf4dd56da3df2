namespace Platform.Kola.Cli.Tests;

/// <summary>
/// The cloud-configs of the registered tests and of <c>kola up</c>, as a user of CoreOS would write
/// them: <c>coreos.etcd2</c> with <c>$discovery</c> and <c>$private_ipv4</c>, <c>coreos.flannel</c>, a
/// drop-in that stores flannel's network config in etcd, and a unit running a busybox pod through rkt
/// on the flannel CNI network.
/// </summary>
internal static class CloudConfigs
{
    /// <summary>The flight's image server (<c>NetnsFlight.ImageServer</c>) as machines reach it.</summary>
    public const string BusyboxUrl = "http://10.200.0.1:8080/busybox.aci";

    public const string FlannelNetwork = "10.1.0.0/16";

    /// <summary>etcd2 on every machine, forming one cluster through the discovery URL.</summary>
    public static string Etcd() => "#cloud-config\n" + EtcdSection + "  units:\n" + EtcdUnit;

    /// <summary>etcd2, flanneld with <paramref name="backend"/> and a busybox pod on the flannel network.</summary>
    public static string Flannel(string backend) => $$$"""
        #cloud-config
        {{{EtcdSection}}}  flannel:
            etcd_endpoints: http://127.0.0.1:2379
          units:
        {{{EtcdUnit}}}    - name: flanneld.service
              command: start
              drop-ins:
                - name: 50-network-config.conf
                  content: |
                    [Service]
                    ExecStartPre=/bin/sh -c 'until etcdctl --dial-timeout=2s put /coreos.com/network/config "$$(cat /etc/flannel/network.json)"; do sleep 0.5; done'
            - name: kola-pod.service
              command: start
              content: |
                [Unit]
                Description=A busybox pod on the flannel network
                After=flanneld.service

                [Service]
                ExecStartPre=/bin/sh -c 'until [ -s /run/flannel/subnet.env ]; do sleep 0.2; done'
                ExecStartPre=/opt/platform/bin/rkt fetch --insecure-options=image,http {{{BusyboxUrl}}}
                ExecStart=/opt/platform/bin/rkt run --insecure-options=image --net=flannel kola.test/busybox
                Restart=on-failure
                RestartSec=1s
        write_files:
          - path: /etc/flannel/network.json
            content: |
              {"Network": "{{{FlannelNetwork}}}", "Backend": {"Type": "{{{backend}}}"}}
          - path: /etc/rkt/net.d/10-flannel.conf
            content: |
              {"name": "flannel", "type": "flannel", "delegate": {"isDefaultGateway": true}}

        """;

    private const string EtcdSection = """
        coreos:
          etcd2:
            discovery: $discovery
            advertise_client_urls: http://$private_ipv4:2379
            initial_advertise_peer_urls: http://$private_ipv4:2380
            listen_client_urls: http://0.0.0.0:2379
            listen_peer_urls: http://$private_ipv4:2380

        """;

    private const string EtcdUnit = """
            - name: etcd2.service
              command: start

        """;
}
