using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Platform.Kola.Units;

/// <summary>
/// The engine. Units are loaded on first reference (and again by daemon-reload); each has a gate so that
/// its jobs (start, stop, reacting to its main process' exit, auto-restart) run one at a time. A start
/// request pulls in the Requires=/Wants= closure and starts it in After=/Before= order, one unit after
/// the other; a stop request first stops the active units that require the unit.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class Manager : IUnitManager
{
    private readonly UnitManagerOptions _options;
    private readonly UnitLoader _loader;
    private readonly Journal _journal;
    private readonly object _lock = new();
    private readonly Dictionary<string, UnitState> _units = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly SafeFileHandle _devNull;
    private readonly CancellationTokenSource _disposing = new();
    private readonly string _notifyPrefix = $"platform-units-{Guid.NewGuid():N}";
    private int _disposed;

    public Manager(UnitManagerOptions options)
    {
        if (options.UnitDirectories.Count == 0)
        {
            throw new ArgumentException("at least one unit directory is needed", nameof(options));
        }

        _options = options;
        _loader = new UnitLoader(options);
        _journal = new Journal(options.JournalPath, () => UnitLoader.CurrentHostname(options));
        _devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        _sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, OnSigchld);
    }

    internal Journal Journal => _journal;

    public Task DaemonReloadAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _aliases.Clear();
            foreach (UnitState unit in _units.Values)
            {
                unit.Definition = LoadDefinition(unit.Name);
                unit.WarningsLogged = false;
            }
        }

        _journal.Manager(null, "Reloading.");
        return Task.CompletedTask;
    }

    public async Task StartAsync(string unit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        UnitState state = Resolve(UnitNames.Normalize(unit));
        CheckStartable(state, "start");
        string result = await StartTransactionAsync(state, CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (result != "success")
        {
            throw JobFailed(state.Name, result);
        }
    }

    public async Task StopAsync(string unit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        UnitState state = Resolve(UnitNames.Normalize(unit));
        if (state.Definition.LoadState is "not-found" && !state.IsActiveOrActivating)
        {
            throw new UnitException($"Failed to stop {state.Name}: Unit {state.Name} not loaded.") { ExitCode = 5 };
        }

        await StopTransactionAsync(state).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RestartAsync(string unit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        UnitState state = Resolve(UnitNames.Normalize(unit));
        CheckStartable(state, "restart");
        string result = await RestartTransactionAsync(state).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (result != "success")
        {
            throw JobFailed(state.Name, result);
        }
    }

    private async Task<string> RestartTransactionAsync(UnitState state)
    {
        List<UnitState> stopped = await StopTransactionAsync(state).ConfigureAwait(false);
        string result = await StartTransactionAsync(state, CancellationToken.None).ConfigureAwait(false);
        if (result == "success")
        {
            // Requires= propagates restarts: the units stopped because they require this one come back.
            foreach (UnitState dependent in stopped.Where(s => s != state).Reverse())
            {
                _ = await StartTransactionAsync(dependent, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return result;
    }

    public async Task StartDefaultTargetAsync(CancellationToken cancellationToken)
    {
        var targets = new List<UnitState> { Resolve("default.target") };
        UnitState multiUser = Resolve("multi-user.target");
        if (!targets.Contains(multiUser))
        {
            targets.Add(multiUser);
        }

        foreach (UnitState target in targets)
        {
            if (target.Definition.LoadState != "loaded")
            {
                _journal.Manager(target.Name, $"Failed to start default target {target.Name}: unit is {target.Definition.LoadState}.");
                continue;
            }

            _ = await StartTransactionAsync(target, CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public UnitStatus GetStatus(string unit)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        UnitState state = Resolve(UnitNames.Normalize(unit));
        lock (_lock)
        {
            return state.ToStatus();
        }
    }

    public IReadOnlyList<UnitStatus> ListUnits()
    {
        lock (_lock)
        {
            return [.. _units.Values.OrderBy(u => u.Name, StringComparer.Ordinal).Select(u => u.ToStatus())];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        List<UnitState> active;
        lock (_lock)
        {
            active = [.. _units.Values.Where(u => u.ActiveState != "inactive" || u.Groups.Count > 0)];
        }

        // Stop in reverse start order: a unit ordered After= another stops first.
        foreach (UnitState unit in Order(active).AsEnumerable().Reverse())
        {
            await StopOneAsync(unit).ConfigureAwait(false);
        }

        _reaperStopping = true;
        _wake.Set();
        _sigchld.Dispose();
        _journal.Dispose();
        _devNull.Dispose();
    }

    /// <summary>The state of NAME (loading it on first use; a not-found unit is looked for again on each reference).</summary>
    internal UnitState Resolve(string name)
    {
        lock (_lock)
        {
            if (!_aliases.TryGetValue(name, out string? canonical))
            {
                canonical = UnitNames.IsValid(name) ? _loader.Canonical(name) : name;
                _aliases[name] = canonical;
            }

            if (_units.TryGetValue(canonical, out UnitState? state))
            {
                if (state.Definition.LoadState == "not-found" && state.ActiveState == "inactive")
                {
                    state.Definition = LoadDefinition(canonical);
                }
            }
            else
            {
                state = new UnitState(LoadDefinition(canonical));
                _units[canonical] = state;
            }

            if (canonical != name && !state.Definition.Aliases.Contains(name))
            {
                state.Definition.Aliases = new HashSet<string>(state.Definition.Aliases, StringComparer.Ordinal) { name };
            }

            if (!state.WarningsLogged)
            {
                state.WarningsLogged = true;
                foreach (string warning in state.Definition.Warnings)
                {
                    _journal.Manager(state.Name, warning);
                }

                if (state.Definition.LoadError is { } error)
                {
                    _journal.Manager(state.Name, $"{state.Name}: {error}");
                }
            }

            return state;
        }
    }

    private UnitDefinition LoadDefinition(string name)
    {
        if (!UnitNames.IsValid(name))
        {
            var invalid = new UnitDefinition { Name = name, Kind = UnitKind.Unsupported, LoadState = "not-found" };
            return invalid;
        }

        UnitDefinition definition = _loader.Load(name);
        if (name == "multi-user.target" && _loader.FindFragment("default.target", out _) is null)
        {
            // default.target is built in as an alias of multi-user.target: what is enabled for it counts too.
            foreach (string directory in _options.UnitDirectories)
            {
                foreach ((string suffix, List<string> into) in new[] { (".wants", definition.Wants), (".requires", definition.Requires) })
                {
                    string dir = Path.Combine(directory, "default.target" + suffix);
                    if (Directory.Exists(dir))
                    {
                        into.AddRange(Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).Where(n => UnitNames.IsValid(n) && !into.Contains(n)).Order(StringComparer.Ordinal));
                    }
                }
            }
        }

        return definition;
    }

    private static void CheckStartable(UnitState state, string verb)
    {
        UnitDefinition d = state.Definition;
        switch (d.LoadState)
        {
            case "not-found":
                throw new UnitException($"Failed to {verb} {state.Name}: Unit {state.Name} not found.") { ExitCode = 5 };
            case "masked":
                throw new UnitException($"Failed to {verb} {state.Name}: Unit {state.Name} is masked.");
            case "bad-setting":
                throw new UnitException($"Failed to {verb} {state.Name}: Unit {state.Name} has a bad unit file setting ({d.LoadError}).");
            case "error":
                throw new UnitException($"Failed to {verb} {state.Name}: Unit {state.Name} failed to load properly ({d.LoadError}).");
        }

        if (d.Kind == UnitKind.Unsupported)
        {
            throw new UnitException($"Failed to {verb} {state.Name}: Unit type {UnitNames.Suffix(state.Name)} is not supported by this manager (only services and targets start).");
        }
    }

    private static UnitException JobFailed(string name, string result) => new(result switch
    {
        "exit-code" => $"Job for {name} failed because the control process exited with error code.",
        "signal" => $"Job for {name} failed because a fatal signal was delivered to the control process.",
        "core-dump" => $"Job for {name} failed because a fatal signal was delivered causing the control process to dump core.",
        "timeout" => $"Job for {name} failed because a timeout was exceeded.",
        "resources" => $"Job for {name} failed because of unavailable resources or another system error.",
        "start-limit-hit" => $"Job for {name} failed because start of the service was attempted too often.",
        "dependency" => $"A dependency job for {name} failed. See 'journalctl -xe' for details.",
        "canceled" => $"Job for {name} canceled.",
        "unsupported" => $"Failed to start {name}: Unit type {UnitNames.Suffix(name)} is not supported by this manager (only services and targets start).",
        "not-found" or "masked" or "bad-setting" => $"A dependency job for {name} failed. See 'journalctl -xe' for details.",
        _ => $"Job for {name} failed.",
    });

    /// <summary>
    /// The Requires=/Wants= closure of <paramref name="root"/>. A unit whose required unit cannot start (missing,
    /// masked, bad setting, unsupported type) is left out with a journal line, and so is whatever requires it;
    /// when that is <paramref name="root"/> itself the whole request fails as systemctl's does.
    /// </summary>
    private List<UnitState> Closure(UnitState root)
    {
        var seen = new List<UnitState> { root };
        var excluded = new Dictionary<UnitState, UnitException>();
        var queue = new Queue<UnitState>([root]);
        while (queue.Count > 0)
        {
            UnitState unit = queue.Dequeue();
            foreach ((string name, bool required) in unit.Definition.Requires.Select(n => (n, true)).Concat(unit.Definition.Wants.Select(n => (n, false))))
            {
                UnitState dependency = Resolve(name);
                if (dependency.Definition.LoadState != "loaded" || dependency.Definition.Kind == UnitKind.Unsupported)
                {
                    if (required)
                    {
                        string why = dependency.Definition.LoadState switch
                        {
                            "not-found" => $"Unit {dependency.Name} not found.",
                            "masked" => $"Unit {dependency.Name} is masked.",
                            "loaded" => $"Unit type {UnitNames.Suffix(dependency.Name)} is not supported by this manager.",
                            _ => $"Unit {dependency.Name} failed to load properly ({dependency.Definition.LoadError}).",
                        };
                        excluded.TryAdd(unit, new UnitException($"Failed to start {unit.Name}: {why}") { ExitCode = dependency.Definition.LoadState == "not-found" ? 5 : 1 });
                    }
                    else if (dependency.Definition.Kind != UnitKind.Unsupported || dependency.Definition.LoadState != "loaded")
                    {
                        _journal.Manager(unit.Name, $"{unit.Name}: Wants={dependency.Name} ignored: unit is {dependency.Definition.LoadState}.");
                    }

                    continue;
                }

                if (!seen.Contains(dependency))
                {
                    seen.Add(dependency);
                    queue.Enqueue(dependency);
                }
            }
        }

        // Whatever requires an excluded unit cannot start either.
        for (bool changed = excluded.Count > 0; changed;)
        {
            changed = false;
            foreach (UnitState unit in seen.Where(u => !excluded.ContainsKey(u)))
            {
                UnitState? blocked = unit.Definition.Requires.Select(Find).FirstOrDefault(d => d is not null && excluded.ContainsKey(d));
                if (blocked is not null)
                {
                    excluded[unit] = excluded[blocked];
                    changed = true;
                    break;
                }
            }
        }

        if (excluded.TryGetValue(root, out UnitException? failure))
        {
            throw failure.Message.StartsWith($"Failed to start {root.Name}:", StringComparison.Ordinal)
                ? failure
                : new UnitException($"Failed to start {root.Name}: {failure.Message[(failure.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]}") { ExitCode = failure.ExitCode };
        }

        foreach ((UnitState unit, UnitException why) in excluded)
        {
            _journal.Manager(unit.Name, $"{unit.Name}: Failed to enqueue start job, ignoring: {why.Message}");
        }

        return [.. seen.Where(u => !excluded.ContainsKey(u))];
    }

    /// <summary>Topological order by After=/Before= (both directions); an ordering cycle is broken and logged.</summary>
    private List<UnitState> Order(List<UnitState> units)
    {
        var before = units.ToDictionary(u => u, _ => new HashSet<UnitState>());
        foreach (UnitState unit in units)
        {
            foreach (string name in unit.Definition.After)
            {
                if (Find(name) is { } other && before.ContainsKey(other) && other != unit)
                {
                    before[unit].Add(other);
                }
            }

            foreach (string name in unit.Definition.Before)
            {
                if (Find(name) is { } other && other != unit && before.TryGetValue(other, out HashSet<UnitState>? set))
                {
                    set.Add(unit);
                }
            }
        }

        var ordered = new List<UnitState>();
        var state = new Dictionary<UnitState, int>();
        void Visit(UnitState unit)
        {
            state.TryGetValue(unit, out int mark);
            if (mark == 2)
            {
                return;
            }

            if (mark == 1)
            {
                _journal.Manager(unit.Name, $"{unit.Name}: Found ordering cycle, breaking it.");
                return;
            }

            state[unit] = 1;
            foreach (UnitState dependency in before[unit].OrderBy(u => units.IndexOf(u)))
            {
                Visit(dependency);
            }

            state[unit] = 2;
            ordered.Add(unit);
        }

        foreach (UnitState unit in units.OrderBy(u => u.Name, StringComparer.Ordinal))
        {
            Visit(unit);
        }

        return ordered;
    }

    private UnitState? Find(string name)
    {
        lock (_lock)
        {
            string canonical = _aliases.TryGetValue(name, out string? c) ? c : name;
            return _units.GetValueOrDefault(canonical);
        }
    }

    private async Task<string> StartTransactionAsync(UnitState root, CancellationToken cancellationToken)
    {
        List<UnitState> order = Order(Closure(root));
        var results = new Dictionary<UnitState, string>();
        foreach (UnitState unit in order)
        {
            // A failed Requires= dependency this unit is ordered after fails its job (result 'dependency').
            UnitState? failed = unit.Definition.Requires.Select(Find)
                .FirstOrDefault(d => d is not null && results.TryGetValue(d, out string? r) && r != "success" &&
                    (unit.Definition.After.Contains(d.Name) || d.Definition.Before.Contains(unit.Name) || d.Definition.Aliases.Any(unit.Definition.After.Contains)));
            if (failed is not null)
            {
                _journal.Manager(unit.Name, $"Dependency failed for {unit.Definition.DisplayName}.");
                _journal.Manager(unit.Name, $"{unit.Name}: Job {unit.Name}/start failed with result 'dependency'.");
                results[unit] = "dependency";
                continue;
            }

            // Conflicts= works both ways: the active units this one conflicts with, or that conflict with it, stop first.
            List<UnitState> conflicting;
            lock (_lock)
            {
                conflicting = [.. _units.Values.Where(other => other != unit && other.IsActiveOrActivating &&
                    (unit.Definition.Conflicts.Contains(other.Name) || other.Definition.Aliases.Any(unit.Definition.Conflicts.Contains) ||
                     other.Definition.Conflicts.Contains(unit.Name) || unit.Definition.Aliases.Any(other.Definition.Conflicts.Contains)))];
            }

            foreach (UnitState other in conflicting)
            {
                _ = await StopTransactionAsync(other).ConfigureAwait(false);
            }

            results[unit] = await StartOneAsync(unit, cancellationToken).ConfigureAwait(false);
        }

        return results[root];
    }

    /// <summary>
    /// Stops <paramref name="root"/> after the active units that require it; returns every unit stopped, in order.
    /// Jobs run to completion whatever the requester's token says (systemd's jobs do not depend on the client
    /// either): public methods only stop waiting for them.
    /// </summary>
    private async Task<List<UnitState>> StopTransactionAsync(UnitState root)
    {
        var affected = new List<UnitState> { root };
        for (int i = 0; i < affected.Count; i++)
        {
            UnitState target = affected[i];
            List<UnitState> dependents;
            lock (_lock)
            {
                dependents = [.. _units.Values.Where(u => u.IsActiveOrActivating && !affected.Contains(u) &&
                    u.Definition.Requires.Any(n => n == target.Name || target.Definition.Aliases.Contains(n)))];
            }

            affected.AddRange(dependents);
        }

        List<UnitState> order = Order(affected);
        order.Reverse();
        var stopped = new List<UnitState>();
        foreach (UnitState unit in order)
        {
            if (unit == root || unit.IsActiveOrActivating)
            {
                await StopOneAsync(unit).ConfigureAwait(false);
                stopped.Add(unit);
            }
        }

        return stopped;
    }

    private void SetState(UnitState unit, string active, string sub)
    {
        lock (_lock)
        {
            if (active is "active" && unit.ActiveState != "active")
            {
                unit.ActiveEnter = DateTime.Now;
            }
            else if (active is "inactive" or "failed" && unit.ActiveState is not ("inactive" or "failed"))
            {
                unit.InactiveEnter = DateTime.Now;
            }

            unit.ActiveState = active;
            unit.SubState = sub;
        }
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    private static string? FindOnPath(string executable, Dictionary<string, string> environment)
    {
        if (executable.StartsWith('/'))
        {
            return executable;
        }

        string path = environment.TryGetValue("PATH", out string? p) ? p : DefaultPath;
        foreach (string directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, executable);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}
