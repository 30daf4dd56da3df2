using Platform.Kola.Platforms;
using Platform.Testing;

namespace Platform.Kola.Netns.IntegrationTests;

/// <summary>The netns platform's machines through the kola interfaces only, as a test would use them.</summary>
public sealed class MachineTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    [RootFact("machines are network, mount and PID namespaces")]
    public async Task Machine_HasItsOwnFilesystemAndNetwork_SurvivesPowerCutAndRestart_AndLeavesNothingBehind()
    {
        Assert.Null(NetnsFixture.Missing());
        using var cts = new CancellationTokenSource(s_timeout);
        CancellationToken ct = cts.Token;
        string stateRoot = NetnsFixture.NewStateRoot();
        string flightName = "t" + Guid.NewGuid().ToString("N")[..6];
        using var output = TestDirectory.Create("kola-netns");
        IFlightFactory factory = NetnsPlatform.CreateFactory(new NetnsOptions { BinDirectory = NetnsFixture.BinDirectory, StateRoot = stateRoot, FlightName = flightName });
        Assert.Null(factory.Unavailable());
        try
        {
            IFlight flight = await factory.CreateAsync(ct);
            await using (flight)
            {
                ICluster cluster = await flight.NewClusterAsync(new ClusterOptions("machine", output.Path), ct);
                IMachine m = await cluster.NewMachineAsync(null, ct);
                Assert.Equal(m.Id, await MustAsync(m, "hostname", ct));
                Assert.Contains($"inet {m.PrivateIP}/16", await MustAsync(m, "ip -4 -o addr show eth0", ct));
                Assert.Contains("kola-init", await MustAsync(m, "tr '\\0' ' ' < /proc/1/cmdline", ct));
                Assert.Contains(NetnsPlatform.SupervisorVerb, await MustAsync(m, "tr '\\0' ' ' < /proc/2/cmdline", ct));
                // Its own cgroup, where the supervisor and everything it starts live.
                Assert.Contains($"/kola-{flightName}-m1", await MustAsync(m, "cat /proc/2/cgroup", ct));

                // Its own PID namespace: a handful of processes, not the host's.
                int processes = int.Parse(await MustAsync(m, "ls /proc | grep -c '^[0-9]'", ct), System.Globalization.CultureInfo.InvariantCulture);
                Assert.InRange(processes, 2, 20);

                // Its own /etc, /var/lib and /run: nothing written there reaches the host.
                string probe = "kola-probe-" + Guid.NewGuid().ToString("N")[..8];
                await MustAsync(m, $"echo disk > /etc/{probe} && echo disk > /var/lib/{probe} && echo volatile > /run/{probe}", ct);
                Assert.False(File.Exists($"/etc/{probe}"));
                Assert.False(File.Exists($"/var/lib/{probe}"));
                Assert.False(File.Exists($"/run/{probe}"));

                // No user data: the cloud-config unit's condition fails, as on CoreOS.
                CommandResult cloudinit = await m.RunAsync("systemctl is-active user-cloudinit.service", ct);
                Assert.Equal("inactive", cloudinit.StandardOutput.Trim());
                Assert.Equal(3, cloudinit.ExitCode);

                await m.KillAsync(ct);
                CommandResult dead = await m.RunAsync("true", ct);
                Assert.False(dead.Succeeded);

                await m.RestartAsync(ct);
                Assert.Equal("disk", await MustAsync(m, $"cat /etc/{probe} /var/lib/{probe} | sort -u", ct));
                Assert.False((await m.RunAsync($"test -e /run/{probe}", ct)).Succeeded, "/run must be empty after a reboot");
                Assert.Contains("booted", m.ConsoleOutput());
            }
        }
        finally
        {
            NetnsPlatform.Destroy(flightName, stateRoot);
            if (Directory.Exists(stateRoot))
            {
                Directory.Delete(stateRoot, recursive: true);
            }
        }

        Assert.Empty(NetnsFixture.KolaNamespaces(flightName));
        Assert.False(Directory.Exists(Path.Combine(stateRoot, flightName)));
        Assert.Empty(Directory.GetDirectories("/sys/fs/cgroup").SelectMany(h => Directory.EnumerateDirectories(h, $"kola-{flightName}-*", SearchOption.AllDirectories)));
    }

    [RootFact("machines are network namespaces; partitions are iptables rules inside them")]
    public async Task Partition_CutsTrafficBetweenMachines_HealRestoresIt()
    {
        Assert.Null(NetnsFixture.Missing());
        using var cts = new CancellationTokenSource(s_timeout);
        CancellationToken ct = cts.Token;
        string stateRoot = NetnsFixture.NewStateRoot();
        using var output = TestDirectory.Create("kola-netns");
        IFlight flight = await NetnsPlatform.CreateFactory(new NetnsOptions { BinDirectory = NetnsFixture.BinDirectory, StateRoot = stateRoot }).CreateAsync(ct);
        try
        {
            ICluster cluster = await flight.NewClusterAsync(new ClusterOptions("partition", output.Path), ct);
            IMachine[] machines = await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ => await cluster.NewMachineAsync(null, ct)));
            string ping(IMachine to) => $"busybox ping -c 1 -W 1 {to.PrivateIP}";
            await MustAsync(machines[0], ping(machines[1]), ct);
            await MustAsync(machines[0], ping(machines[2]), ct);

            await cluster.PartitionAsync([machines[0]], [machines[1]], ct);
            Assert.False((await machines[0].RunAsync(ping(machines[1]), ct)).Succeeded, "m1 must not reach m2 across the partition");
            Assert.False((await machines[1].RunAsync(ping(machines[0]), ct)).Succeeded, "m2 must not reach m1 across the partition");
            await MustAsync(machines[0], ping(machines[2]), ct);
            await MustAsync(machines[1], ping(machines[2]), ct);

            await cluster.HealAsync(ct);
            await MustAsync(machines[0], ping(machines[1]), ct);
            await MustAsync(machines[1], ping(machines[0]), ct);

            // Again, then a reboot of one side (a fresh network namespace) before healing.
            await cluster.PartitionAsync([machines[0]], [machines[1]], ct);
            Assert.False((await machines[1].RunAsync(ping(machines[0]), ct)).Succeeded, "the second partition must cut traffic too");
            await machines[0].RestartAsync(ct);
            await cluster.HealAsync(ct);
            await MustAsync(machines[0], ping(machines[1]), ct);
            await MustAsync(machines[1], ping(machines[0]), ct);
        }
        finally
        {
            await flight.DisposeAsync();
            if (Directory.Exists(stateRoot))
            {
                Directory.Delete(stateRoot, recursive: true);
            }
        }
    }

    private static async Task<string> MustAsync(IMachine machine, string command, CancellationToken ct)
    {
        CommandResult result = await machine.RunAsync(command, ct);
        Assert.True(result.Succeeded, $"{machine.Id}: `{command}` exited {result.ExitCode}: {result.StandardError} {result.StandardOutput}");
        return result.StandardOutput.Trim();
    }
}
