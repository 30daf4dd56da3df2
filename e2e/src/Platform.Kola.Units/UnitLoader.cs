namespace Platform.Kola.Units;

/// <summary>
/// Finds and reads units: the first unit directory holding <c>NAME</c> (or, for an instance, its template)
/// supplies the fragment; a symbolic link to <c>/dev/null</c> (or an empty file) masks it; a symbolic link to
/// a unit of another name makes NAME an alias of that unit. Drop-ins <c>NAME.d/*.conf</c> (and the template's)
/// from every directory are applied after the fragment in file-name order, a name in an earlier directory
/// hiding the same name in later ones. <c>NAME.wants/</c> and <c>NAME.requires/</c> entries in every directory
/// add Wants=/Requires=. Well-known targets missing on disk are built in (empty), default.target being
/// an alias of multi-user.target.
/// </summary>
internal sealed class UnitLoader
{
    private static readonly string[] s_builtinTargets =
    [
        "multi-user.target", "basic.target", "sysinit.target", "network.target", "network-online.target", "network-pre.target",
        "local-fs.target", "local-fs-pre.target", "remote-fs.target", "sockets.target", "timers.target", "paths.target",
        "nss-lookup.target", "time-sync.target", "getty.target", "graphical.target", "shutdown.target", "cloud-config.target",
        "system-config.target", "user-config.target", "machines.target", "swap.target", "slices.target",
    ];

    private static readonly HashSet<string> s_ignoredKeys = new(StringComparer.Ordinal)
    {
        "Unit.Documentation", "Unit.DefaultDependencies", "Unit.PartOf", "Unit.RequiresMountsFor", "Unit.StartLimitAction",
        "Unit.OnFailure", "Unit.IgnoreOnIsolate", "Unit.AllowIsolate", "Unit.Requisite", "Unit.JobTimeoutSec", "Unit.Upholds", "Unit.StopWhenUnneeded",
        "Service.Group", "Service.LimitNOFILE", "Service.LimitNPROC", "Service.LimitCORE", "Service.LimitMEMLOCK", "Service.Nice",
        "Service.IOSchedulingClass", "Service.IOSchedulingPriority", "Service.StandardOutput", "Service.StandardError", "Service.StandardInput",
        "Service.PrivateTmp", "Service.ProtectSystem", "Service.ProtectHome", "Service.NoNewPrivileges", "Service.CapabilityBoundingSet",
        "Service.AmbientCapabilities", "Service.Delegate", "Service.KillMode", "Service.SuccessExitStatus", "Service.PermissionsStartOnly",
        "Service.PIDFile", "Service.Slice", "Service.CPUAccounting", "Service.MemoryAccounting", "Service.BlockIOAccounting", "Service.TasksMax",
        "Service.OOMScoreAdjust", "Service.RestartPreventExitStatus", "Service.NotifyAccess", "Service.WatchdogSec", "Service.ExecReload",
        "Service.GuessMainPID", "Service.SendSIGKILL", "Service.SendSIGHUP", "Service.UMask", "Service.RuntimeDirectory", "Service.StateDirectory",
        "Service.MemoryLimit", "Service.MemoryMax", "Service.CPUQuota", "Service.TTYPath", "Service.SyslogLevel",
        "Service.LimitMEMLOCK", "Service.DevicePolicy", "Service.DeviceAllow",
        "Install.DefaultInstance",
    };

    private readonly UnitManagerOptions _options;
    private readonly Lazy<string> _machineId;

    public UnitLoader(UnitManagerOptions options)
    {
        _options = options;
        _machineId = new Lazy<string>(() =>
        {
            try
            {
                return File.ReadAllText(options.MachineIdPath).Trim();
            }
            catch (IOException)
            {
                return string.Empty;
            }
            catch (UnauthorizedAccessException)
            {
                return string.Empty;
            }
        });
    }

    /// <summary>Where NAME's fragment is, or null; <paramref name="masked"/> when it is a link to /dev/null or empty.</summary>
    public string? FindFragment(string name, out bool masked)
    {
        masked = false;
        foreach (string directory in _options.UnitDirectories)
        {
            string path = Path.Combine(directory, name);
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                string resolved = Path.IsPathRooted(target) ? target : Path.GetFullPath(Path.Combine(directory, target));
                if (resolved == "/dev/null")
                {
                    masked = true;
                    return path;
                }

                if (!File.Exists(path))
                {
                    continue;
                }

                return path;
            }

            if (info.Exists)
            {
                masked = info.Length == 0;
                return path;
            }
        }

