using System.Collections.Concurrent;
using System.Net;
using Platform.Kola.Platforms;

namespace Platform.Kola.Tests;

/// <summary>An in-memory platform for the harness's own tests: machines record what they were given and return scripted logs.</summary>
internal sealed class FakeFlightFactory(string? unavailable = null) : IFlightFactory
{
    public string Platform => "fake";

    public ConcurrentBag<FakeCluster> Clusters { get; } = [];

    /// <summary>What every new machine's journal will contain.</summary>
    public string Journal { get; set; } = "started etcd\n";

    public string? Unavailable() => unavailable;

    public ValueTask<IFlight> CreateAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IFlight>(new FakeFlight(this));

    private sealed class FakeFlight(FakeFlightFactory factory) : IFlight
    {
        public string Platform => factory.Platform;

        public ValueTask<ICluster> NewClusterAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            var cluster = new FakeCluster(options, factory.Journal);
            factory.Clusters.Add(cluster);
            return ValueTask.FromResult<ICluster>(cluster);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

internal sealed class FakeCluster(ClusterOptions options, string journal) : ICluster
{
    private readonly List<IMachine> _machines = [];

    public ClusterOptions Options { get; } = options;

    public bool Disposed { get; private set; }

    public List<int> DiscoverySizes { get; } = [];

    public IReadOnlyList<IMachine> Machines
    {
        get
        {
            lock (_machines)
            {
                return [.. _machines];
            }
        }
    }

    public ValueTask<Uri> GetDiscoveryUrlAsync(int size, CancellationToken cancellationToken)
    {
        DiscoverySizes.Add(size);
        return ValueTask.FromResult(new Uri($"http://10.0.0.1:2379/v2/keys/_etcd/registry/{Options.Name}"));
    }

    public ValueTask<IMachine> NewMachineAsync(string? userData, CancellationToken cancellationToken)
    {
        lock (_machines)
        {
            var machine = new FakeMachine($"m{_machines.Count}", IPAddress.Parse($"10.0.0.{_machines.Count + 10}"), userData, journal);
            _machines.Add(machine);
            return ValueTask.FromResult<IMachine>(machine);
        }
    }

    public ValueTask PartitionAsync(IReadOnlyList<IMachine> left, IReadOnlyList<IMachine> right, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask HealAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

internal sealed class FakeMachine(string id, IPAddress ip, string? userData, string journal) : IMachine
{
    public string Id => id;

    public IPAddress PrivateIP => ip;

    public IPAddress PublicIP => ip;

    public string? UserData => userData;

    public ValueTask<CommandResult> RunAsync(string command, CancellationToken cancellationToken) =>
        ValueTask.FromResult(command == "false" ? new CommandResult(1, "", "no\n") : new CommandResult(0, $"ran {command}\n", ""));

    public string ConsoleOutput() => $"booted {id}\n";

    public string JournalOutput() => journal;

    public ValueTask KillAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask RestartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
