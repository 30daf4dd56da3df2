using System.Security.Cryptography;
using System.Text;
using Platform.CloudInit.Config;
using Platform.CloudInit.Substitution;
using Platform.CloudInit.Validation;

namespace Platform.CloudInit.Apply;

/// <summary>Applies cloud-configs and scripts to a target system.</summary>
public interface ICloudConfigApplier
{
    /// <summary>
    /// Applies <paramref name="config"/> in coreos-cloudinit's order: hostname, users, SSH keys,
    /// files (write_files, /etc/oem-release, /etc/coreos/update.conf, /etc/hosts,
    /// /run/flannel/options.env), /etc/environment, units and drop-ins, then unit commands.
    /// Stops at the first failure.
    /// </summary>
    /// <returns>The actions taken (or, in dry-run, that would be taken), in order.</returns>
    /// <exception cref="ApplyException">A step failed; earlier steps stay applied.</exception>
    public Task<IReadOnlyList<ApplyAction>> ApplyAsync(CloudConfig config, Substitutions substitutions, CancellationToken cancellationToken);

    /// <summary>Saves a <c>#!</c> script in the workspace and runs it; returns the actions.</summary>
    public Task<IReadOnlyList<ApplyAction>> RunScriptAsync(string script, CancellationToken cancellationToken);
}

/// <summary>Creates <see cref="ICloudConfigApplier"/>s.</summary>
public static class CloudConfigApplier
{
    public static ICloudConfigApplier Create(ApplyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new Applier(options);
    }
}