        return null;
    }

    /// <summary>The canonical name NAME stands for: itself, or the unit its fragment links to (an alias).</summary>
    public string Canonical(string name)
    {
        for (int depth = 0; depth < 8; depth++)
        {
            string? fragment = FindFragment(name, out bool masked);
            if (fragment is null || masked)
            {
                return name == "default.target" && fragment is null ? "multi-user.target" : name;
            }

            string? target = new FileInfo(fragment).LinkTarget;
            if (target is null)
            {
                return name;
            }

            string other = Path.GetFileName(target);
            if (other == name || !UnitNames.IsValid(other) || UnitNames.Suffix(other) != UnitNames.Suffix(name))
            {
                return name;
            }

            name = other;
        }

        return name;
    }

    public UnitDefinition Load(string name)
    {
        string? fragment = FindFragment(name, out bool masked);
        string? template = fragment is null ? UnitNames.Template(name) : null;
        if (template is not null)
        {
            fragment = FindFragment(template, out masked);
        }

        UnitKind kind = UnitNames.Suffix(name) switch
        {
            "service" => UnitKind.Service,
            "target" => UnitKind.Target,
            _ => UnitKind.Unsupported,
        };
        var unit = new UnitDefinition { Name = name, FragmentPath = fragment, Kind = kind };
        if (masked)
        {
            unit.LoadState = "masked";
            return unit;
        }

        var entries = new List<UnitEntry>();
        if (fragment is not null)
        {
            if (!Read(fragment, unit, entries))
            {
                return unit;
            }
        }
        else if (kind == UnitKind.Target && Array.IndexOf(s_builtinTargets, name) >= 0)
        {
            unit.Description = BuiltinDescription(name);
        }
        else
        {
            unit.LoadState = "not-found";
            return unit;
        }

        foreach (string dropIn in DropIns(name, template))
        {
            unit.DropInPaths.Add(dropIn);
            if (!Read(dropIn, unit, entries))
            {
                return unit;
            }
        }

        var specifiers = new Specifiers(name, CurrentHostname(_options), () => _machineId.Value);
        Apply(unit, entries, specifiers);
        foreach (string directory in _options.UnitDirectories)
        {
            foreach (string owner in template is null ? [name] : new[] { name, template })
            {
                AddLinks(Path.Combine(directory, owner + ".wants"), unit.Wants);
                AddLinks(Path.Combine(directory, owner + ".requires"), unit.Requires);
            }
        }

        Validate(unit);
        return unit;
    }

    /// <summary>The hostname for journal lines and %H: <see cref="UnitManagerOptions.HostnameSource"/> when set, else the fixed one.</summary>
    public static string CurrentHostname(UnitManagerOptions options)
    {
        string? live = options.HostnameSource?.Invoke();
        return string.IsNullOrEmpty(live) ? options.Hostname : live;
    }

    private static bool Read(string path, UnitDefinition unit, List<UnitEntry> entries)
    {
        try
        {
            entries.AddRange(UnitFile.Parse(File.ReadAllText(path), path, unit.Warnings));
            unit.Sources.Add((path, File.GetLastWriteTimeUtc(path)));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            unit.LoadState = "error";
            unit.LoadError = $"Failed to read {path}: {e.Message}";
            return false;
        }
    }

    private List<string> DropIns(string name, string? template)
    {
        var byFileName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var names = new List<string>();
        if (UnitNames.Template(name) is { } t)
        {
            names.Add(t);
        }

        if (template is null || template != name)
        {
            names.Add(name);
        }

        // Later owners (the instance) override earlier ones (the template); earlier directories override later ones.
        foreach (string owner in names)
        {
            foreach (string directory in _options.UnitDirectories.Reverse())
            {
                string dir = Path.Combine(directory, owner + ".d");
                if (!Directory.Exists(dir))
                {
                    continue;
                }

                foreach (string file in Directory.EnumerateFiles(dir, "*.conf"))
                {
                    byFileName[Path.GetFileName(file)] = file;
                }
            }
        }

        return [.. byFileName.Values];
    }

    private static void AddLinks(string directory, List<string> into)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (string? entry in Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (entry is not null && UnitNames.IsValid(entry) && !into.Contains(entry))
            {
                into.Add(entry);
            }
        }
    }

    private static void Apply(UnitDefinition unit, List<UnitEntry> entries, Specifiers specifiers)
    {
        foreach (UnitEntry entry in entries)
        {
            string where = $"{entry.File}:{entry.Line}";
            string value = specifiers.Resolve(entry.Value, unit.Warnings, entry);
            try
            {
                // X- sections and keys (e.g. [X-Fleet]) are for other tools: systemd ignores them silently.
                if (!ApplyOne(unit, entry.Section, entry.Key, value, where) && !s_ignoredKeys.Contains(entry.Section + "." + entry.Key) &&
                    !entry.Section.StartsWith("X-", StringComparison.Ordinal) && !entry.Key.StartsWith("X-", StringComparison.Ordinal))
                {
                    unit.Warnings.Add($"{where}: Unknown key name '{entry.Key}' in section '{entry.Section}', ignoring.");
                }
            }
            catch (FormatException e)
            {
                unit.Warnings.Add($"{where}: Failed to parse {entry.Key}={entry.Value}, ignoring: {e.Message}");
            }
        }
    }

    private static bool ApplyOne(UnitDefinition unit, string section, string key, string value, string where)
    {
        switch (section, key)
        {
            case ("Unit", "Description"):
                unit.Description = value;
                return true;
            case ("Unit", "Requires" or "BindsTo"):
                AddNames(unit.Requires, value);
                return true;
            case ("Unit", "Wants"):
                AddNames(unit.Wants, value);
                return true;
            case ("Unit", "Conflicts"):
                AddNames(unit.Conflicts, value);
                return true;
            case ("Unit", "After"):
                AddNames(unit.After, value);
                return true;
            case ("Unit", "Before"):
                AddNames(unit.Before, value);
                return true;
            case ("Unit", "StartLimitBurst") or ("Service", "StartLimitBurst"):
                unit.StartLimitBurst = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                return true;
            case ("Unit", "StartLimitIntervalSec" or "StartLimitInterval") or ("Service", "StartLimitInterval" or "StartLimitIntervalSec"):
                unit.StartLimitInterval = TimeSpans.Parse(value);
                return true;
            case ("Unit", "ConditionPathExists" or "ConditionPathIsDirectory" or "ConditionFileNotEmpty" or "ConditionDirectoryNotEmpty"
                or "AssertPathExists" or "ConditionFileIsExecutable"):
                if (value.Length == 0)
                {
                    unit.Conditions.RemoveAll(c => c.Kind == key);
                    return true;
                }

                bool trigger = value.StartsWith('|');
                string rest = trigger ? value[1..] : value;
                bool negate = rest.StartsWith('!');
                unit.Conditions.Add(new Condition(key, negate ? rest[1..] : rest, negate, trigger, where));
                return true;
            case ("Service", "Type"):
                unit.Type = value switch
                {
                    "simple" or "" => ServiceType.Simple,
                    "exec" => ServiceType.Exec,
                    "oneshot" => ServiceType.Oneshot,
                    "notify" => ServiceType.Notify,
                    _ => Bad(unit, $"{where}: Type={value} is not supported by this manager (simple, exec, oneshot, notify)", ServiceType.Simple),
                };
                return true;
            case ("Service", "RemainAfterExit"):
                unit.RemainAfterExit = Boolean(value);
                return true;
            case ("Service", "Environment"):
                if (value.Length == 0)
                {
                    unit.Environment.Clear();
                    return true;
                }

                unit.Environment.AddRange(EnvironmentSyntax.ParseAssignments(value, unit.Warnings, where).Select(kv => kv.Key + "=" + kv.Value));
                return true;
            case ("Service", "EnvironmentFile"):
                if (value.Length == 0)
                {
                    unit.EnvironmentFiles.Clear();
                    return true;
                }

                unit.EnvironmentFiles.Add(value.StartsWith('-') ? (value[1..], true) : (value, false));
                return true;
            case ("Service", "ExecStartPre"):
                return Exec(unit.ExecStartPre, value);
            case ("Service", "ExecStart"):
                return Exec(unit.ExecStart, value);
            case ("Service", "ExecStartPost"):
                return Exec(unit.ExecStartPost, value);
            case ("Service", "ExecStop"):
                return Exec(unit.ExecStop, value);
            case ("Service", "ExecStopPost"):
                return Exec(unit.ExecStopPost, value);
            case ("Service", "WorkingDirectory"):
                unit.WorkingDirectoryOptional = value.StartsWith('-');
                unit.WorkingDirectory = value.Length == 0 ? null : unit.WorkingDirectoryOptional ? value[1..] : value;
                return true;
            case ("Service", "User"):
                unit.User = value.Length == 0 ? null : value;
                return true;
            case ("Service", "Restart"):
                unit.Restart = value switch
                {
                    "no" or "" => RestartPolicy.No,
                    "always" => RestartPolicy.Always,
                    "on-failure" => RestartPolicy.OnFailure,
                    "on-success" => RestartPolicy.OnSuccess,
                    "on-abnormal" => RestartPolicy.OnAbnormal,
                    "on-abort" => RestartPolicy.OnAbort,
                    _ => throw new FormatException($"unknown restart setting \"{value}\""),
                };
                return true;
            case ("Service", "RestartSec"):
                unit.RestartSec = TimeSpans.Parse(value);
                return true;
            case ("Service", "TimeoutStartSec"):
                unit.TimeoutStart = Timeout(value);
                return true;
            case ("Service", "TimeoutStopSec"):
                unit.TimeoutStop = Timeout(value);
                return true;
            case ("Service", "TimeoutSec"):
                unit.TimeoutStart = unit.TimeoutStop = Timeout(value);
                return true;
            case ("Service", "KillSignal"):
                unit.KillSignal = Signals.Parse(value);
                return true;
            case ("Service", "SyslogIdentifier"):
                unit.SyslogIdentifier = value.Length == 0 ? null : value;
                return true;
            case ("Install", "WantedBy"):
                unit.HasInstallSection = true;
                AddNames(unit.WantedBy, value);
                return true;
            case ("Install", "RequiredBy"):
                unit.HasInstallSection = true;
                AddNames(unit.RequiredBy, value);
                return true;
            case ("Install", "Alias"):
                unit.HasInstallSection = true;
                AddNames(unit.Alias, value);
                return true;
            case ("Install", "Also"):
                unit.HasInstallSection = true;
                AddNames(unit.Also, value);
                return true;
            default:
                return false;
        }
    }

    /// <summary>A timeout setting: 0 and infinity both disable it, as in systemd.</summary>
    private static TimeSpan Timeout(string value)
    {
        TimeSpan span = TimeSpans.Parse(value);
        return span == TimeSpan.Zero ? System.Threading.Timeout.InfiniteTimeSpan : span;
    }

    private static T Bad<T>(UnitDefinition unit, string message, T fallback)
    {
        unit.LoadState = "bad-setting";
        unit.LoadError ??= message;
        return fallback;
    }

    private static bool Exec(List<ExecCommand> list, string value)
    {
        if (value.Length == 0)
        {
            list.Clear();
            return true;
        }

        list.AddRange(ExecCommand.Parse(value));
        return true;
    }

    private static void AddNames(List<string> list, string value)
    {
        if (value.Length == 0)
        {
            list.Clear();
            return;
        }

        foreach (string name in value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!UnitNames.IsValid(name))
            {
                throw new FormatException($"invalid unit name \"{name}\"");
            }

            if (!list.Contains(name))
            {
                list.Add(name);
            }
        }
    }

    private static bool Boolean(string value) => value.ToLowerInvariant() switch
    {
        "1" or "yes" or "y" or "true" or "t" or "on" => true,
        "0" or "no" or "n" or "false" or "f" or "off" => false,
        _ => throw new FormatException($"not a boolean: \"{value}\""),
    };

    private static void Validate(UnitDefinition unit)
    {
        if (unit.LoadState != "loaded" || unit.Kind != UnitKind.Service)
        {
            return;
        }

        string? error = null;
        if (unit.User is { } user && user is not ("root" or "0"))
        {
            error = $"User={user} is not supported by this manager (services run as root only)";
        }
        else if (unit.ExecStart.Count == 0)
        {
            error = "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.";
        }
        else if (unit.ExecStart.Count > 1 && unit.Type != ServiceType.Oneshot)
        {
            error = "Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.";
        }
        else if (unit.WorkingDirectory is { } cwd && cwd != "~" && !cwd.StartsWith('/'))
        {
            error = $"WorkingDirectory={cwd} is not an absolute path. Refusing.";
        }

        if (error is not null)
        {
            unit.LoadState = "bad-setting";
            unit.LoadError = error;
        }
    }

    private static string BuiltinDescription(string name) => name switch
    {
        "multi-user.target" => "Multi-User System",
        "network.target" => "Network",
        "network-online.target" => "Network is Online",
        "basic.target" => "Basic System",
        _ => UnitNames.WithoutSuffix(name),
    };
}
