using System.Globalization;
using Platform.Common.Flags;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Pods;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// The flags <c>rkt run</c> and <c>rkt prepare</c> share (<c>Documentation/subcommands/run.md</c>): pod
/// flags before the first image, then per image its own flags (<c>--exec</c>, <c>--name</c>, <c>--user</c>,
/// ...), its arguments after <c>--</c>, and <c>---</c> before the next image.
/// </summary>
internal sealed class PodRunFlags
{
    private static readonly HashSet<string> s_appValueFlags =
    [
        "exec", "name", "user", "group", "working-dir", "mount", "caps-retain", "caps-remove", "memory", "cpu",
        "environment", "signature", "supplementary-gids", "user-annotation", "user-label", "stdin", "stdout", "stderr",
        "seccomp", "oom-score-adjust",
    ];

    private static readonly HashSet<string> s_appBoolFlags = ["readonly-rootfs"];

    private Flag<IReadOnlyList<string>> _volume = null!;
    private Flag<IReadOnlyList<string>> _net = null!;
    private Flag<IReadOnlyList<string>> _port = null!;
    private Flag<IReadOnlyList<string>> _dns = null!;
    private Flag<IReadOnlyList<string>> _dnsSearch = null!;
    private Flag<IReadOnlyList<string>> _dnsOpt = null!;
    private Flag<string> _dnsDomain = null!;
    private Flag<string> _hostname = null!;
    private Flag<IReadOnlyList<string>> _hostsEntry = null!;
    private readonly List<string> _setEnvWhole = [];
    private Flag<string> _setEnvFile = null!;
    private Flag<bool> _inheritEnv = null!;
    private Flag<bool> _interactive = null!;
    private Flag<string> _stage1Name = null!;
    private Flag<string> _stage1Path = null!;
    private Flag<string> _stage1Url = null!;
    private Flag<string> _uuidFileSave = null!;
    private Flag<bool> _mdsRegister = null!;
    private Flag<string> _pullPolicy = null!;
    private Flag<bool> _noOverlay = null!;
    private Flag<IReadOnlyList<string>> _podCapsRetain = null!;
    private Flag<IReadOnlyList<string>> _podCapsRemove = null!;

    public void Define(FlagSet flags)
    {
        _volume = flags.StringList("volume", [], "volumes to mount into the pod: NAME,kind=host|empty,source=PATH,readOnly=BOOL,recursive=BOOL");
        _net = flags.StringList("net", ["default"], "configure the pod's networking: default, default-restricted, host, none, or named networks with args");
        _port = flags.StringList("port", [], "ports to expose on the host (requires contained network): NAME:[IP:]HOSTPORT");
        _dns = flags.StringList("dns", [], "name servers to write in /etc/resolv.conf (\"host\" copies the host's)");
        _dnsSearch = flags.StringList("dns-search", [], "DNS search domains to write in /etc/resolv.conf");
        _dnsOpt = flags.StringList("dns-opt", [], "DNS options to write in /etc/resolv.conf");
        _dnsDomain = flags.String("dns-domain", string.Empty, "DNS domain to write in /etc/resolv.conf");
        _hostname = flags.String("hostname", string.Empty, "pod's hostname (default rkt-$UUID)");
        _hostsEntry = flags.StringList("hosts-entry", [], "entries to add to the pod-wide /etc/hosts: IP=HOSTNAME, or \"host\"");
        // Declared for usage and errors only: CommandLine hands every occurrence over whole (IWholeValueFlags).
        _ = flags.StringList("set-env", [], "environment variable to set for apps: NAME=VALUE (repeat the flag for several; a value may contain commas)");
        _setEnvFile = flags.String("set-env-file", string.Empty, "path to an environment variables file (NAME=VALUE lines)");
        _inheritEnv = flags.Bool("inherit-env", false, "inherit all environment variables not set by apps");
        _interactive = flags.Bool("interactive", false, "run pod interactively (one app, stdin/stdout/stderr of rkt)");
        _stage1Name = flags.String("stage1-name", string.Empty, "stage1 to use: default or fly (rkt's stage1 image names are understood)");
        _stage1Path = flags.String("stage1-path", string.Empty, "stage1 to use, by path (its file name selects the flavor)");
        _stage1Url = flags.String("stage1-url", string.Empty, "stage1 to use, by URL (its file name selects the flavor)");
        _uuidFileSave = flags.String("uuid-file-save", string.Empty, "write out the pod UUID to the specified file");
        _mdsRegister = flags.Bool("mds-register", false, "register pod with the metadata service");
        _pullPolicy = flags.String("pull-policy", "new", "when to pull images: never, new or update");
        _noOverlay = flags.Bool("no-overlay", false, "disable overlay filesystem (accepted; overlay is always used)");
        _podCapsRetain = flags.StringList("caps-retain", [], "capabilities to retain (for every app given before the first image)");
        _podCapsRemove = flags.StringList("caps-remove", [], "capabilities to remove (for every app given before the first image)");
    }

