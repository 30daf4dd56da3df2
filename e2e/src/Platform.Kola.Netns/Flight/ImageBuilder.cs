using Platform.Kola.Netns.Machines;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// The images a flight serves to its machines: <c>busybox.aci</c> (<c>kola.test/busybox</c>, Debian's
/// static busybox with its applets linked in <c>/bin</c>), built with appc's <c>actool</c>.
/// </summary>
internal static class ImageBuilder
{
    public const string BusyboxName = "kola.test/busybox";

    private static readonly string[] s_applets =
        ["sh", "echo", "true", "false", "cat", "ls", "sleep", "ping", "ip", "ifconfig", "hostname", "nc", "httpd", "grep", "env", "id", "ps", "wc", "head", "tail", "route"];

    /// <summary>Builds the ACI when busybox-static and actool are installed; returns why not otherwise.</summary>
    public static string? TryBuildBusybox(string aci, string workDirectory)
    {
        if (!File.Exists("/bin/busybox") || !File.Exists("/usr/bin/actool"))
        {
            return "busybox-static and appc-spec (actool) are needed for the flight's busybox image";
        }

        string rootfs = Path.Join(workDirectory, "rootfs");
        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }

        Directory.CreateDirectory(Path.Join(rootfs, "bin"));
        Directory.CreateDirectory(Path.Join(rootfs, "etc"));
        Directory.CreateDirectory(Path.Join(rootfs, "www"));
        File.Copy("/bin/busybox", Path.Join(rootfs, "bin", "busybox"));
        foreach (string applet in s_applets)
        {
            File.CreateSymbolicLink(Path.Join(rootfs, "bin", applet), "busybox");
        }

        File.WriteAllText(Path.Join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Join(rootfs, "etc", "group"), "root:x:0:\n");
        File.WriteAllText(Path.Join(rootfs, "www", "index.html"), "hello from a kola pod\n");
        File.WriteAllText(Path.Join(workDirectory, "manifest"), $$$"""
            {"acKind":"ImageManifest","acVersion":"0.8.11","name":"{{{BusyboxName}}}",
             "labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
             "app":{"exec":["/bin/httpd","-f","-p","80","-h","/www"],"user":"0","group":"0",
                    "ports":[{"name":"http","protocol":"tcp","port":80}]}}
            """);
        HostCommands.Run("/usr/bin/actool", ["build", "--overwrite", workDirectory, aci]);
        Directory.Delete(workDirectory, recursive: true);
        return null;
    }
}
