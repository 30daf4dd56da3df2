using System.Runtime.Versioning;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.CloudInit.Apply;
using Platform.CloudInit.Config;
using Platform.CloudInit.Datasources;
using Platform.CloudInit.Substitution;
using Platform.CloudInit.UserData;
using Platform.CloudInit.Validation;
using Platform.Common.Flags;
using Platform.Common.Logging;

[assembly: SupportedOSPlatform("linux")]

namespace Platform.CloudInit.Cli;

/// <summary>
/// coreos-cloudinit's main: pick a datasource, fetch, validate, substitute, parse, merge metadata,
/// apply, run a script. Exit codes as coreos-cloudinit: 0 success (and Ignition), 1 failure or any
/// validation entry under --validate, 2 bad usage.
/// </summary>
internal static class CloudInitCommand
{
    internal const string Version = "v1.14.0+platform";

    /// <summary>Test-only: replaces the link-local address the --oem presets point metadata sources at.</summary>
    internal const string MetadataUrlOverrideVariable = "PLATFORM_CLOUDINIT_METADATA_URL";

    /// <summary>Test-only: the file --from-proc-cmdline reads instead of /proc/cmdline.</summary>
    internal const string ProcCmdlineOverrideVariable = "PLATFORM_CLOUDINIT_PROC_CMDLINE";

    /// <summary>Test-only: overall datasource timeout (Go duration), instead of 5m.</summary>
    internal const string DatasourceTimeoutVariable = "PLATFORM_CLOUDINIT_DATASOURCE_TIMEOUT";

    private static readonly string[] s_netconfFormats = ["debian", "digitalocean", "packet", "vmware"];

    private static readonly Dictionary<string, (string Flag, string Value)[]> s_oems = new(StringComparer.Ordinal)
    {
        ["digitalocean"] = [("from-digitalocean-metadata", "http://169.254.169.254/"), ("convert-netconf", "digitalocean")],
        ["ec2-compat"] = [("from-ec2-metadata", "http://169.254.169.254/"), ("from-configdrive", "/media/configdrive")],
        ["rackspace-onmetal"] = [("from-configdrive", "/media/configdrive"), ("convert-netconf", "debian")],
        ["azure"] = [("from-waagent", "/var/lib/waagent")],
        ["gce"] = [("from-gce-metadata", "http://metadata.google.internal/")],
    };