    public string UuidFileSave => _uuidFileSave.Value;

    public bool Interactive => _interactive.Value;

    /// <summary>Pod flags taken whole per occurrence (see <see cref="IWholeValueFlags"/>).</summary>
    public static IReadOnlyCollection<string> WholeValueFlagNames { get; } = ["set-env"];

    /// <summary>One <c>--set-env</c> occurrence, as given.</summary>
    public void AddWholeValue(string name, string value)
    {
        if (name == "set-env")
        {
            _setEnvWhole.Add(value);
        }
    }

    /// <summary>Parses the images with their flags, fetches them, and builds the pod spec.</summary>
    public async Task<PodSpec> BuildAsync(CommandContext context, IReadOnlyList<string> raw, CancellationToken cancellationToken)
    {
        List<RawApp> apps = ParseApps(raw);
        if (apps.Count == 0)
        {
            throw new CommandException("must provide at least one image");
        }

        _ = _noOverlay.Value;
        PullPolicy policy = FetchCommand.ParsePullPolicy(_pullPolicy.Value);
        var specs = new List<AppSpec>();
        foreach (RawApp app in apps)
        {
            string? signature = app.Values.TryGetValue("signature", out List<string>? s) ? s[^1] : null;
            IImageFetcher fetcher = context.CreateFetcher(policy, signature);
            ImageInfo info = await fetcher.FetchAsync(app.Image, cancellationToken).ConfigureAwait(false);
            specs.Add(new AppSpec
            {
                ImageId = info.Id,
                Name = Last(app, "name"),
                Exec = Last(app, "exec"),
                Args = app.Args,
                User = Last(app, "user"),
                Group = Last(app, "group"),
                SupplementaryGids = Last(app, "supplementary-gids") is { } gids ? gids.Split(',').Select(g => int.Parse(g, CultureInfo.InvariantCulture)).ToList() : null,
                WorkingDirectory = Last(app, "working-dir"),
                Mounts = All(app, "mount").Select(ParseMount).ToList(),
                CapsRetain = Last(app, "caps-retain")?.Split(',') ?? (_podCapsRetain.Value.Count > 0 ? _podCapsRetain.Value : null),
                CapsRemove = Last(app, "caps-remove")?.Split(',') ?? (_podCapsRemove.Value.Count > 0 ? _podCapsRemove.Value : null),
                Memory = Last(app, "memory"),
                Cpu = Last(app, "cpu"),
                ReadOnlyRootfs = app.ReadOnlyRootfs,
                Environment = All(app, "environment").Select(e => ParseKeyValue(e, "--environment")).ToList(),
            });
        }

        var env = new List<KeyValuePair<string, string>>();
        if (_setEnvFile.Value.Length > 0)
        {
            foreach (string line in File.ReadAllLines(_setEnvFile.Value))
            {
                if (line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
                {
                    env.Add(ParseKeyValue(line.Trim(), "--set-env-file"));
                }
            }
        }

        // rkt's envMap: each --set-env occurrence whole (a value may hold commas), a name only once.
        var explicitNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (string item in _setEnvWhole)
        {
            KeyValuePair<string, string> pair = ParseKeyValue(item, "--set-env");
            if (!explicitNames.Add(pair.Key))
            {
                throw new CommandException($"invalid --set-env \"{item}\": environment variable \"{pair.Key}\" already set");
            }

            env.Add(pair);
        }

        string stage1 = _stage1Name.Value.Length > 0 ? _stage1Name.Value
            : _stage1Path.Value.Length > 0 ? Path.GetFileName(_stage1Path.Value)
            : _stage1Url.Value.Length > 0 ? _stage1Url.Value
            : Stage1Flavors.DefaultName;
        return new PodSpec
        {
            Apps = specs,
            Volumes = ParseVolumes(_volume.Value),
            Hostname = _hostname.Value.Length > 0 ? _hostname.Value : null,
            Dns = _dns.Value,
            DnsSearch = _dnsSearch.Value,
            DnsOptions = _dnsOpt.Value,
            DnsDomain = _dnsDomain.Value.Length > 0 ? _dnsDomain.Value : null,
            HostsEntries = _hostsEntry.Value,
            SetEnvironment = env,
            InheritEnvironment = _inheritEnv.Value,
            Interactive = _interactive.Value,
            Stage1 = Stage1Flavors.Normalize(stage1),
            Net = string.Join(',', _net.Value),
            Ports = _port.Value,
            MdsRegister = _mdsRegister.Value,
        };
    }

    /// <summary>Splits <c>IMAGE [--flag[=v]]... [-- ARGS...] [---] IMAGE ...</c>.</summary>
    internal static List<RawApp> ParseApps(IReadOnlyList<string> raw)
    {
        var apps = new List<RawApp>();
        RawApp? current = null;
        for (int i = 0; i < raw.Count; i++)
        {
            string arg = raw[i];
            if (arg == "---")
            {
                current = null;
                continue;
            }

            if (arg == "--")
            {
                if (current is null)
                {
                    throw new CommandException("\"--\" before any image");
                }

                for (i++; i < raw.Count && raw[i] != "---"; i++)
                {
                    current.Args.Add(raw[i]);
                }

                current = null;
                continue;
            }

            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                if (current is null)
                {
                    throw new CommandException($"flag {arg} must follow an image (pod flags go before the first image)");
                }

                string body = arg[2..];
                int eq = body.IndexOf('=', StringComparison.Ordinal);
                string name = eq < 0 ? body : body[..eq];
                if (s_appBoolFlags.Contains(name))
                {
                    current.ReadOnlyRootfs = eq < 0 || body[(eq + 1)..] is "true" or "1" or "t";
                    continue;
                }

                if (!s_appValueFlags.Contains(name))
                {
                    throw new CommandException($"unknown flag for an image: {arg}");
                }

                string value;
                if (eq >= 0)
                {
                    value = body[(eq + 1)..];
                }
                else if (i + 1 < raw.Count)
                {
                    value = raw[++i];
                }
                else
                {
                    throw new CommandException($"flag needs an argument: {arg}");
                }

                if (!current.Values.TryGetValue(name, out List<string>? list))
                {
                    current.Values[name] = list = [];
                }

                list.Add(value);
                continue;
            }

            current = new RawApp(arg);
            apps.Add(current);
        }

        return apps;
    }

