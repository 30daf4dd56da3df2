using System.Globalization;
using System.Text;

namespace Platform.Kola.Units;

/// <summary>The systemctl and journalctl command lines, with their outputs and exit codes.</summary>
internal sealed partial class Manager
{
    private static readonly string[] s_unitFileVerbs = ["enable", "disable", "mask", "unmask", "reenable"];

    public async Task<ControlResult> SystemctlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var words = new List<string>();
        var properties = new List<string>();
        bool quiet = false, runtime = false, force = false, noBlock = false, all = false, now = false, valueOnly = false, noLegend = false;
        var states = new List<string>();
        var types = new List<string>();
        for (int i = 0; i < arguments.Count; i++)
        {
            string a = arguments[i];
            string? Next() => i + 1 < arguments.Count ? arguments[++i] : null;
            switch (a)
            {
                case "-q" or "--quiet":
                    quiet = true;
                    break;
                case "--runtime":
                    runtime = true;
                    break;
                case "-f" or "--force":
                    force = true;
                    break;
                case "--no-block":
                    noBlock = true;
                    break;
                case "-a" or "--all":
                    all = true;
                    break;
                case "--now":
                    now = true;
                    break;
                case "--value":
                    valueOnly = true;
                    break;
                case "--no-legend":
                    noLegend = true;
                    break;
                case "--failed":
                    states.Add("failed");
                    break;
                case "--no-pager" or "--no-ask-password" or "--system" or "-l" or "--full" or "--plain" or "--no-reload" or "-n0":
                    break;
                case "-p" or "--property":
                    properties.AddRange((Next() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
                case "-t" or "--type":
                    types.AddRange((Next() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
                case "--state":
                    states.AddRange((Next() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
                case "-n" or "--lines":
                    _ = Next();
                    break;
                default:
                    if (a.StartsWith("--job-mode=", StringComparison.Ordinal) || a.StartsWith("--lines=", StringComparison.Ordinal))
                    {
                        break;
                    }

                    if (a.StartsWith("--property=", StringComparison.Ordinal) || a.StartsWith("-p", StringComparison.Ordinal) && a.Length > 2)
                    {
                        properties.AddRange(a[(a.StartsWith("--", StringComparison.Ordinal) ? 11 : 2)..].Split(',', StringSplitOptions.RemoveEmptyEntries));
                        break;
                    }

                    if (a.StartsWith("--state=", StringComparison.Ordinal))
                    {
                        states.AddRange(a[8..].Split(',', StringSplitOptions.RemoveEmptyEntries));
                        break;
                    }

                    if (a.StartsWith("--type=", StringComparison.Ordinal))
                    {
                        types.AddRange(a[7..].Split(',', StringSplitOptions.RemoveEmptyEntries));
                        break;
                    }

                    if (a.StartsWith('-') && a.Length > 1)
                    {
                        return new ControlResult(1, string.Empty, $"systemctl: unrecognized option '{a}'\n");
                    }

                    words.Add(a);
                    break;
            }
        }

        string verb = words.Count == 0 ? "list-units" : words[0];
        List<string> units = [.. words.Skip(1)];
        if (verb is "start" or "stop" or "restart" or "try-restart" or "reload-or-restart" or "reload" or "is-active" or "is-failed"
            or "is-enabled" or "enable" or "disable" or "mask" or "unmask" or "reenable" or "cat" or "reset-failed" or "kill" && units.Count == 0 &&
            verb != "reset-failed")
        {
            return new ControlResult(1, string.Empty, $"Too few arguments.\n");
        }

        foreach (string unit in units)
        {
            if (!UnitNames.IsValid(UnitNames.Normalize(unit)) && verb is not ("list-units" or "show"))
            {
                return new ControlResult(1, string.Empty, $"Failed to {verb} {unit}: Invalid unit name \"{unit}\".\n");
            }
        }

        units = [.. units.Select(UnitNames.Normalize)];
        try
        {
            int code = 0;
            switch (verb)
            {
                case "daemon-reload" or "daemon-reexec":
                    await DaemonReloadAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case "start" or "stop" or "restart" or "try-restart" or "reload-or-restart" or "reload" or "reload-or-try-restart" or "condrestart" or "force-reload":
                    foreach (string unit in units)
                    {
                        Task job = verb switch
                        {
                            "start" => StartAsync(unit, cancellationToken),
                            "stop" => StopAsync(unit, cancellationToken),
                            "reload" => throw new UnitException($"Failed to reload {unit}: Job type reload is not applicable for unit {unit}."),
                            "try-restart" or "condrestart" or "reload-or-try-restart" or "force-reload" =>
                                GetStatus(unit).ActiveState is "active" or "activating" ? RestartAsync(unit, cancellationToken) : Task.CompletedTask,
                            _ => RestartAsync(unit, cancellationToken),
                        };
                        if (noBlock)
                        {
                            _ = job.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                            continue;
                        }

                        try
                        {
                            await job.ConfigureAwait(false);
                        }
                        catch (UnitException e)
                        {
                            stderr.Append(e.Message).Append('\n');
                            if (e.Message.StartsWith("Job for", StringComparison.Ordinal))
                            {
                                stderr.Append($"See \"systemctl status {unit}\" and \"journalctl -xe\" for details.\n");
                            }

                            code = e.ExitCode;
                        }
                    }

                    break;
                case "enable" or "disable" or "mask" or "unmask" or "reenable":
                    code = UnitFiles(verb, units, runtime, force, stdout, stderr);
                    if (code == 0 && now && verb is "enable" or "disable" or "mask")
                    {
                        foreach (string unit in units)
                        {
                            await (verb == "enable" ? StartAsync(unit, cancellationToken) : StopAsync(unit, cancellationToken)).ConfigureAwait(false);
                        }
                    }

                    break;
                case "is-active" or "is-failed":
                    code = verb == "is-active" ? 3 : 1;
                    foreach (string unit in units)
                    {
                        UnitStatus s = GetStatus(unit);
                        string state = s.ActiveState;
                        if (!quiet)
                        {
                            stdout.Append(state).Append('\n');
                        }

                        if (verb == "is-active" ? state == "active" : state == "failed")
                        {
                            code = 0;
                        }
                    }

                    break;
                case "is-enabled":
                    code = 1;
                    foreach (string unit in units)
                    {
                        string? state = UnitFileState(unit);
                        if (state is null)
                        {
                            stderr.Append($"Failed to get unit file state for {unit}: No such file or directory\n");
                            continue;
                        }

                        if (!quiet)
                        {
                            stdout.Append(state).Append('\n');
                        }

                        if (state is "enabled" or "enabled-runtime" or "static" or "alias" or "indirect" or "generated")
                        {
                            code = 0;
                        }
                    }

                    break;
                case "reset-failed":
                    foreach (UnitState unit in units.Count == 0 ? Snapshot() : units.Select(Resolve))
                    {
                        lock (_lock)
                        {
                            if (unit.ActiveState == "failed")
                            {
                                unit.ActiveState = "inactive";
                                unit.SubState = "dead";
                                unit.Result = "success";
                            }

                            unit.StartTimes.Clear();
                        }
                    }

                    break;
                case "status":
                    code = Status(units, stdout, stderr);
                    break;
                case "show":
                    Show(units.Count == 0 ? ["multi-user.target"] : units, properties, valueOnly, stdout);
                    break;
                case "cat":
                    code = Cat(units, stdout, stderr);
                    break;
                case "list-units":
                    ListUnitsText(units, all, states, types, noLegend, stdout);
                    break;
                case "kill":
                    foreach (string unit in units)
                    {
                        _ = SignalGroups(Resolve(unit), Signals.SIGTERM);
                    }

                    break;
                default:
                    return new ControlResult(1, string.Empty, $"Unknown command verb {verb}.\n");
            }

            return new ControlResult(code, stdout.ToString(), stderr.ToString());
        }
        catch (UnitException e)
        {
            return new ControlResult(e.ExitCode, stdout.ToString(), stderr.Append(e.Message).Append('\n').ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ControlResult(1, stdout.ToString(), stderr.Append(CultureInfo.InvariantCulture, $"Failed to {verb}: {e.Message}\n").ToString());
        }
    }

    public Task EnableAsync(string unit, bool runtime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        cancellationToken.ThrowIfCancellationRequested();
        string name = UnitNames.Normalize(unit);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        if (!UnitNames.IsValid(name))
        {
            throw new UnitException($"Failed to enable unit: Invalid unit name \"{unit}\".");
        }

        if (UnitFiles("enable", [name], runtime, force: true, stdout, stderr) != 0)
        {
            throw new UnitException(stderr.ToString().TrimEnd('\n'));
        }

        return Task.CompletedTask;
    }

    private List<UnitState> Snapshot()
    {
        lock (_lock)
        {
            return [.. _units.Values];
        }
    }

    /// <summary>enable/disable/mask/unmask: symbolic links in the /etc directory (or the runtime one), then a reload.</summary>
    private int UnitFiles(string verb, List<string> units, bool runtime, bool force, StringBuilder stdout, StringBuilder stderr)
    {
        string root = runtime ? RuntimeDirectory : _options.UnitDirectories[0];
        string operation = verb switch { "reenable" => "enable", _ => verb };
        foreach (string unit in units)
        {
            switch (verb)
            {
                case "enable" or "reenable":
                    if (verb == "reenable")
                    {
                        Disable(unit, stderr);
                    }

                    if (!Enable(unit, root, force, stderr, new HashSet<string>(StringComparer.Ordinal)))
                    {
                        return 1;
                    }

                    break;
                case "disable":
                    Disable(unit, stderr);
                    break;
                case "mask":
                    string path = Path.Combine(root, unit);
                    var info = new FileInfo(path);
                    if (info.LinkTarget == "/dev/null")
                    {
                        break;
                    }

                    if (info.Exists || info.LinkTarget is not null)
                    {
                        if (!force || info.LinkTarget is null)
                        {
                            stderr.Append($"Failed to {operation} unit: File {path} already exists.\n");
                            return 1;
                        }

                        File.Delete(path);
                    }

                    Directory.CreateDirectory(root);
                    File.CreateSymbolicLink(path, "/dev/null");
                    stderr.Append($"Created symlink {path} → /dev/null.\n");
                    break;
                case "unmask":
                    foreach (string directory in WritableDirectories(runtime))
                    {
                        string p = Path.Combine(directory, unit);
                        if (new FileInfo(p).LinkTarget == "/dev/null")
                        {
                            File.Delete(p);
                            stderr.Append($"Removed {p}.\n");
                        }
                    }

                    break;
            }
        }

        ReloadAfterUnitFileChange();
        return 0;
    }

    private void ReloadAfterUnitFileChange()
    {
        lock (_lock)
        {
            _aliases.Clear();
            foreach (UnitState unit in _units.Values)
            {
                unit.Definition = LoadDefinition(unit.Name);
                unit.WarningsLogged = false;
            }
        }
    }

    private string RuntimeDirectory =>
        _options.RuntimeDirectory ??
        _options.UnitDirectories.FirstOrDefault(d => d.TrimEnd('/').EndsWith("/run/systemd/system", StringComparison.Ordinal)) ??
        (_options.UnitDirectories.Count > 1 ? _options.UnitDirectories[1] : _options.UnitDirectories[0]);

    private IEnumerable<string> WritableDirectories(bool runtimeOnly) =>
        runtimeOnly ? [RuntimeDirectory] : new[] { _options.UnitDirectories[0], RuntimeDirectory }.Distinct();

    /// <summary>The [Install] links of <paramref name="unit"/>: <c>TARGET.wants/UNIT</c>, <c>TARGET.requires/UNIT</c>, <c>ALIAS</c>.</summary>
    private bool Enable(string unit, string root, bool force, StringBuilder stderr, HashSet<string> done)
    {
        if (!done.Add(unit))
        {
            return true;
        }

        string? fragment = _loader.FindFragment(unit, out bool masked);
        string? template = fragment is null ? UnitNames.Template(unit) : null;
        if (template is not null)
        {
            fragment = _loader.FindFragment(template, out masked);
        }

        if (fragment is null)
        {
            stderr.Append($"Failed to enable unit: Unit file {unit} does not exist.\n");
            return false;
        }

        if (masked)
        {
            stderr.Append($"Failed to enable unit: Unit file {fragment} is masked.\n");
            return false;
        }

        UnitDefinition d = _loader.Load(unit);
        if (!d.HasInstallSection)
        {
            stderr.Append($"The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\nAlias= settings in the [Install] section, and DefaultInstance= for template\nunits). This means they are not meant to be enabled using systemctl.\n");
            return true;
        }

        var links = new List<string>();
        links.AddRange(d.WantedBy.Select(t => Path.Combine(root, t + ".wants", unit)));
        links.AddRange(d.RequiredBy.Select(t => Path.Combine(root, t + ".requires", unit)));
        links.AddRange(d.Alias.Select(a => Path.Combine(root, a)));
        foreach (string link in links)
        {
            var info = new FileInfo(link);
            if (info.LinkTarget is { } existing)
            {
                if (existing == fragment)
                {
                    continue;
                }

                if (!force)
                {
                    stderr.Append($"Failed to enable unit: File {link} already exists and is a symlink to {existing}.\n");
                    return false;
                }

                File.Delete(link);
            }
            else if (info.Exists)
            {
                stderr.Append($"Failed to enable unit: File {link} already exists.\n");
                return false;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, fragment);
            stderr.Append($"Created symlink {link} → {fragment}.\n");
        }

        foreach (string also in d.Also)
        {
            if (!Enable(also, root, force, stderr, done))
            {
                return false;
            }
        }

        return true;
    }

    private void Disable(string unit, StringBuilder stderr)
    {
        UnitDefinition d = _loader.Load(unit);
        foreach (string directory in WritableDirectories(runtimeOnly: false))
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            var candidates = new List<string>();
            foreach (string sub in Directory.EnumerateDirectories(directory).Where(p => p.EndsWith(".wants", StringComparison.Ordinal) || p.EndsWith(".requires", StringComparison.Ordinal)))
            {
                candidates.Add(Path.Combine(sub, unit));
            }

            candidates.AddRange(d.Alias.Select(a => Path.Combine(directory, a)));
            foreach (string link in candidates)
            {
                if (new FileInfo(link).LinkTarget is not null && link != Path.Combine(directory, unit))
                {
                    File.Delete(link);
                    stderr.Append($"Removed {link}.\n");
                }
            }
        }
    }

    /// <summary>What is-enabled prints: enabled, enabled-runtime, disabled, static, masked, alias; null when there is no unit file.</summary>
    private string? UnitFileState(string unit)
    {
        string? fragment = _loader.FindFragment(unit, out bool masked);
        if (fragment is null)
        {
            return UnitNames.Suffix(unit) == "target" && _loader.Load(unit).LoadState == "loaded" ? "static" : null;
        }

        if (masked)
        {
            return fragment.StartsWith(RuntimeDirectory, StringComparison.Ordinal) && RuntimeDirectory != _options.UnitDirectories[0] ? "masked-runtime" : "masked";
        }

        if (_loader.Canonical(unit) != unit)
        {
            return "alias";
        }

        bool Linked(string directory) => Directory.Exists(directory) &&
            Directory.EnumerateDirectories(directory).Where(p => p.EndsWith(".wants", StringComparison.Ordinal) || p.EndsWith(".requires", StringComparison.Ordinal))
                .Any(p => new FileInfo(Path.Combine(p, unit)).LinkTarget is not null);

        if (Linked(_options.UnitDirectories[0]))
        {
            return "enabled";
        }

        if (RuntimeDirectory != _options.UnitDirectories[0] && Linked(RuntimeDirectory))
        {
            return "enabled-runtime";
        }

        UnitDefinition d = _loader.Load(unit);
        return d.HasInstallSection ? "disabled" : "static";
    }

    private int Status(List<string> units, StringBuilder stdout, StringBuilder stderr)
    {
        int code = 0;
        List<UnitState> targets = units.Count == 0 ? Snapshot().Where(u => u.ActiveState != "inactive").ToList() : [.. units.Select(Resolve)];
        foreach (UnitState unit in targets)
        {
            UnitDefinition d = unit.Definition;
            if (d.LoadState == "not-found" && unit.ActiveState == "inactive")
            {
                stderr.Append($"Unit {unit.Name} could not be found.\n");
                code = Math.Max(code, 4);
                continue;
            }

            if (stdout.Length > 0)
            {
                stdout.Append('\n');
            }

            string dot = unit.ActiveState switch { "active" => "●", "failed" => "×", _ => "○" };
            stdout.Append(CultureInfo.InvariantCulture, $"{dot} {unit.Name}{(d.Description is { } desc ? " - " + desc : string.Empty)}\n");
            string fileState = d.FragmentPath is null ? string.Empty : "; " + (UnitFileState(unit.Name) ?? "static");
            string loaded = d.LoadState switch
            {
                "loaded" => $"loaded ({d.FragmentPath ?? "built-in"}{fileState})",
                "masked" => "masked (Reason: Unit " + unit.Name + " is masked.)",
                "bad-setting" => $"bad-setting (Reason: {d.LoadError})",
                _ => d.LoadState,
            };
            stdout.Append(CultureInfo.InvariantCulture, $"     Loaded: {loaded}\n");
            if (d.DropInPaths.Count > 0)
            {
                foreach (IGrouping<string?, string> group in d.DropInPaths.GroupBy(Path.GetDirectoryName))
                {
                    stdout.Append(CultureInfo.InvariantCulture, $"    Drop-In: {group.Key}\n");
                    stdout.Append(CultureInfo.InvariantCulture, $"             └─{string.Join(", ", group.Select(Path.GetFileName))}\n");
                }
            }

            DateTime? since = unit.ActiveState is "active" ? unit.ActiveEnter : unit.InactiveEnter;
            string result = unit.ActiveState == "failed" ? $" (Result: {unit.Result})" : string.Empty;
            string sinceText = since is { } s ? $" since {s.ToString("ddd yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}; {Ago(DateTime.Now - s)} ago" : string.Empty;
            stdout.Append(CultureInfo.InvariantCulture, $"     Active: {unit.ActiveState} ({unit.SubState}){result}{sinceText}\n");
            if (unit.StatusText is { } statusText)
            {
                stdout.Append(CultureInfo.InvariantCulture, $"     Status: \"{statusText}\"\n");
            }

            if (unit.MainPid is { } pid)
            {
                stdout.Append(CultureInfo.InvariantCulture, $"   Main PID: {pid} ({ProcessName(pid)})\n");
            }
            else if (unit.ExecMainPid is { } last && unit.ExecMainStatus is { } st)
            {
                stdout.Append(CultureInfo.InvariantCulture, $"   Main PID: {last} ({Describe(st)})\n");
            }

            List<JournalRecord> lines = _journal.Query(r => r.Unit == unit.Name);
            if (lines.Count > 0)
            {
                stdout.Append('\n');
                foreach (JournalRecord record in lines.Skip(Math.Max(0, lines.Count - 10)))
                {
                    stdout.Append(Journal.Format(record)).Append('\n');
                }
            }

            if (unit.ActiveState != "active" && unit.ActiveState != "reloading")
            {
                code = Math.Max(code, 3);
            }
        }

        return code;
    }

    private static string Ago(TimeSpan span) => span.TotalSeconds < 60
        ? $"{Math.Max(0, (int)span.TotalSeconds).ToString(CultureInfo.InvariantCulture)}s"
        : span.TotalMinutes < 60 ? $"{((int)span.TotalMinutes).ToString(CultureInfo.InvariantCulture)}min {span.Seconds.ToString(CultureInfo.InvariantCulture)}s"
        : $"{((int)span.TotalHours).ToString(CultureInfo.InvariantCulture)}h {span.Minutes.ToString(CultureInfo.InvariantCulture)}min";

    private void Show(List<string> units, List<string> properties, bool valueOnly, StringBuilder stdout)
    {
        bool first = true;
        foreach (string name in units)
        {
            UnitState unit = Resolve(name);
            if (!first)
            {
                stdout.Append('\n');
            }

            first = false;
            UnitDefinition d = unit.Definition;
            var all = new List<(string Key, string Value)>
            {
                ("Type", d.Kind == UnitKind.Service ? d.Type.ToString().ToLowerInvariant() : string.Empty),
                ("Restart", d.Restart switch { RestartPolicy.OnFailure => "on-failure", RestartPolicy.OnSuccess => "on-success", RestartPolicy.OnAbnormal => "on-abnormal", RestartPolicy.OnAbort => "on-abort", RestartPolicy.Always => "always", _ => "no" }),
                ("NotifyAccess", d.Type == ServiceType.Notify ? "main" : "none"),
                ("RestartUSec", ((long)(d.RestartSec.TotalMilliseconds * 1000)).ToString(CultureInfo.InvariantCulture) + "us"),
                ("Result", unit.Result ?? "success"),
                ("MainPID", (unit.MainPid ?? 0).ToString(CultureInfo.InvariantCulture)),
                ("ControlPID", (unit.ControlPid ?? 0).ToString(CultureInfo.InvariantCulture)),
                ("ExecMainPID", (unit.ExecMainPid ?? 0).ToString(CultureInfo.InvariantCulture)),
                ("ExecMainCode", unit.ExecMainStatus is { } s1 ? (s1.Signal != 0 ? "2" : "1") : "0"),
                ("ExecMainStatus", unit.ExecMainStatus is { } s2 ? (s2.Signal != 0 ? s2.Signal : s2.Code).ToString(CultureInfo.InvariantCulture) : "0"),
                ("NRestarts", unit.RestartCount.ToString(CultureInfo.InvariantCulture)),
                ("StatusText", unit.StatusText ?? string.Empty),
                ("Environment", string.Join(' ', d.Environment)),
                ("RemainAfterExit", d.RemainAfterExit ? "yes" : "no"),
                ("WorkingDirectory", d.WorkingDirectory ?? string.Empty),
                ("Id", unit.Name),
                ("Names", string.Join(' ', new[] { unit.Name }.Concat(d.Aliases.Order(StringComparer.Ordinal)))),
                ("Requires", string.Join(' ', d.Requires)),
                ("Wants", string.Join(' ', d.Wants)),
                ("Before", string.Join(' ', d.Before)),
                ("After", string.Join(' ', d.After)),
                ("Description", d.DisplayName),
                ("LoadState", d.LoadState),
                ("ActiveState", unit.ActiveState),
                ("SubState", unit.SubState),
                ("FragmentPath", d.FragmentPath ?? string.Empty),
                ("DropInPaths", string.Join(' ', d.DropInPaths)),
                ("UnitFileState", UnitFileState(unit.Name) ?? string.Empty),
                ("ActiveEnterTimestamp", unit.ActiveEnter?.ToString("ddd yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? string.Empty),
                ("InactiveEnterTimestamp", unit.InactiveEnter?.ToString("ddd yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? string.Empty),
                ("LoadError", d.LoadError ?? string.Empty),
            };
            IEnumerable<(string Key, string Value)> selected = properties.Count == 0
                ? all
                : properties.Select(p => all.FirstOrDefault(kv => kv.Key == p) is { Key: not null } found ? found : (p, string.Empty));
            foreach ((string key, string value) in selected)
            {
                stdout.Append(valueOnly ? value : key + "=" + value).Append('\n');
            }
        }
    }

    private int Cat(List<string> units, StringBuilder stdout, StringBuilder stderr)
    {
        int code = 0;
        foreach (string name in units)
        {
            UnitDefinition d = Resolve(name).Definition;
            if (d.FragmentPath is null)
            {
                stderr.Append($"No files found for {name}.\n");
                code = 1;
                continue;
            }

            foreach (string path in new[] { d.FragmentPath }.Concat(d.DropInPaths))
            {
                if (stdout.Length > 0)
                {
                    stdout.Append('\n');
                }

                stdout.Append("# ").Append(path).Append('\n');
                try
                {
                    stdout.Append(File.ReadAllText(path));
                }
                catch (IOException e)
                {
                    stderr.Append(e.Message).Append('\n');
                }
            }
        }

        return code;
    }

    private void ListUnitsText(List<string> patterns, bool all, List<string> states, List<string> types, bool noLegend, StringBuilder stdout)
    {
        List<UnitState> units = [.. Snapshot().Where(u =>
            (all || states.Count > 0 || u.ActiveState != "inactive") &&
            (states.Count == 0 || states.Contains(u.ActiveState) || states.Contains(u.SubState) || states.Contains(u.Definition.LoadState)) &&
            (types.Count == 0 || types.Contains(UnitNames.Suffix(u.Name))) &&
            (patterns.Count == 0 || patterns.Any(p => System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(p, u.Name, ignoreCase: false))))
            .OrderBy(u => u.Name, StringComparer.Ordinal)];
        int width = Math.Max(4, units.Count == 0 ? 0 : units.Max(u => u.Name.Length));
        if (!noLegend)
        {
            stdout.Append(CultureInfo.InvariantCulture, $"  {"UNIT".PadRight(width)} {"LOAD",-11} {"ACTIVE",-8} {"SUB",-8} DESCRIPTION\n");
        }

        foreach (UnitState u in units)
        {
            string mark = u.ActiveState == "failed" ? "●" : " ";
            stdout.Append(CultureInfo.InvariantCulture, $"{mark} {u.Name.PadRight(width)} {u.Definition.LoadState,-11} {u.ActiveState,-8} {u.SubState,-8} {u.Definition.DisplayName}\n");
        }

        if (!noLegend)
        {
            stdout.Append(CultureInfo.InvariantCulture, $"\nLOAD   = Reflects whether the unit definition was properly loaded.\nACTIVE = The high-level unit activation state, i.e. generalization of SUB.\nSUB    = The low-level unit activation state, values depend on unit type.\n\n{units.Count} loaded units listed.\n");
        }
    }

    public Task<ControlResult> JournalctlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var units = new List<string>();
        int? lines = null;
        string output = "short";
        for (int i = 0; i < arguments.Count; i++)
        {
            string a = arguments[i];
            string? Next() => i + 1 < arguments.Count ? arguments[++i] : null;
            switch (a)
            {
                case "-u" or "--unit":
                    units.Add(Next() ?? string.Empty);
                    break;
                case "-n" or "--lines":
                    string? n = Next();
                    if (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int count))
                    {
                        return Task.FromResult(new ControlResult(1, string.Empty, $"Failed to parse lines '{n}'\n"));
                    }

                    lines = count;
                    break;
                case "-o" or "--output":
                    output = Next() ?? string.Empty;
                    break;
                case "-e" or "--pager-end":
                    lines ??= 1000;
                    break;
                case "-b" or "--boot" or "--no-pager" or "-x" or "--catalog" or "-xe" or "-q" or "--quiet" or "-a" or "--all" or "--no-hostname" or "--system":
                    break;
                default:
                    if (a.StartsWith("--unit=", StringComparison.Ordinal))
                    {
                        units.Add(a[7..]);
                    }
                    else if (a.StartsWith("-u", StringComparison.Ordinal) && a.Length > 2)
                    {
                        units.Add(a[2..]);
                    }
                    else if (a.StartsWith("--lines=", StringComparison.Ordinal) && int.TryParse(a[8..], NumberStyles.None, CultureInfo.InvariantCulture, out int c1))
                    {
                        lines = c1;
                    }
                    else if (a.StartsWith("-n", StringComparison.Ordinal) && int.TryParse(a[2..], NumberStyles.None, CultureInfo.InvariantCulture, out int c2))
                    {
                        lines = c2;
                    }
                    else if (a.StartsWith("--output=", StringComparison.Ordinal))
                    {
                        output = a[9..];
                    }
                    else if (a.StartsWith("-o", StringComparison.Ordinal) && a.Length > 2)
                    {
                        output = a[2..];
                    }
                    else
                    {
                        return Task.FromResult(new ControlResult(1, string.Empty, $"journalctl: unrecognized option '{a}'\n"));
                    }

                    break;
            }
        }

        if (output is not ("short" or "cat"))
        {
            return Task.FromResult(new ControlResult(1, string.Empty, $"Unknown output format '{output}'.\n"));
        }

        HashSet<string> wanted = [.. units.Select(u => UnitNames.Normalize(u)).Select(u => Find(u)?.Name ?? u)];
        List<JournalRecord> records = _journal.Query(r => wanted.Count == 0 || r.Unit is not null && wanted.Contains(r.Unit));
        if (lines is { } last && records.Count > last)
        {
            records = records.GetRange(records.Count - last, last);
        }

        var stdout = new StringBuilder();
        if (records.Count == 0)
        {
            stdout.Append("-- No entries --\n");
        }

        foreach (JournalRecord record in records)
        {
            stdout.Append(output == "cat" ? record.Message : Journal.Format(record)).Append('\n');
        }

        return Task.FromResult(new ControlResult(0, stdout.ToString(), string.Empty));
    }
}