internal sealed class Applier : ICloudConfigApplier
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode0744 = Mode0700 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const string DropInName = "20-cloudinit.conf";

    private readonly ApplyOptions _options;

    public Applier(ApplyOptions options)
    {
        _options = options;
    }

    public async Task<IReadOnlyList<ApplyAction>> ApplyAsync(CloudConfig config, Substitutions substitutions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(substitutions);
        var actions = new List<ApplyAction>();
        var fs = new TargetFileSystem(_options.Root, _options.DryRun, actions);

        if (config.Hostname.Length > 0)
        {
            actions.Add(new ApplyAction("hostname", config.Hostname, string.Empty));
            if (!_options.DryRun)
            {
                await _options.Hostname.SetAsync(config.Hostname, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (User user in config.Users)
        {
            await ApplyUserAsync(user, fs, actions, cancellationToken).ConfigureAwait(false);
        }

        if (config.SshAuthorizedKeys.Count > 0)
        {
            AuthorizeKeys("core", config.SshAuthorizedKeys, fs);
        }

        var files = new List<WriteFile>(config.WriteFiles);
        AddGeneratedFiles(config, fs, files);
        bool wroteEnvironment = false;
        foreach (WriteFile file in files)
        {
            WriteOne(file, fs);
            if (Rules.CleanPath(file.Path) == "/etc/environment" || Rules.CleanPath("/" + file.Path) == "/etc/environment")
            {
                wroteEnvironment = true;
            }
        }

        if (!wroteEnvironment)
        {
            MergeEnvironmentFile(substitutions, fs);
        }

        await ProcessUnitsAsync(CollectUnits(config), fs, actions, cancellationToken).ConfigureAwait(false);
        return actions;
    }

    public async Task<IReadOnlyList<ApplyAction>> RunScriptAsync(string script, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(script);
        var actions = new List<ApplyAction>();
        var fs = new TargetFileSystem(_options.Root, _options.DryRun, actions);
        byte[] bytes = Encoding.UTF8.GetBytes(script);

        // Named by content so a rerun on the next boot replaces rather than accumulates.
        string name = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
        string scripts = _options.Workspace.TrimEnd('/') + "/scripts";
        string path = $"{scripts}/{name}";
        fs.Write(path, bytes, Mode0744);
        actions.Add(new ApplyAction("script", path, string.Empty));
        if (!_options.DryRun)
        {
            string unit = await _options.Scripts.RunAsync(path, cancellationToken).ConfigureAwait(false);
            fs.Write($"{scripts}/unit-name", Encoding.UTF8.GetBytes(unit), Mode0644);
        }

        return actions;
    }

    private async Task ApplyUserAsync(User user, TargetFileSystem fs, List<ApplyAction> actions, CancellationToken cancellationToken)
    {
        if (user.Name.Length == 0)
        {
            actions.Add(new ApplyAction("skip", "user", "User object has no 'name' field, skipping"));
            return;
        }

        if (_options.Users.Find(user.Name) is not null)
        {
            if (user.PasswordHash.Length > 0)
            {
                actions.Add(new ApplyAction("passwd", user.Name, string.Empty));
                if (!_options.DryRun)
                {
                    await _options.Users.SetPasswordAsync(user.Name, user.PasswordHash, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        else
        {
            actions.Add(new ApplyAction("useradd", user.Name, string.Join(' ', UserAddArguments(user))));
            if (!_options.DryRun)
            {
                await _options.Users.CreateAsync(user, cancellationToken).ConfigureAwait(false);
            }
        }

        if (user.SshAuthorizedKeys.Count > 0)
        {
            AuthorizeKeys(user.Name, user.SshAuthorizedKeys, fs);
        }

        if (user.SshImportGithubUser.Length > 0 || user.SshImportGithubUsers.Count > 0 || user.SshImportUrl.Length > 0)
        {
            // Deprecated in coreos-cloudinit for its flakiness; a build tree must not depend on the network.
            actions.Add(new ApplyAction("skip", user.Name, "coreos_ssh_import_* is deprecated and not supported"));
        }
    }

    /// <summary>The useradd arguments coreos-cloudinit passes (system/user.go), for the record.</summary>
    internal static List<string> UserAddArguments(User user)
    {
        var args = new List<string> { "--password", user.PasswordHash.Length > 0 ? "<hash>" : "*" };
        if (user.Gecos.Length > 0)
        {
            args.AddRange(["--comment", user.Gecos]);
        }

        if (user.Homedir.Length > 0)
        {
            args.AddRange(["--home-dir", user.Homedir]);
        }

        args.Add(user.NoCreateHome ? "--no-create-home" : "--create-home");
        if (user.PrimaryGroup.Length > 0)
        {
            args.AddRange(["--gid", user.PrimaryGroup]);
        }

        if (user.Groups.Count > 0)
        {
            args.AddRange(["--groups", string.Join(',', user.Groups)]);
        }

        if (user.NoUserGroup)
        {
            args.Add("--no-user-group");
        }

        if (user.System)
        {
            args.Add("--system");
        }

        if (user.NoLogInit)
        {
            args.Add("--no-log-init");
        }

        if (user.Shell.Length > 0)
        {
            args.AddRange(["--shell", user.Shell]);
        }

        args.Add(user.Name);
        return args;
    }

    /// <summary>
    /// As CoreOS's update-ssh-keys: the keys go to <c>~/.ssh/authorized_keys.d/&lt;name&gt;</c> and
    /// <c>~/.ssh/authorized_keys</c> is regenerated from every file there, in name order.
    /// </summary>
    private void AuthorizeKeys(string userName, IReadOnlyList<string> keys, TargetFileSystem fs)
    {
        Account account = _options.Users.Find(userName)
            ?? (_options.DryRun ? new Account(userName, 0, 0, "/home/" + userName) : throw new ApplyException($"Failed to authorize SSH keys: user '{userName}' does not exist"));
        string ssh = account.Home.TrimEnd('/') + "/.ssh";
        string keysDir = ssh + "/authorized_keys.d";
        fs.CreateDirectory(ssh, Mode0700, account.Uid, account.Gid);
        fs.CreateDirectory(keysDir, Mode0700, account.Uid, account.Gid);
        string owner = $"{account.Uid}:{account.Gid}";
        fs.Write($"{keysDir}/{_options.SshKeyName}", Encoding.UTF8.GetBytes(string.Concat(keys.Select(k => k.Trim() + "\n"))), Mode0600, owner);

        var all = new StringBuilder();
        string hostDir = fs.HostPath(keysDir);
        IEnumerable<string> entries = Directory.Exists(hostDir)
            ? Directory.GetFiles(hostDir).Select(Path.GetFileName).OfType<string>().Where(n => !n.StartsWith("cloudinit-temp", StringComparison.Ordinal))
            : [];
        if (_options.DryRun)
        {
            entries = entries.Append(_options.SshKeyName).Distinct();
        }

        foreach (string entry in entries.Order(StringComparer.Ordinal))
        {
            byte[]? content = entry == _options.SshKeyName && _options.DryRun
                ? Encoding.UTF8.GetBytes(string.Concat(keys.Select(k => k.Trim() + "\n")))
                : fs.TryRead($"{keysDir}/{entry}");
            if (content is not null)
            {
                all.Append(Encoding.UTF8.GetString(content));
            }
        }

        fs.Write($"{ssh}/authorized_keys", Encoding.UTF8.GetBytes(all.ToString()), Mode0600, owner);
    }

    private void AddGeneratedFiles(CloudConfig config, TargetFileSystem fs, List<WriteFile> files)
    {
        OemConfig oem = config.CoreOS.Oem;
        if (oem.Id.Length > 0)
        {
            files.Add(new WriteFile
            {
                Path = "/etc/oem-release",
                Permissions = "0644",
                Content = $"ID={oem.Id}\nVERSION_ID={oem.VersionId}\nNAME={GoQuote(oem.Name)}\nHOME_URL={GoQuote(oem.HomeUrl)}\nBUG_REPORT_URL={GoQuote(oem.BugReportUrl)}\n",
            });
        }

        if (!config.CoreOS.Update.IsEmpty)
        {
            files.Add(new WriteFile { Path = "/etc/coreos/update.conf", Permissions = "0644", Content = UpdateConf(config.CoreOS.Update, fs) });
        }

        if (config.ManageEtcHosts.Length > 0)
        {
            if (config.ManageEtcHosts != "localhost")
            {
                throw new ApplyException("Invalid option to manage_etc_hosts");
            }

            string hostname = config.Hostname.Length > 0 ? config.Hostname : _options.Hostname.Current();
            files.Add(new WriteFile { Path = "/etc/hosts", Permissions = "0644", Content = $"127.0.0.1 {hostname}\n" });
        }

        if (!config.CoreOS.Flannel.IsEmpty)
        {
            // Joined without a final newline, byte for byte as coreos-cloudinit writes it.
            files.Add(new WriteFile
            {
                Path = "/run/flannel/options.env",
                Permissions = "0644",
                Content = string.Join('\n', config.CoreOS.Flannel.Settings.Select(s => $"{s.Env}={s.Value}")),
            });
        }
    }

    /// <summary>
    /// /etc/coreos/update.conf rewritten from itself (or /usr/share/coreos/update.conf): lines of set
    /// keys are replaced in place, keys not present are appended in name order.
    /// </summary>
    private static string UpdateConf(UpdateConfig update, TargetFileSystem fs)
    {
        UpdateConfig checkedUpdate = update;
        if (checkedUpdate.RebootStrategy.Length > 0 && checkedUpdate.RebootStrategy is not ("etcd-lock" or "reboot" or "off"))
        {
            throw new ApplyException($"invalid value \"{checkedUpdate.RebootStrategy}\" for option \"RebootStrategy\" (valid options: \"^(etcd-lock|reboot|off)$\")");
        }

        var pending = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (update.RebootStrategy.Length > 0)
        {
            pending["REBOOT_STRATEGY"] = update.RebootStrategy;
        }

        if (update.Group.Length > 0)
        {
            pending["GROUP"] = update.Group;
        }

        if (update.Server.Length > 0)
        {
            pending["SERVER"] = update.Server;
        }

        byte[] existing = fs.TryRead("/etc/coreos/update.conf") ?? fs.TryRead("/usr/share/coreos/update.conf") ?? [];
        var sb = new StringBuilder();
        string text = Encoding.UTF8.GetString(existing);
        if (text.Length > 0)
        {
            foreach (string line in text.TrimEnd('\n').Split('\n'))
            {
                string? key = pending.Keys.FirstOrDefault(k => line.StartsWith(k, StringComparison.Ordinal));
                if (key is not null)
                {
                    sb.Append(key).Append('=').Append(pending[key]).Append('\n');
                    pending.Remove(key);
                }
                else
                {
                    sb.Append(line).Append('\n');
                }
            }
        }

        foreach (KeyValuePair<string, string> entry in pending)
        {
            sb.Append(entry.Key).Append('=').Append(entry.Value).Append('\n');
        }

        return sb.ToString();
    }

    private static void WriteOne(WriteFile file, TargetFileSystem fs)
    {
        byte[] raw = file.ContentBytes ?? Encoding.UTF8.GetBytes(file.Content);
        if (!ContentDecoder.TryDecode(raw, file.Encoding, out byte[] content, out string? error))
        {
            throw new ApplyException($"Unable to decode {file.Path} ({error})");
        }

        UnixFileMode mode = Mode0644;
        if (file.Permissions.Length > 0)
        {
            try
            {
                mode = (UnixFileMode)Convert.ToInt32(file.Permissions, 8);
            }
            catch (FormatException)
            {
                throw new ApplyException("Unable to parse file permissions as octal integer");
            }
        }

        fs.Write(file.Path, content, mode, file.Owner);
    }

    /// <summary>/etc/environment: COREOS_* values merged in, other lines kept, new keys appended sorted.</summary>
    private static void MergeEnvironmentFile(Substitutions substitutions, TargetFileSystem fs)
    {
        IReadOnlyList<KeyValuePair<string, string>> vars = substitutions.EnvironmentVariables();
        if (vars.Count == 0)
        {
            return;
        }

        byte[] old = fs.TryRead("/etc/environment") ?? [];
        string text = Encoding.UTF8.GetString(old);
        var pending = vars.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var sb = new StringBuilder();
        if (text.Length > 0)
        {
            foreach (string line in (text.EndsWith('\n') ? text[..^1] : text).Split('\n'))
            {
                string bare = line.TrimEnd('\r');
                int equals = bare.IndexOf('=', StringComparison.Ordinal);
                string key = equals > 0 ? bare[..equals] : string.Empty;
                if (key.Length > 0 && pending.Remove(key, out string? value))
                {
                    sb.Append(key).Append('=').Append(value).Append('\n');
                }
                else
                {
                    sb.Append(bare).Append('\n');
                }
            }
        }

        foreach (KeyValuePair<string, string> entry in pending.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sb.Append(entry.Key).Append('=').Append(entry.Value).Append('\n');
        }

        byte[] merged = Encoding.UTF8.GetBytes(sb.ToString());
        if (!merged.AsSpan().SequenceEqual(old))
        {
            fs.Write("/etc/environment", merged, Mode0644);
        }
    }

    /// <summary>User units, then the drop-ins and units the coreos sections turn into.</summary>
    private static List<Unit> CollectUnits(CloudConfig config)
    {
        var units = new List<Unit>(config.CoreOS.Units);
        AddEnvDropIn(units, "etcd.service", config.CoreOS.Etcd);
        AddEnvDropIn(units, "etcd2.service", config.CoreOS.Etcd2);
        AddEnvDropIn(units, "fleet.service", config.CoreOS.Fleet);
        AddEnvDropIn(units, "locksmithd.service", config.CoreOS.Locksmith);

        UpdateConfig update = config.CoreOS.Update;
        if (update.RebootStrategy.Length > 0)
        {
            bool off = update.RebootStrategy == "off";
            units.Add(new Unit { Name = "locksmithd.service", Command = off ? "stop" : "restart", Mask = off, Runtime = true });
        }

        if (update.Group.Length > 0 || update.Server.Length > 0)
        {
            units.Add(new Unit { Name = "update-engine.service", Command = "restart" });
        }

        return units;
    }

    // coreos-cloudinit always emits these runtime units, and writes the drop-in only when the
    // section has a value; the empty unit still makes it unmask a runtime-masked service.
    private static void AddEnvDropIn(List<Unit> units, string name, EnvSection section)
    {
        string content = section.IsEmpty
            ? string.Empty
            : "[Service]\n" + string.Concat(section.Settings.Select(s => $"Environment=\"{s.Env}={s.Value}\"\n"));
        units.Add(new Unit { Name = name, Runtime = true, DropIns = [new UnitDropIn(DropInName, content)] });
    }

    private async Task ProcessUnitsAsync(List<Unit> units, TargetFileSystem fs, List<ApplyAction> actions, CancellationToken cancellationToken)
    {
        var commands = new List<(string Unit, string Command)>();
        bool reload = false;
        bool restartNetworkd = false;
        foreach (Unit unit in units)
        {
            if (unit.Name.Length == 0)
            {
                actions.Add(new ApplyAction("skip", "unit", "Skipping unit without name"));
                continue;
            }

            string directory = $"/{(unit.Runtime ? "run" : "etc")}/systemd/{unit.Group}";
            string destination = $"{directory}/{unit.Name}";
            if (unit.Content.Length > 0)
            {
                fs.Write(destination, Encoding.UTF8.GetBytes(unit.Content), Mode0644);
                reload = true;
            }

            foreach (UnitDropIn dropIn in unit.DropIns)
            {
                if (dropIn.Name.Length > 0 && dropIn.Content.Length > 0)
                {
                    fs.Write($"{destination}.d/{dropIn.Name}", Encoding.UTF8.GetBytes(dropIn.Content), Mode0644);
                    reload = true;
                }
            }

            if (unit.Mask)
            {
                fs.Symlink(destination, "/dev/null");
            }
            else if (unit.Runtime && fs.IsNullOrEmpty(destination, out bool exists) && exists)
            {
                fs.Remove(destination);
            }

            if (unit.Enable)
            {
                if (unit.Group != "network")
                {
                    actions.Add(new ApplyAction("systemctl", unit.Name, unit.Runtime ? "enable --runtime" : "enable"));
                    if (!_options.DryRun)
                    {
                        await _options.Systemctl.EnableAsync(unit, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (unit.Group == "network")
            {
                restartNetworkd = true;
            }
            else if (unit.Command.Length > 0)
            {
                commands.Add((unit.Name, unit.Command));
            }
        }

        if (reload)
        {
            await RunAsync("daemon-reload", string.Empty, actions, cancellationToken).ConfigureAwait(false);
        }

        if (restartNetworkd)
        {
            await RunAsync("restart", "systemd-networkd.service", actions, cancellationToken).ConfigureAwait(false);
        }

        foreach ((string unit, string command) in commands)
        {
            await RunAsync(command, unit, actions, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(string command, string unit, List<ApplyAction> actions, CancellationToken cancellationToken)
    {
        actions.Add(new ApplyAction("systemctl", unit.Length == 0 ? command : unit, unit.Length == 0 ? string.Empty : command));
        if (_options.DryRun)
        {
            return;
        }

        if (command == "daemon-reload")
        {
            await _options.Systemctl.DaemonReloadAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _options.Systemctl.RunAsync(command, unit, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Go's %q for plain text: double quotes, backslash escapes for quote, backslash and controls.</summary>
    private static string GoQuote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }
}
