using Platform.Common.Flags;
using Platform.Rkt.Images.Fetching;

namespace Platform.Rkt.Cli;

/// <summary>rkt's global flags (<c>Documentation/commands.md</c>), accepted before or after the command.</summary>
internal sealed class GlobalOptions
{
    private readonly Flag<string> _dir;
    private readonly Flag<IReadOnlyList<string>> _insecure;
    private readonly Flag<bool> _debug;
    private readonly Flag<bool> _trustKeysFromHttps;
    private readonly Flag<string> _userConfig;
    private readonly Flag<string> _localConfig;
    private readonly Flag<string> _systemConfig;

    public GlobalOptions(FlagSet flags)
    {
        _dir = flags.String("dir", "/var/lib/rkt", "rkt data directory");
        _insecure = flags.StringList("insecure-options", ["none"], $"comma-separated list of security features to disable. Allowed values: {string.Join(", ", InsecureOptionsParser.Names)}");
        _debug = flags.Bool("debug", false, "print out more debug information to stderr");
        _trustKeysFromHttps = flags.Bool("trust-keys-from-https", false, "automatically trust gpg keys fetched from https");
        _userConfig = flags.String("user-config", string.Empty, "user configuration directory");
        _localConfig = flags.String("local-config", "/etc/rkt", "local configuration directory");
        _systemConfig = flags.String("system-config", "/usr/lib/rkt", "system configuration directory");
    }

    public string DataDirectory => _dir.Value;

    public bool Debug => _debug.Value;

    public bool TrustKeysFromHttps => _trustKeysFromHttps.Value;

    public string? UserConfig => _userConfig.Value.Length == 0 ? null : _userConfig.Value;

    public string LocalConfig => _localConfig.Value;

    public string SystemConfig => _systemConfig.Value;

    /// <exception cref="FormatException">An unknown option.</exception>
    public InsecureOptions Insecure => InsecureOptionsParser.Parse(_insecure.Value);

    /// <summary>Global flags that take a value, for finding the command word among leading flags.</summary>
    public static readonly IReadOnlySet<string> ValueFlags = new HashSet<string>(StringComparer.Ordinal)
    {
        "dir", "insecure-options", "user-config", "local-config", "system-config",
    };
}
