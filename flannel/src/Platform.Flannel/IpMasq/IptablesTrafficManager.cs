using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.IpMasq;

/// <summary>
/// flannel's <c>IPTablesManager</c>: bootstrap = for each rule, make sure its flannel chain exists,
/// delete the rule if present, then append every rule in order in one <c>iptables-restore --noflush</c>
/// transaction per table (so no foreign rule lands between ours); resync = <c>iptables -C</c> each rule
/// and bootstrap again only if one is missing.
/// </summary>
internal sealed partial class IptablesTrafficManager : ITrafficManager
{
    private readonly IptablesOptions _options;
    private readonly ILogger _log;
    private readonly List<IReadOnlyList<IptablesRule>> _ensured = [];
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _resync;
    private bool? _randomFully;
    private int _disposed;

    public IptablesTrafficManager(IptablesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ResyncInterval, TimeSpan.Zero);
        _options = options;
        _log = options.Logger;
    }

    public async Task SetupMasqueradeAsync(Ip4Net network, Ip4Net subnet, Ip4Net? previousNetwork, Ip4Net? previousSubnet, CancellationToken cancellationToken)
    {
        bool randomFully = !_options.RandomFullyDisabled && await SupportsRandomFullyAsync(cancellationToken);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (previousNetwork is Ip4Net oldNetwork && previousSubnet is Ip4Net oldSubnet && (oldNetwork != network || oldSubnet != subnet))
            {
                _log.LogInformation("Current network or subnet ({Network}, {Subnet}) is not equal to previous one ({PreviousNetwork}, {PreviousSubnet}), trying to recycle old iptables rules", network.ToString(), subnet.ToString(), oldNetwork.ToString(), oldSubnet.ToString());
                await TeardownAsync(FlannelRules.Masquerade(oldNetwork, oldSubnet, randomFully), cancellationToken);
            }

            _log.LogInformation("Setting up masking rules");
            IReadOnlyList<IptablesRule> rules = FlannelRules.Masquerade(network, subnet, randomFully);
            await BootstrapAsync(rules, cancellationToken);
            _ensured.Add(rules);
        }
        finally
        {
            _lock.Release();
        }

        StartResync();
    }

    public async Task SetupForwardAsync(Ip4Net network, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _log.LogInformation("Changing default FORWARD chain policy to ACCEPT");
            IReadOnlyList<IptablesRule> rules = FlannelRules.Forward(network);
            await BootstrapAsync(rules, cancellationToken);
            _ensured.Add(rules);
        }
        finally
        {
            _lock.Release();
        }

        StartResync();
    }

    public async Task<bool> EnsureAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            bool rebuilt = false;
            foreach (IReadOnlyList<IptablesRule> rules in _ensured)
            {
                if (!await AllExistAsync(rules, cancellationToken))
                {
                    _log.LogInformation("Some iptables rules are missing; deleting and recreating rules");
                    await BootstrapAsync(rules, cancellationToken);
                    rebuilt = true;
                }
            }

            return rebuilt;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        await StopResyncAsync();
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _log.LogInformation("Cleaning-up iptables rules...");
            _ensured.Clear();
            foreach ((string table, string chain, string parent) in new[] { ("nat", FlannelRules.MasqChain, "POSTROUTING"), ("filter", FlannelRules.ForwardChain, "FORWARD") })
            {
                if (!await ChainExistsAsync(table, chain, cancellationToken))
                {
                    continue;
                }

                // Every jump to the chain goes first: a referenced chain cannot be deleted.
                foreach (string rule in await ListRulesAsync(table, parent, cancellationToken))
                {
                    if (rule.EndsWith($"-j {chain}", StringComparison.Ordinal))
                    {
                        await RunAsync([_options.IptablesPath, "--wait", "-t", table, .. SplitRule(rule.Replace("-A ", "-D ", StringComparison.Ordinal))], cancellationToken);
                    }
                }

                await RunAsync([_options.IptablesPath, "--wait", "-t", table, "-F", chain], cancellationToken);
                await RunAsync([_options.IptablesPath, "--wait", "-t", table, "-X", chain], cancellationToken);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await CleanUpAsync(CancellationToken.None);
        }
        catch (IptablesException e)
        {
            _log.LogWarning("could not clean up iptables rules: {Error}", e.Message);
        }

        _stop.Dispose();
        _lock.Dispose();
    }

    private void StartResync()
    {
        lock (_stop)
        {
            _resync ??= Task.Run(() => ResyncLoopAsync(_stop.Token));
        }
    }

    private async Task StopResyncAsync()
    {
        Task? resync;
        lock (_stop)
        {
            resync = _resync;
            _resync = null;
        }

        if (resync is null)
        {
            return;
        }

        await _stop.CancelAsync();
        await resync.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task ResyncLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ResyncInterval, _options.TimeProvider, stop);
                await EnsureAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (IptablesException e)
            {
                _log.LogError("Failed to ensure iptables rules: {Error}", e.Message);
            }
        }
    }

    private async Task BootstrapAsync(IReadOnlyList<IptablesRule> rules, CancellationToken cancellationToken)
    {
        var payload = new Dictionary<string, List<string>>();
        foreach (IptablesRule rule in rules)
        {
            if (FlannelRules.FlannelChainOf(rule) is string chain && !await ChainExistsAsync(rule.Table, chain, cancellationToken))
            {
                await RunAsync([_options.IptablesPath, "--wait", "-t", rule.Table, "-N", chain], cancellationToken);
            }

            List<string> lines = payload.TryGetValue(rule.Table, out List<string>? existing) ? existing : payload[rule.Table] = [];
            if (await ExistsAsync(rule, cancellationToken))
            {
                // Delete and re-append: the whole set ends up contiguous and in order.
                lines.Add(rule.ToRestoreLine("-D"));
            }

            lines.Add(rule.ToRestoreLine());
        }

        await RestoreAsync(payload, cancellationToken);
    }

    private async Task TeardownAsync(IReadOnlyList<IptablesRule> rules, CancellationToken cancellationToken)
    {
        var payload = new Dictionary<string, List<string>>();
        foreach (IptablesRule rule in rules)
        {
            if (FlannelRules.FlannelChainOf(rule) is string chain && !await ChainExistsAsync(rule.Table, chain, cancellationToken))
            {
                continue;
            }

            if (await ExistsAsync(rule, cancellationToken))
            {
                (payload.TryGetValue(rule.Table, out List<string>? lines) ? lines : payload[rule.Table] = []).Add(rule.ToRestoreLine("-D"));
            }
        }

        await RestoreAsync(payload, cancellationToken);
    }

    private async Task<bool> AllExistAsync(IReadOnlyList<IptablesRule> rules, CancellationToken cancellationToken)
    {
        foreach (IptablesRule rule in rules)
        {
            if (FlannelRules.FlannelChainOf(rule) is string chain && !await ChainExistsAsync(rule.Table, chain, cancellationToken))
            {
                return false;
            }

            if (!await ExistsAsync(rule, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private async Task RestoreAsync(Dictionary<string, List<string>> payload, CancellationToken cancellationToken)
    {
        if (payload.Count == 0)
        {
            return;
        }

        var text = new StringBuilder();
        foreach ((string table, List<string> lines) in payload)
        {
            text.Append('*').Append(table).Append('\n');
            foreach (string line in lines)
            {
                text.Append(line).Append('\n');
            }

            text.Append("COMMIT\n");
        }

        await RunAsync([_options.IptablesRestorePath, "--noflush", "--wait"], cancellationToken, text.ToString());
    }

    private async Task<bool> ExistsAsync(IptablesRule rule, CancellationToken cancellationToken)
    {
        // iptables -C: exit 0 = present, 1 = absent (or the chain is missing).
        (int code, _, string stderr) = await ExecAsync([_options.IptablesPath, "--wait", "-t", rule.Table, "-C", rule.Chain, .. rule.Spec], cancellationToken);
        return code switch
        {
            0 => true,
            1 => false,
            _ => throw new IptablesException($"failed to check rule existence: {stderr.Trim()}"),
        };
    }

    private async Task<bool> ChainExistsAsync(string table, string chain, CancellationToken cancellationToken)
    {
        (int code, _, string stderr) = await ExecAsync([_options.IptablesPath, "--wait", "-t", table, "-S", chain], cancellationToken);
        return code switch
        {
            0 => true,
            1 => false,
            _ => throw new IptablesException($"failed to list chain {chain} of table {table}: {stderr.Trim()}"),
        };
    }

    private async Task<IReadOnlyList<string>> ListRulesAsync(string table, string chain, CancellationToken cancellationToken) =>
        (await RunAsync([_options.IptablesPath, "--wait", "-t", table, "-S", chain], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("-A ", StringComparison.Ordinal))
            .ToList();

    /// <summary>go-iptables' <c>HasRandomFully</c>: iptables ≥ 1.6.2.</summary>
    private async Task<bool> SupportsRandomFullyAsync(CancellationToken cancellationToken)
    {
        if (_randomFully is bool known)
        {
            return known;
        }

        string output = await RunAsync([_options.IptablesPath, "--version"], cancellationToken);
        Match match = VersionPattern().Match(output);
        bool supported = match.Success && new Version(
            int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture)) >= new Version(1, 6, 2);
        _randomFully = supported;
        return supported;
    }

    /// <summary>Splits an <c>iptables -S</c> line into arguments, honouring double quotes.</summary>
    internal static List<string> SplitRule(string line)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        bool any = false;
        foreach (char c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (c == ' ' && !quoted)
            {
                if (any)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }

        if (any)
        {
            args.Add(current.ToString());
        }

        return args;
    }

    private async Task<string> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken, string? stdin = null)
    {
        (int code, string stdout, string stderr) = await ExecAsync(argv, cancellationToken, stdin);
        if (code != 0)
        {
            throw new IptablesException($"running [{string.Join(' ', argv)}]: exit status {code}: {stderr.Trim()}");
        }

        return stdout;
    }

    private async Task<(int Code, string Stdout, string Stderr)> ExecAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken, string? stdin = null)
    {
        string[] full = [.. _options.CommandPrefix, .. argv];
        var start = new ProcessStartInfo(full[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in full.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IptablesException($"failed to start {full[0]}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IptablesException($"failed to run {full[0]}: {e.Message}");
        }

        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(cancellationToken);
            return (process.ExitCode, await output, await error);
        }
    }

    [GeneratedRegex(@"v(\d+)\.(\d+)\.(\d+)")]
    private static partial Regex VersionPattern();
}
