namespace Platform.Kola.Netns.Flight;

/// <summary>
/// What every netns machine boots from, like an OS image's <c>/usr</c>: base units at
/// <c>/opt/platform/image/units</c> (the last directory of the unit search path, so a machine's /etc
/// and /run override them) and the <c>systemctl</c>/<c>journalctl</c>/<c>hostnamectl</c> front ends at
/// <c>/opt/platform/image/bin</c>. Platform's binaries are at <c>/opt/platform/bin</c>.
/// </summary>
internal static class MachineImage
{
    /// <summary>The unit that applies the machine's cloud-config at boot (CoreOS's user-cloudinit).</summary>
    public const string CloudInitUnit = "user-cloudinit.service";

    /// <summary>Where the platform puts a machine's user data (machine view).</summary>
    public const string UserDataPath = "/var/lib/kola/user-data";

    public static void Write(string imageDirectory)
    {
        string units = Path.Join(imageDirectory, "units");
        string bin = Path.Join(imageDirectory, "bin");
        Directory.CreateDirectory(units);
        Directory.CreateDirectory(bin);
        foreach ((string name, string content) in Units)
        {
            File.WriteAllText(Path.Join(units, name), content);
        }

        foreach (string tool in (string[])["systemctl", "journalctl", "hostnamectl"])
        {
            string path = Path.Join(bin, tool);
            File.WriteAllText(path, $"#!/bin/sh\nexec /opt/platform/bin/kola {NetnsPlatform.ControlVerb} {tool} \"$@\"\n");
            File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
        }
    }

    private static IEnumerable<(string Name, string Content)> Units =>
    [
        (CloudInitUnit, $"""
            [Unit]
            Description=Load cloud-config from {UserDataPath}
            ConditionPathExists={UserDataPath}

            [Service]
            Type=oneshot
            RemainAfterExit=yes
            ExecStart=/opt/platform/bin/coreos-cloudinit --from-file={UserDataPath}
            """),
        ("etcd2.service", """
            [Unit]
            Description=etcd2
            Conflicts=etcd.service

            [Service]
            Type=simple
            Environment=ETCD_DATA_DIR=/var/lib/etcd2
            Environment=ETCD_NAME=%H
            ExecStart=/opt/platform/bin/etcd
            Restart=always
            RestartSec=1s
            TimeoutStartSec=0

            [Install]
            WantedBy=multi-user.target
            """),
        ("flanneld.service", """
            [Unit]
            Description=flannel - Network fabric for containers
            After=etcd2.service

            [Service]
            Type=simple
            EnvironmentFile=-/run/flannel/options.env
            ExecStartPre=/bin/mkdir -p /run/flannel
            ExecStart=/opt/platform/bin/flanneld --ip-masq
            Restart=always
            RestartSec=1s

            [Install]
            WantedBy=multi-user.target
            """),
        ("multi-user.target", """
            [Unit]
            Description=Multi-User System
            """),
    ];
}
