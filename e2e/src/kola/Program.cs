using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Platform.Kola.Cli.Tests;
using Platform.Kola.Harness;
using Platform.Kola.Netns;
using Platform.Kola.Platforms;
using Platform.Kola.Registry;

namespace Platform.Kola.Cli;

/// <summary>The kola command line (coreos/mantle's kola: list, run, spawn; ours: up, down).</summary>
internal static class Program
{
    private const string DefaultStateRoot = "/var/tmp/kola";

    public static int Main(string[] args)
    {
        // A machine's PID 1 and its systemctl/journalctl: raw arguments, no parsing of theirs.
        if (args.Length > 0 && args[0] == NetnsPlatform.SupervisorVerb)
        {
            return NetnsPlatform.RunSupervisor(args[1..]);
        }

        if (args.Length > 0 && args[0] == NetnsPlatform.ControlVerb)
        {
            return NetnsPlatform.RunControl(args[1..]);
        }

        return BuildCommand().Parse(args).Invoke();
    }

    internal static RootCommand BuildCommand()
    {
        var platform = new Option<string>("--platform", "-p") { Description = "the platform machines run on (netns)", DefaultValueFactory = _ => NetnsPlatform.Name };
        var stateRoot = new Option<string>("--state-root") { Description = "where netns flights keep machine disks", DefaultValueFactory = _ => DefaultStateRoot };
        var bin = new Option<string>("--bin") { Description = "Platform's executables (default: kola's own directory)", DefaultValueFactory = _ => AppContext.BaseDirectory };

        var json = new Option<bool>("--json") { Description = "print the tests as JSON" };
        var list = new Command("list", "list the registered tests") { json };
        list.SetAction(result => List(result.GetValue(json)));

        var glob = new Argument<string>("glob") { Description = "which tests to run (shell glob on test names)", DefaultValueFactory = _ => "*", Arity = ArgumentArity.ZeroOrOne };
        var parallel = new Option<int>("--parallel", "-j") { Description = "how many tests run at once", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output-dir", "-o") { Description = "where runs write their logs and reports", DefaultValueFactory = _ => "_kola_temp" };
        var run = new Command("run", "run registered tests, each on a fresh cluster") { glob, platform, parallel, output, stateRoot, bin };
        run.SetAction((result, ct) => RunAsync(result.GetValue(glob)!, result.GetValue(platform)!, result.GetValue(parallel), result.GetValue(output)!, Options(result.GetValue(bin)!, result.GetValue(stateRoot)!, null, keep: false), ct));

        var count = new Option<int>("--count", "-c") { Description = "how many machines", DefaultValueFactory = _ => 1 };
        var userData = new Option<string?>("--userdata", "-u") { Description = "a cloud-config file for every machine ($discovery, $private_ipv4 are filled in)" };
        var keep = new Option<bool>("--keep") { Description = "leave the machines running when kola exits (remove them with `kola down NAME`)" };
        var name = new Option<string?>("--name") { Description = "the flight's name (namespaces kola-NAME-*); default: random" };
        var spawn = new Command("spawn", "boot machines and leave them to you") { count, userData, keep, name, platform, stateRoot, bin };
        spawn.SetAction((result, ct) => SpawnAsync(result.GetValue(count), result.GetValue(userData), Options(result.GetValue(bin)!, result.GetValue(stateRoot)!, result.GetValue(name), result.GetValue(keep)), ct));

        var upName = new Option<string>("--name") { Description = "the flight's name (namespaces kola-NAME-*); an existing flight of that name is replaced", DefaultValueFactory = _ => UpFlight };
        var up = new Command("up", "boot a 3-machine netns cluster (etcd, flannel, a pod on each machine via rkt), verify pods reach each other across machines, print the endpoints") { upName, stateRoot, bin };
        up.SetAction((result, ct) => UpAsync(Options(result.GetValue(bin)!, result.GetValue(stateRoot)!, result.GetValue(upName), keep: true), ct));

        var flight = new Argument<string>("flight") { Description = "the flight to remove", DefaultValueFactory = _ => UpFlight, Arity = ArgumentArity.ZeroOrOne };
        var down = new Command("down", "remove every namespace, link, mount, process and file of a kept flight") { flight, stateRoot };
        down.SetAction(result => Down(result.GetValue(flight)!, result.GetValue(stateRoot)!));

        return new RootCommand("kola: boots clusters of Platform machines and runs tests on them") { list, run, spawn, up, down };
    }

    private const string UpFlight = "up";

    private static NetnsOptions Options(string bin, string stateRoot, string? flightName, bool keep) => new()
    {
        BinDirectory = Path.GetFullPath(bin),
        StateRoot = stateRoot,
        FlightName = flightName,
        Keep = keep,
        Progress = Console.Out,
    };

    private static int List(bool json)
    {
        IReadOnlyList<KolaTest> tests = RegisteredTests.Create().Tests;
        if (json)
        {
            using var stream = Console.OpenStandardOutput();
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartArray();
            foreach (KolaTest test in tests)
            {
                writer.WriteStartObject();
                writer.WriteString("Name", test.Name);
                writer.WriteNumber("ClusterSize", test.ClusterSize);
                writer.WriteStartArray("Platforms");
                foreach (string p in test.Platforms.Count == 0 ? [NetnsPlatform.Name] : test.Platforms)
                {
                    writer.WriteStringValue(p);
                }

                writer.WriteEndArray();
                writer.WriteString("Timeout", test.Timeout.ToString());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.Flush();
            Console.WriteLine();
            return 0;
        }

        Console.WriteLine($"{"Test Name",-24}{"Machines",-10}Platforms");
        foreach (KolaTest test in tests)
        {
            Console.WriteLine($"{test.Name,-24}{test.ClusterSize,-10}{(test.Platforms.Count == 0 ? "all" : string.Join(',', test.Platforms))}");
        }

        return 0;
    }

    private static async Task<int> RunAsync(string glob, string platform, int parallel, string output, NetnsOptions options, CancellationToken ct)
    {
        if (platform != NetnsPlatform.Name)
        {
            Console.Error.WriteLine($"kola: unknown platform \"{platform}\" (known: {NetnsPlatform.Name})");
            return 2;
        }

        IReadOnlyList<KolaTest> tests = RegisteredTests.Create().Select(glob, platform);
        if (tests.Count == 0)
        {
            Console.Error.WriteLine($"kola: no test matches \"{glob}\" on {platform}");
            return 1;
        }

        RunResult result = await KolaHarness.RunAsync(tests, NetnsPlatform.CreateFactory(options with { Progress = null }),
            new HarnessOptions { OutputRoot = output, Parallel = Math.Max(1, parallel), Progress = Console.Out }, ct).ConfigureAwait(false);
        return result.Passed ? 0 : 1;
    }

    private static async Task<int> SpawnAsync(int count, string? userDataFile, NetnsOptions options, CancellationToken ct)
    {
        string? template = userDataFile is null ? null : await File.ReadAllTextAsync(userDataFile, ct).ConfigureAwait(false);
        IFlightFactory factory = NetnsPlatform.CreateFactory(options);
        if (factory.Unavailable() is { } why)
        {
            Console.Error.WriteLine($"kola: platform {factory.Platform} unavailable: {why}");
            return 1;
        }

        IFlight flight = await factory.CreateAsync(ct).ConfigureAwait(false);
        await using (flight.ConfigureAwait(false))
        {
            (ICluster cluster, _) = await BootAsync(flight, count, template, Path.Join("_kola_temp", "spawn-" + DateTime.Now.ToString("yyyy-MM-dd-HHmmss", System.Globalization.CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            PrintMachines(cluster);
            if (!options.Keep)
            {
                Console.WriteLine("kola: machines run until you press Ctrl-C");
                try
                {
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("kola: destroying the machines");
                }
            }
        }

        return 0;
    }

    private static async Task<int> UpAsync(NetnsOptions options, CancellationToken ct)
    {
        IFlightFactory factory = NetnsPlatform.CreateFactory(options with { Progress = null });
        if (factory.Unavailable() is { } why)
        {
            Console.Error.WriteLine($"kola up: platform {factory.Platform} unavailable: {why}");
            return 1;
        }

        var total = Stopwatch.StartNew();
        var phases = new List<(string, TimeSpan)>();
        var clock = Stopwatch.StartNew();
        Console.WriteLine("kola up: creating the flight (switch namespace, discovery etcd, image server)");
        IFlight flight = await factory.CreateAsync(ct).ConfigureAwait(false);
        phases.Add(("flight", clock.Elapsed));
        await using (flight.ConfigureAwait(false))
        {
            clock.Restart();
            Console.WriteLine("kola up: booting 3 machines (cloud-config: etcd2 via discovery, flanneld vxlan, a busybox pod via rkt)");
            (ICluster cluster, _) = await BootAsync(flight, 3, CloudConfigs.Flannel("vxlan"), Path.Join("_kola_temp", "netns-up"), ct).ConfigureAwait(false);
            phases.Add(("machines booted (cloud-config applied, units started)", clock.Elapsed));
            clock.Restart();
            var checks = new ClusterChecks(line => Console.WriteLine("  " + line));
            await checks.EtcdHealthyAsync(cluster.Machines, 3, ct).ConfigureAwait(false);
            phases.Add(("etcd cluster healthy", clock.Elapsed));
            clock.Restart();
            IReadOnlyList<(IMachine Machine, string Uuid, string Ip)> pods = await checks.RunningPodsAsync(cluster.Machines, "flannel", ct).ConfigureAwait(false);
            phases.Add(("pods running on flannel", clock.Elapsed));
            clock.Restart();
            await checks.PodsReachEachOtherAsync(pods, ct).ConfigureAwait(false);
            phases.Add(("pods reach each other across machines (ping + HTTP)", clock.Elapsed));
            TimeSpan toPing = total.Elapsed;

            Console.WriteLine();
            Console.WriteLine($"kola up: cluster ready in {toPing.TotalSeconds:F1}s (nothing → cross-machine pod ping)");
            foreach ((string phase, TimeSpan took) in phases)
            {
                Console.WriteLine($"  {took.TotalSeconds,6:F1}s  {phase}");
            }

            Console.WriteLine();
            PrintMachines(cluster);
            Console.WriteLine("pods:");
            foreach ((IMachine machine, string uuid, string ip) in pods)
            {
                Console.WriteLine($"  {machine.Id}: {uuid} {ip} (http://{ip}/ from any machine or pod)");
            }

            Console.WriteLine();
            Console.WriteLine(options.FlightName == UpFlight ? "remove everything with: ./platform down" : $"remove everything with: kola down {options.FlightName}");
        }

        return 0;
    }

    private static int Down(string flight, string stateRoot)
    {
        IReadOnlyList<string> removed = NetnsPlatform.Destroy(flight, stateRoot);
        foreach (string line in removed)
        {
            Console.WriteLine($"kola down: {line}");
        }

        Console.WriteLine(removed.Count == 0 ? $"kola down: nothing of flight {flight} left" : $"kola down: flight {flight} removed");
        return 0;
    }

    private static async Task<(ICluster Cluster, Uri? Discovery)> BootAsync(IFlight flight, int count, string? template, string output, CancellationToken ct)
    {
        ICluster cluster = await flight.NewClusterAsync(new ClusterOptions("spawn", Path.GetFullPath(output)), ct).ConfigureAwait(false);
        Uri? discovery = template is not null && template.Contains("$discovery", StringComparison.Ordinal) ? await cluster.GetDiscoveryUrlAsync(count, ct).ConfigureAwait(false) : null;
        string? userData = discovery is null ? template : template!.Replace("$discovery", discovery.ToString(), StringComparison.Ordinal);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ => await cluster.NewMachineAsync(userData, ct).ConfigureAwait(false))).ConfigureAwait(false);
        return (cluster, discovery);
    }

    private static void PrintMachines(ICluster cluster)
    {
        Console.WriteLine("machines:");
        foreach (IMachine machine in cluster.Machines)
        {
            Console.WriteLine($"  {machine.Id}  {machine.PrivateIP}  etcd http://{machine.PrivateIP}:2379  {NetnsPlatform.Describe(machine)}");
        }

        IMachine first = cluster.Machines[0];
        Console.WriteLine("try:");
        Console.WriteLine($"  {NetnsPlatform.NetworkCommand(first)} etcdctl --endpoints=http://{first.PrivateIP}:2379 member list");
        Console.WriteLine($"  {NetnsPlatform.ShellCommand(first)} rkt list");
        Console.WriteLine($"  {NetnsPlatform.ShellCommand(first)} systemctl status etcd2 flanneld");
    }
}