    public static async Task<int> RunAsync(string[] args, IReadOnlyDictionary<string, string> environment, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var flags = new FlagSet("coreos-cloudinit", "COREOS_CLOUDINIT");
        Flag<bool> version = flags.Bool("version", false, "Print the version and exit");
        Flag<bool> ignoreFailure = flags.Bool("ignore-failure", false, "Exits with 0 status in the event of malformed input from user-data");
        var sources = new Dictionary<string, Flag<string>>(StringComparer.Ordinal)
        {
            ["from-file"] = flags.String("from-file", string.Empty, "Read user-data from provided file"),
            ["from-configdrive"] = flags.String("from-configdrive", string.Empty, "Read data from provided cloud-drive directory"),
            ["from-waagent"] = flags.String("from-waagent", string.Empty, "Read data from provided waagent directory"),
            ["from-ec2-metadata"] = flags.String("from-ec2-metadata", string.Empty, "Download EC2 data from the provided url"),
            ["from-gce-metadata"] = flags.String("from-gce-metadata", string.Empty, "Download GCE data from the provided url"),
            ["from-digitalocean-metadata"] = flags.String("from-digitalocean-metadata", string.Empty, "Download DigitalOcean data from the provided url"),
            ["from-url"] = flags.String("from-url", string.Empty, "Download user-data from provided url"),
        };
        Flag<bool> procCmdline = flags.Bool("from-proc-cmdline", false, "Parse /proc/cmdline for 'cloud-config-url=<url>', using the cloud-config served by an HTTP GET to <url>");
        Flag<string> oem = flags.String("oem", string.Empty, "Use the settings specific to the provided OEM");
        Flag<string> convertNetconf = flags.String("convert-netconf", string.Empty, "Read the network config provided in cloud-drive and translate it from the specified format into networkd unit files");
        Flag<string> workspace = flags.String("workspace", "/var/lib/coreos-cloudinit", "Base directory coreos-cloudinit should use to store data");
        Flag<string> sshKeyName = flags.String("ssh-key-name", "coreos-cloudinit", "Add SSH keys to the system with the given name");
        Flag<bool> validate = flags.Bool("validate", false, "Validate the user-data but do not apply it to the system");
        Flag<string> root = flags.String("root", "/", "Apply into this directory tree (an OS image) instead of the running system");
        Flag<bool> dryRun = flags.Bool("dry-run", false, "Print the actions instead of performing them");
        Flag<string> format = flags.String("format", "text", "Output format of the report and actions: text or json");

        FlagParseResult parsed;
        try
        {
            parsed = flags.Parse(args, environment);
        }
        catch (FlagParseException e)
        {
            await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
            await stderr.WriteAsync(flags.Usage()).ConfigureAwait(false);
            return 2;
        }

        if (parsed.HelpRequested)
        {
            await stderr.WriteAsync(flags.Usage()).ConfigureAwait(false);
            return 0;
        }

        if (format.Value is not ("text" or "json"))
        {
            await stderr.WriteLineAsync($"Invalid option to -format: \"{format.Value}\". Supported options: 'text, json'").ConfigureAwait(false);
            return 2;
        }

        using ILoggerFactory loggerFactory = PlatformLogging.CreateFactory(LogLevel.Information);
        ILogger log = loggerFactory.CreateLogger("coreos-cloudinit");
        foreach (string warning in parsed.Warnings)
        {
            log.LogWarning("{Warning}", warning);
        }

        // The --oem presets override the flags they name, as coreos-cloudinit's flag.Set does.
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        if (oem.Value.Length > 0)
        {
            if (!s_oems.TryGetValue(oem.Value, out (string Flag, string Value)[]? preset))
            {
                await stdout.WriteLineAsync($"Invalid option to -oem: \"{oem.Value}\". Supported options: [{string.Join(' ', s_oems.Keys.Select(k => $"\"{k}\""))}]").ConfigureAwait(false);
                return 2;
            }

            string? metadataOverride = environment.GetValueOrDefault(MetadataUrlOverrideVariable);
            foreach ((string flag, string value) in preset)
            {
                overrides[flag] = metadataOverride is not null && value.StartsWith("http://", StringComparison.Ordinal) ? metadataOverride : value;
            }
        }

        if (version.Value)
        {
            await stdout.WriteLineAsync($"coreos-cloudinit {Version}").ConfigureAwait(false);
            return 0;
        }

        string netconf = overrides.GetValueOrDefault("convert-netconf", convertNetconf.Value);
        if (netconf.Length > 0 && !s_netconfFormats.Contains(netconf))
        {
            await stdout.WriteLineAsync($"Invalid option to -convert-netconf: '{netconf}'. Supported options: 'debian, digitalocean, packet, vmware'").ConfigureAwait(false);
            return 2;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var options = new DatasourceOptions
        {
            HttpClient = http,
            ProcCmdlinePath = environment.GetValueOrDefault(ProcCmdlineOverrideVariable, "/proc/cmdline"),
        };
        var datasources = new List<IDatasource>();
        try
        {
            foreach ((string name, Flag<string> flag) in sources)
            {
                string value = overrides.GetValueOrDefault(name, flag.Value);
                if (value.Length > 0)
                {
                    datasources.Add(DatasourceFactory.Create(name, value, options));
                }
            }

            if (procCmdline.Value)
            {
                datasources.Add(DatasourceFactory.Create("from-proc-cmdline", "true", options));
            }
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }

        if (datasources.Count == 0)
        {
            await stdout.WriteLineAsync("Provide at least one of --from-file, --from-configdrive, --from-ec2-metadata, --from-gce-metadata, --from-digitalocean-metadata, --from-waagent, --from-url or --from-proc-cmdline").ConfigureAwait(false);
            return 2;
        }

        TimeSpan timeout = TimeSpan.FromMinutes(5);
        if (environment.TryGetValue(DatasourceTimeoutVariable, out string? timeoutText) && GoDuration.TryParse(timeoutText, out TimeSpan parsedTimeout, out _))
        {
            timeout = parsedTimeout;
        }

        var selector = new DatasourceSelector(TimeProvider.System)
        {
            Timeout = timeout,
            OnCheck = s => log.LogInformation("Checking availability of {Type}", s.Type),
        };
        IDatasource? datasource = await selector.SelectAsync(datasources, cancellationToken).ConfigureAwait(false);
        if (datasource is null)
        {
            log.LogError("No datasources available in time");
            return 1;
        }

        log.LogInformation("Fetching user-data from datasource of type {Type}", datasource.Type);
        DatasourceContent content;
        try
        {
            content = await datasource.FetchAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DatasourceException e)
        {
            log.LogError("Failed fetching user-data from datasource: {Error}", e.Message);
            return 1;
        }

        bool failure = false;
        byte[] userDataBytes = content.UserData;
        try
        {
            userDataBytes = UserDataClassifier.DecompressIfGzip(userDataBytes);
        }
        catch (InvalidDataException e)
        {
            log.LogError("Failed decompressing user-data from datasource: {Error}. Continuing...", e.Message);
            failure = true;
            userDataBytes = [];
        }

        string userData = Encoding.UTF8.GetString(userDataBytes);
        ValidationReport report = CloudConfigValidator.Validate(userData);
        if (validate.Value)
        {
            await stdout.WriteAsync(format.Value == "json" ? report.ToJson() + "\n" : report.ToString()).ConfigureAwait(false);
            return report.ExitCode;
        }

        foreach (ReportEntry entry in report.Entries)
        {
            log.LogWarning("{Entry}", entry.ToString());
        }

        if (netconf.Length > 0)
        {
            log.LogWarning("--convert-netconf={Format}: network configuration conversion is not implemented; skipped", netconf);
        }

        Substitutions substitutions = Substitutions.From(content.Metadata, name => environment.GetValueOrDefault(name));
        string substituted = substitutions.Apply(userData);
        CloudConfig? cloudConfig = null;
        string? script = null;
        switch (UserDataClassifier.Classify(substituted))
        {
            case UserDataKind.Ignition:
                await stdout.WriteAsync(UserDataClassifier.IgnitionDetectedMessage).ConfigureAwait(false);
                return 0;
            case UserDataKind.Script:
                script = substituted;
                break;
            case UserDataKind.CloudConfig:
                CloudConfigParseResult result = CloudConfigParser.Parse(substituted);
                if (result.Error is null)
                {
                    cloudConfig = result.Config;
                }
                else
                {
                    await stdout.WriteLineAsync($"Failed to parse user-data: {result.Error}\nContinuing...").ConfigureAwait(false);
                    failure = true;
                }

                break;
            case UserDataKind.Unknown:
                await stdout.WriteLineAsync("Failed to parse user-data: Unrecognized user-data format\nContinuing...").ConfigureAwait(false);
                failure = true;
                break;
        }

        log.LogInformation("Merging cloud-config from meta-data and user-data");
        CloudConfig merged = Merge(cloudConfig, content.Metadata, log);

        SystemEffects effects = SystemEffects.ForRoot(root.Value);
        ICloudConfigApplier applier = CloudConfigApplier.Create(new ApplyOptions
        {
            Root = root.Value,
            Workspace = workspace.Value,
            SshKeyName = sshKeyName.Value,
            DryRun = dryRun.Value,
            Systemctl = effects.Systemctl,
            Users = effects.Users,
            Hostname = effects.Hostname,
            Scripts = effects.Scripts,
        });

        var actions = new List<ApplyAction>();
        try
        {
            actions.AddRange(await applier.ApplyAsync(merged, substitutions, cancellationToken).ConfigureAwait(false));
        }
        catch (ApplyException e)
        {
            log.LogError("Failed to apply cloud-config: {Error}", e.Message);
            return 1;
        }

        if (script is not null)
        {
            try
            {
                actions.AddRange(await applier.RunScriptAsync(script, cancellationToken).ConfigureAwait(false));
            }
            catch (ApplyException e)
            {
                log.LogError("Failed to run script: {Error}", e.Message);
                return 1;
            }
        }

        await PrintActionsAsync(stdout, actions, effects.RecordedCommands(), dryRun.Value, format.Value == "json").ConfigureAwait(false);
        return failure && !ignoreFailure.Value ? 1 : 0;
    }

    /// <summary>coreos-cloudinit's mergeConfigs: metadata hostname only when user-data has none; metadata keys appended.</summary>
    internal static CloudConfig Merge(CloudConfig? userConfig, Metadata metadata, ILogger log)
    {
        CloudConfig config = userConfig ?? CloudConfig.Empty;
        if (metadata.Hostname.Length > 0)
        {
            if (config.Hostname.Length > 0)
            {
                log.LogWarning("user-data hostname ({UserHostname}) overrides metadata hostname ({MetadataHostname})", config.Hostname, metadata.Hostname);
            }
            else
            {
                config = config with { Hostname = metadata.Hostname };
            }
        }

        if (metadata.SshPublicKeys.Count > 0)
        {
            config = config with { SshAuthorizedKeys = [.. config.SshAuthorizedKeys, .. metadata.SshPublicKeys.Select(k => k.Value)] };
        }

        return config;
    }

    private static async Task PrintActionsAsync(TextWriter stdout, List<ApplyAction> actions, IReadOnlyList<string> recorded, bool dryRun, bool json)
    {
        if (json)
        {
            var document = new
            {
                dryRun,
                actions = actions.Select(a => new { verb = a.Verb, target = a.Target, detail = a.Detail }),
                recorded,
            };
            await stdout.WriteLineAsync(JsonSerializer.Serialize(document, s_json)).ConfigureAwait(false);
            return;
        }

        if (!dryRun && recorded.Count == 0)
        {
            return;
        }

        foreach (ApplyAction action in actions)
        {
            await stdout.WriteLineAsync((dryRun ? "would " : string.Empty) + action).ConfigureAwait(false);
        }

        foreach (string command in recorded)
        {
            await stdout.WriteLineAsync($"recorded: systemctl {command}").ConfigureAwait(false);
        }
    }

    private static readonly JsonSerializerOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static Dictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        return result;
    }
}
