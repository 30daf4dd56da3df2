using System.Globalization;
using Platform.Etcd.Robustness.Harness;

// Long robustness runs: every seed of --seeds against --binary, one after another; each run prints
// one summary line, failing runs their details. Exit code 1 when any run failed, 2 on bad usage.
//   dotnet run --project etcd/tests/Platform.Etcd.Robustness.Soak -- --seeds 1-50 --binary out/bin/etcd
//   options: --fault <FaultKind> (default: from the seed), --fault-set default|failpoints|all (the
//            kinds a seed picks from, FaultKinds.Default by default; failpoint kinds need our etcd
//            built with -c Failpoints, which this project builds: --failpoints-binary runs it), --ops <answers before and after the fault>,
//            --clients <n>, --fault-seconds <s>, --verbose (progress lines),
//            --dump <dir> (a failing run's history, one operation per line), --no-leases (a workload
//            without lease requests, to look past a lease bug), --snapshot-count N (members' flag),
//            --member-arg ARG (repeatable: one more argument for every member's command line),
//            --ignore-lease-header-revisions (the checker looks past bug 1, lease header revisions)
string binary = "/usr/bin/etcd";
List<int> seeds = [1];
FaultKind? fault = null;
IReadOnlyList<FaultKind> faultSet = FaultKinds.Default;
int ops = 300;
int clients = 6;
double faultSeconds = 2;
bool verbose = false;
string? dump = null;
bool leases = true;
bool lenientLeaseHeaders = false;
int snapshotCount = 300;
List<string> extra = [];
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--binary":
                binary = Path.GetFullPath(Value());
                break;
            case "--seeds":
                seeds = ParseSeeds(Value());
                break;
            case "--fault":
                string name = Value();
                fault = Enum.TryParse(name, ignoreCase: true, out FaultKind parsed) ? parsed
                    : throw new ArgumentException($"unknown fault {name}; one of {string.Join(", ", Enum.GetNames<FaultKind>())}");
                break;
            case "--fault-set":
                faultSet = Value() switch
                {
                    "default" => FaultKinds.Default,
                    "failpoints" => FaultKinds.Failpoint,
                    "all" => [.. FaultKinds.Default, .. FaultKinds.Failpoint],
                    string other => throw new ArgumentException($"unknown fault set {other}; one of default, failpoints, all"),
                };
                break;
            case "--failpoints-binary":
                // Built with this project (etcd/src/etcd/bin/Failpoints/net10.0/etcd).
                binary = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/etcd/bin/Failpoints/net10.0/etcd"));
                break;
            case "--ops":
                ops = int.Parse(Value(), CultureInfo.InvariantCulture);
                break;
            case "--clients":
                clients = int.Parse(Value(), CultureInfo.InvariantCulture);
                break;
            case "--fault-seconds":
                faultSeconds = double.Parse(Value(), CultureInfo.InvariantCulture);
                break;
            case "--dump":
                dump = Path.GetFullPath(Value());
                break;
            case "--snapshot-count":
                snapshotCount = int.Parse(Value(), CultureInfo.InvariantCulture);
                break;
            case "--member-arg":
                extra.Add(Value());
                break;
            case "--ignore-lease-header-revisions":
                lenientLeaseHeaders = true;
                break;
            case "--no-leases":
                leases = false;
                break;
            case "--verbose":
                verbose = true;
                break;
            default:
                throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"soak: {e.Message}");
    Console.Error.WriteLine("usage: soak [--binary PATH | --failpoints-binary] [--seeds 1-50|1,4,9] [--fault KIND] [--fault-set default|failpoints|all] [--ops N] [--clients N] [--fault-seconds S] [--verbose] [--dump DIR] [--no-leases] [--snapshot-count N] [--member-arg ARG]... [--ignore-lease-header-revisions]");
    return 2;
}

if ((fault is { } one ? [one] : faultSet).Any(f => f.IsFailpoint()) && !File.Exists(binary))
{
    Console.Error.WriteLine($"soak: {binary} is missing; failpoint faults need our etcd built with: dotnet build etcd/src/etcd -c Failpoints");
    return 2;
}

int failed = 0;
foreach (int seed in seeds)
{
    RobustnessReport report = await RobustnessRun.RunAsync(new RobustnessOptions
    {
        Executable = binary,
        Seed = seed,
        Fault = fault ?? faultSet[seed % faultSet.Count],
        OperationsBeforeFault = ops,
        OperationsAfterFault = ops,
        Clients = clients,
        Leases = leases,
        IgnoreLeaseHeaderRevisions = lenientLeaseHeaders,
        SnapshotCount = snapshotCount,
        ExtraArguments = extra,
        FaultDuration = TimeSpan.FromSeconds(faultSeconds),
        Log = verbose ? Console.WriteLine : null,
    });
    Console.WriteLine(report.Summary);
    if (!report.Passed)
    {
        failed++;
        Console.WriteLine(report.Details());
        if (dump is not null)
        {
            Directory.CreateDirectory(dump);
            string file = Path.Combine(dump, $"seed-{seed}.history.txt");
            await File.WriteAllTextAsync(file, report.DumpHistory());
            Console.WriteLine($"history written to {file}");
        }
    }
}

Console.WriteLine($"{seeds.Count - failed} of {seeds.Count} runs passed");
return failed == 0 ? 0 : 1;

static List<int> ParseSeeds(string text)
{
    var seeds = new List<int>();
    foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        int dash = part.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            int from = int.Parse(part[..dash], CultureInfo.InvariantCulture);
            int to = int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture);
            seeds.AddRange(Enumerable.Range(from, to - from + 1));
        }
        else
        {
            seeds.Add(int.Parse(part, CultureInfo.InvariantCulture));
        }
    }

    return seeds.Count > 0 ? seeds : throw new ArgumentException("--seeds names no seed");
}
