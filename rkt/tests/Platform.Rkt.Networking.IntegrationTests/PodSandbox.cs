using System.Diagnostics;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Rkt.Networking.IntegrationTests;

/// <summary>
/// One test's world: its own local-config (net.d), data dir (IPAM), pod directories and persistent
/// network namespaces. Dispose tears every pod down and deletes the namespaces, also after failures.
/// </summary>
internal sealed class PodSandbox : IDisposable
{
    private readonly TestDirectory _dir;
    private readonly List<(string PodDir, string Uuid, string Netns)> _pods = [];

    public PodSandbox(string name)
    {
        _dir = TestDirectory.Create(name);
        Directory.CreateDirectory(NetDir);
        Networking = PodNetworkings.Create(Options);
    }

    public string LocalConfig => _dir.Combine("etc");

    public string NetDir => _dir.Combine("etc", "net.d");

    public string DataDir => _dir.Combine("data");

    public PodNetworkingOptions Options => new() { LocalConfigDir = LocalConfig, SystemConfigDir = _dir.Combine("usr"), DataDir = DataDir };

    public IPodNetworking Networking { get; }

    /// <summary>A /24 in 10.0.0.0/8 unlikely to be used by a parallel test: "10.a.b".</summary>
    public static string RandomSubnetPrefix() => $"10.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(0, 256)}";

    public void WriteNet(string fileName, string json) => File.WriteAllText(Path.Combine(NetDir, fileName), json);

    /// <summary>Overrides rkt's default-restricted (added whenever default is not selected) with a private subnet, so tests do not share 172.16.28.0/24.</summary>
    public void IsolateDefaultRestricted() =>
        WriteNet("99-default-restricted.conf", $$$"""{"cniVersion":"0.4.0","name":"default-restricted","type":"ptp","ipam":{"type":"host-local","subnet":"{{{RandomSubnetPrefix()}}}.0/24"}}""");

    /// <summary>A pod directory and a fresh persistent namespace for it.</summary>
    public (string PodDir, string Uuid, string Netns) NewPod()
    {
        string uuid = Guid.NewGuid().ToString();
        string podDir = _dir.Combine("pods", uuid);
        Directory.CreateDirectory(podDir);
        string netns = _dir.Combine("netns", uuid[..8]);
        NetworkNamespace.Create(netns).Dispose();
        _pods.Add((podDir, uuid, netns));
        return (podDir, uuid, netns);
    }

    public static PodNetworkRequest Request((string PodDir, string Uuid, string Netns) pod, string net, params (string Name, string Protocol, int ContainerPort, int HostPort, string? HostIp)[] ports) =>
        new(pod.Uuid, pod.PodDir, pod.Netns, NetFlag.Parse(net), ports);

    /// <summary>Runs a command inside a namespace (nsenter), returning exit code and output.</summary>
    public static (int Exit, string Output) InNetns(string netns, params string[] command) => Run("nsenter", [$"--net={netns}", .. command]);

    public static (int Exit, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    public static string NatRules() => Run("iptables", "-w", "-t", "nat", "-S").Output;

    public void Dispose()
    {
        foreach ((string podDir, string uuid, string netns) in _pods)
        {
            try
            {
                Networking.TeardownAsync(podDir, uuid, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (CniPluginException)
            {
                // Best effort; the test has already failed if this matters.
            }

            NetworkNamespace.Delete(netns);
        }

        _dir.Dispose();
    }
}
