using System.Diagnostics;
using System.Text.Json;
using Platform.Kola.Platforms;
using Platform.Kola.Registry;

namespace Platform.Kola.Cli.Tests;

/// <summary>
/// Checks shared by the registered tests and <c>kola up</c>: every wait polls a command on a machine
/// until it succeeds or a generous deadline passes, then fails with the last output.
/// </summary>
internal sealed class ClusterChecks
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(250);
    private readonly Action<string> _log;

    public ClusterChecks(Action<string> log)
    {
        _log = log;
    }

    /// <summary>Runs <paramref name="command"/> until it exits 0 and <paramref name="accept"/> likes its stdout; returns that stdout.</summary>
    public async Task<string> WaitForAsync(IMachine machine, string command, Func<string, bool> accept, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        _log($"{machine.Id}: waiting for {what}: {command}");
        var clock = Stopwatch.StartNew();
        CommandResult? last = null;
        while (clock.Elapsed < timeout)
        {
            last = await machine.RunAsync(command, cancellationToken).ConfigureAwait(false);
            if (last.Succeeded && accept(last.StandardOutput))
            {
                _log($"{machine.Id}: {what} after {clock.Elapsed.TotalSeconds:F1}s");
                return last.StandardOutput.Trim();
            }

            await Task.Delay(s_poll, cancellationToken).ConfigureAwait(false);
        }

        throw new KolaTestFailedException(
            $"{machine.Id}: no {what} within {timeout.TotalSeconds:F0}s; last `{command}` exited {last?.ExitCode}: {last?.StandardError.Trim()} {last?.StandardOutput.Trim()}".TrimEnd());
    }

    /// <summary>Runs a command that must succeed; returns its trimmed stdout.</summary>
    public async Task<string> MustRunAsync(IMachine machine, string command, CancellationToken cancellationToken)
    {
        _log($"{machine.Id}$ {command}");
        CommandResult result = await machine.RunAsync(command, cancellationToken).ConfigureAwait(false);
        return result.Succeeded
            ? result.StandardOutput.Trim()
            : throw new KolaTestFailedException($"{machine.Id}: `{command}` exited with {result.ExitCode}: {result.StandardError.Trim()} {result.StandardOutput.Trim()}".TrimEnd());
    }

    /// <summary>Every machine sees a healthy etcd cluster of <paramref name="members"/> started members.</summary>
    public async Task EtcdHealthyAsync(IReadOnlyList<IMachine> machines, int members, CancellationToken cancellationToken)
    {
        foreach (IMachine machine in machines)
        {
            await WaitForAsync(machine, "etcdctl --dial-timeout=2s --command-timeout=3s member list",
                output => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(", started, ", StringComparison.Ordinal)) == members,
                TimeSpan.FromSeconds(90), $"{members} started etcd members", cancellationToken).ConfigureAwait(false);
            await WaitForAsync(machine, "etcdctl --dial-timeout=2s --command-timeout=3s endpoint health", _ => true, TimeSpan.FromSeconds(60), "a healthy local etcd", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the running pod on each machine and its IP on <paramref name="network"/>.</summary>
    public async Task<IReadOnlyList<(IMachine Machine, string Uuid, string Ip)>> RunningPodsAsync(IReadOnlyList<IMachine> machines, string network, CancellationToken cancellationToken)
    {
        var pods = new List<(IMachine, string, string)>();
        foreach (IMachine machine in machines)
        {
            string json = await WaitForAsync(machine, "rkt list --format=json",
                output => FindPod(output, network) is not null, TimeSpan.FromSeconds(120), $"a running pod on the {network} network", cancellationToken).ConfigureAwait(false);
            (string uuid, string ip) = FindPod(json, network)!.Value;
            _log($"{machine.Id}: pod {uuid} has {network} address {ip}");
            pods.Add((machine, uuid, ip));
        }

        return pods;
    }

    /// <summary>Every pod reaches every other pod (on another machine) by ICMP and by HTTP over TCP.</summary>
    public async Task PodsReachEachOtherAsync(IReadOnlyList<(IMachine Machine, string Uuid, string Ip)> pods, CancellationToken cancellationToken)
    {
        foreach ((IMachine machine, string uuid, _) in pods)
        {
            foreach ((IMachine other, _, string ip) in pods.Where(p => p.Machine != machine))
            {
                await WaitForAsync(machine, $"rkt enter {uuid} /bin/ping -c 1 -W 2 {ip}", _ => true, TimeSpan.FromSeconds(30), $"ping from its pod to {other.Id}'s pod {ip}", cancellationToken).ConfigureAwait(false);
                // busybox nc, not wget: Debian's static busybox wget crashes (SIGSEGV) on every request.
                await WaitForAsync(machine, $"rkt enter {uuid} /bin/sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 5 {ip} 80'", output => output.Contains("hello from a kola pod", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30), $"HTTP from its pod to {other.Id}'s pod {ip}", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static (string Uuid, string Ip)? FindPod(string json, string network)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            foreach (JsonElement pod in document.RootElement.EnumerateArray())
            {
                if (pod.GetProperty("state").GetString() != "running" || !pod.TryGetProperty("networks", out JsonElement networks))
                {
                    continue;
                }

                foreach (JsonElement net in networks.EnumerateArray())
                {
                    if (net.GetProperty("netName").GetString() == network && net.GetProperty("ip").GetString() is { Length: > 0 } ip)
                    {
                        return (pod.GetProperty("name").GetString()!, ip);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }

        return null;
    }
}
