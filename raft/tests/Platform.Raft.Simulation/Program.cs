using System.Diagnostics;
using System.Globalization;
using Platform.Raft.Simulation;

// Soak runner: `--seeds N [--start S]` runs N varied seeds; `--seed S [--trace]` replays one.
ulong start = 1;
ulong count = 100;
int steps = 2000;
bool trace = false;
bool unsafeDisk = false;
ulong? single = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seeds":
            count = ulong.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--start":
            start = ulong.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--seed":
            single = ulong.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--steps":
            steps = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--trace":
            trace = true;
            break;
        case "--unsafe-disk":
            unsafeDisk = true;
            break;
        default:
            Console.Error.WriteLine("usage: Platform.Raft.Simulation [--seeds N] [--start S] [--seed S] [--steps K] [--trace] [--unsafe-disk]");
            return 2;
    }
}

if (single is not null)
{
    start = single.Value;
    count = 1;
}

var stopwatch = Stopwatch.StartNew();
int failures = 0;
for (ulong seed = start; seed < start + count; seed++)
{
    SimulationOptions options = SimulationOptions.ForSeed(seed, steps) with { Trace = trace ? Console.Out : null, UnsafeLoseAcknowledgedWrites = unsafeDisk };
    try
    {
        SimulationResult r = new Simulator(options).Run();
        if (count == 1 || seed % 100 == 0)
        {
            Console.WriteLine(
                $"seed {r.Seed}: ok ({options.InitialVoters} voters, prevote={options.PreVote}, checkquorum={options.CheckQuorum}, async={options.AsyncStorageWrites}): " +
                $"committed {r.CommittedIndex}, {r.Leaders} leaders, {r.Crashes} crashes, {r.Snapshots} snapshots, {r.ConfChangesApplied} conf changes applied, {r.ReadsServed} reads, {r.MessagesDelivered} messages");
        }
    }
    catch (SimulationFailureException ex)
    {
        failures++;
        Console.WriteLine(ex.Message);
    }
}

Console.WriteLine($"{count} seeds from {start}, {failures} failed, {stopwatch.Elapsed.TotalSeconds:F1} s");
return failures == 0 ? 0 : 1;
