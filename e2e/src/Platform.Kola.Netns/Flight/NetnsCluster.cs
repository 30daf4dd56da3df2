using Platform.Kola.Netns.Machines;
using Platform.Kola.Platforms;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// A group of machines of one flight. Partitions are iptables rules in a chain of its own
/// (<c>KOLA-PARTITION</c>) inside each machine's network namespace, so they cut exactly the
/// machine-to-machine traffic (overlay encapsulation included) and heal by flushing the chain.
/// </summary>
internal sealed class NetnsCluster : ICluster
{
    private const string PartitionChain = "KOLA-PARTITION";
    private readonly NetnsFlight _flight;
    private readonly ClusterOptions _options;
    private readonly List<NetnsMachine> _machines = [];
    private readonly HashSet<NetnsMachine> _partitioned = [];

    public NetnsCluster(NetnsFlight flight, ClusterOptions options)
    {
        _flight = flight;
        _options = options;
    }

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

    public ValueTask<Uri> GetDiscoveryUrlAsync(int size, CancellationToken cancellationToken) => _flight.NewDiscoveryUrlAsync(size, cancellationToken);

    public async ValueTask<IMachine> NewMachineAsync(string? userData, CancellationToken cancellationToken)
    {
        var machine = new NetnsMachine(_flight, _flight.NextMachineNumber(), userData);
        lock (_machines)
        {
            _machines.Add(machine);
        }

        string output = Path.Join(_options.OutputDirectory, machine.Id);
        Directory.CreateDirectory(output);
        if (machine.UserData is not null)
        {
            await File.WriteAllTextAsync(Path.Join(output, "user-data"), machine.UserData, cancellationToken).ConfigureAwait(false);
        }

        await machine.BootAsync(cancellationToken).ConfigureAwait(false);
        return machine;
    }

    public async ValueTask PartitionAsync(IReadOnlyList<IMachine> left, IReadOnlyList<IMachine> right, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        foreach ((IMachine from, IReadOnlyList<IMachine> others) in left.Select(m => (m, right)).Concat(right.Select(m => (m, left))))
        {
            var machine = (NetnsMachine)from;
            await EnsureChainAsync(machine, cancellationToken).ConfigureAwait(false);
            foreach (IMachine other in others)
            {
                foreach (string direction in (string[])["-s", "-d"])
                {
                    await IptablesAsync(machine, ["-A", PartitionChain, direction, other.PrivateIP + "/32", "-j", "DROP"], cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    public async ValueTask HealAsync(CancellationToken cancellationToken)
    {
        NetnsMachine[] partitioned;
        lock (_partitioned)
        {
            partitioned = [.. _partitioned];
        }

        foreach (NetnsMachine machine in partitioned)
        {
            // A machine rebooted since has a fresh network namespace: nothing left to heal there.
            CommandResult result = await HostCommands.RunAsync("nsenter", [$"--net={machine.NamespacePath}", "--", "iptables", "-w", "-F", PartitionChain], null, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded && !result.StandardError.Contains("No chain", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{machine.Id}: iptables -F {PartitionChain}: {result.StandardError.Trim()}");
            }
        }

        lock (_partitioned)
        {
            _partitioned.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        NetnsMachine[] machines;
        lock (_machines)
        {
            machines = [.. _machines];
        }

        await Task.WhenAll(machines.Select(m => m.DestroyAsync(CancellationToken.None))).ConfigureAwait(false);
    }

    private async Task EnsureChainAsync(NetnsMachine machine, CancellationToken cancellationToken)
    {
        lock (_partitioned)
        {
            _partitioned.Add(machine);
        }

        // The chain lives in the machine's network namespace, which a reboot recreates empty.
        CommandResult exists = await HostCommands.RunAsync("nsenter", [$"--net={machine.NamespacePath}", "--", "iptables", "-w", "-S", PartitionChain], null, cancellationToken).ConfigureAwait(false);
        if (exists.Succeeded)
        {
            return;
        }

        await IptablesAsync(machine, ["-N", PartitionChain], cancellationToken).ConfigureAwait(false);
        foreach (string chain in (string[])["INPUT", "OUTPUT", "FORWARD"])
        {
            await IptablesAsync(machine, ["-I", chain, "1", "-j", PartitionChain], cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task IptablesAsync(NetnsMachine machine, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        CommandResult result = await HostCommands.RunAsync("nsenter", [$"--net={machine.NamespacePath}", "--", "iptables", "-w", .. arguments], null, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"{machine.Id}: iptables {string.Join(' ', arguments)}: {result.StandardError.Trim()}");
        }
    }
}