    internal static List<Volume> ParseVolumes(IReadOnlyList<string> items)
    {
        var volumes = new List<Volume>();
        foreach (string item in RegroupVolumes(items))
        {
            string[] parts = item.Split(',');
            var volume = new Volume { Name = parts[0] };
            foreach (string part in parts.Skip(1))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new CommandException($"invalid --volume \"{item}\": \"{part}\" is not KEY=VALUE");
                }

                string key = part[..eq];
                string value = part[(eq + 1)..];
                switch (key)
                {
                    case "kind":
                        volume.Kind = value;
                        break;
                    case "source":
                        volume.Source = value;
                        break;
                    case "readOnly":
                        volume.ReadOnly = ParseBool(value, item);
                        break;
                    case "recursive":
                        volume.Recursive = ParseBool(value, item);
                        break;
                    case "mode":
                        volume.Mode = value;
                        break;
                    case "uid":
                        volume.Uid = int.Parse(value, CultureInfo.InvariantCulture);
                        break;
                    case "gid":
                        volume.Gid = int.Parse(value, CultureInfo.InvariantCulture);
                        break;
                    default:
                        throw new CommandException($"invalid --volume \"{item}\": unknown key \"{key}\"");
                }
            }

            volumes.Add(volume);
        }

        return volumes;
    }

    private static bool ParseBool(string value, string item) => value switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new CommandException($"invalid --volume \"{item}\": \"{value}\" is not a boolean"),
    };

    /// <summary>The list flag split on commas; a volume starts at an item without <c>=</c>.</summary>
    private static IEnumerable<string> RegroupVolumes(IReadOnlyList<string> items)
    {
        var current = new List<string>();
        foreach (string item in items)
        {
            if (!item.Contains('=', StringComparison.Ordinal) && current.Count > 0)
            {
                yield return string.Join(',', current);
                current.Clear();
            }

            current.Add(item);
        }

        if (current.Count > 0)
        {
            yield return string.Join(',', current);
        }
    }

    private static AppMount ParseMount(string value)
    {
        var mount = new AppMount();
        foreach (string part in value.Split(','))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string v = eq < 0 ? string.Empty : part[(eq + 1)..];
            switch (key)
            {
                case "volume":
                    mount.Volume = v;
                    break;
                case "target":
                    mount.Path = v;
                    break;
                default:
                    throw new CommandException($"invalid --mount \"{value}\": want volume=NAME,target=PATH");
            }
        }

        return mount.Volume.Length > 0 && mount.Path.Length > 0 ? mount : throw new CommandException($"invalid --mount \"{value}\": want volume=NAME,target=PATH");
    }

    private static KeyValuePair<string, string> ParseKeyValue(string text, string flag)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? new(text[..eq], text[(eq + 1)..]) : throw new CommandException($"invalid {flag} \"{text}\": want NAME=VALUE");
    }

    private static string? Last(RawApp app, string name) => app.Values.TryGetValue(name, out List<string>? v) ? v[^1] : null;

    private static List<string> All(RawApp app, string name) => app.Values.TryGetValue(name, out List<string>? v) ? v : [];

    internal sealed class RawApp(string image)
    {
        public string Image { get; } = image;

        public Dictionary<string, List<string>> Values { get; } = new(StringComparer.Ordinal);

        public List<string> Args { get; } = [];

        public bool ReadOnlyRootfs { get; set; }
    }
}
