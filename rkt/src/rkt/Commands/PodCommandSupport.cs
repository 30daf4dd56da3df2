using System.Globalization;
using System.Text.RegularExpressions;
using Platform.Rkt.Networking;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary>What the pod commands share: the pod store, networking, the stage1 entry point, error mapping.</summary>
internal static partial class PodCommandSupport
{
    /// <summary>The hidden first argument that makes this executable a pod's stage1 PID 1.</summary>
    public const string Stage1Verb = "__stage1";

    public static PodStore Store(CommandContext context) => new(context.Globals.DataDirectory);

    public static IPodNetworking Networking(CommandContext context) => PodNetworkings.Create(new PodNetworkingOptions
    {
        LocalConfigDir = context.Globals.LocalConfig,
        SystemConfigDir = context.Globals.SystemConfig,
        DataDir = context.Globals.DataDirectory,
    });

    /// <summary>A runner with networking, the stage1 entry point and metadata-service registration.</summary>
    public static PodRunner Runner(CommandContext context, Action<string>? onRunning = null) =>
        new(context.Trees, Networking(context))
        {
            Stage1Command = Stage1Command(),
            OnRunning = onRunning,
            RegisterMetadata = RegisterMetadataAsync,
            UnregisterMetadata = async (uuid, ct) =>
            {
                try
                {
                    using var client = new Platform.Rkt.Metadata.MetadataRegistrationClient();
                    await client.UnregisterPodAsync(Guid.Parse(uuid), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
                {
                    context.Error($"metadata service: could not unregister pod {uuid}: {e.Message}");
                }
            },
        };

    /// <summary>rkt's <c>--mds-register</c>: the pod and each app's image manifest, under a fresh token.</summary>
    private static async Task<string> RegisterMetadataAsync(MetadataRegistration pod, CancellationToken cancellationToken)
    {
        string token = Platform.Rkt.Metadata.MetadataRegistrationClient.NewToken();
        using var client = new Platform.Rkt.Metadata.MetadataRegistrationClient();
        try
        {
            var uuid = Guid.Parse(pod.Uuid);
            System.Net.IPAddress? ip = pod.PodIp is null ? null : System.Net.IPAddress.Parse(pod.PodIp);
            await client.RegisterPodAsync(uuid, token, await File.ReadAllBytesAsync(Platform.Rkt.Stage1.PodLayout.Manifest(pod.PodDirectory), cancellationToken).ConfigureAwait(false), ip, cancellationToken).ConfigureAwait(false);
            foreach (string appInfo in Directory.EnumerateDirectories(Path.Join(pod.PodDirectory, "appsinfo")))
            {
                byte[] manifest = await File.ReadAllBytesAsync(Path.Join(appInfo, "manifest"), cancellationToken).ConfigureAwait(false);
                await client.RegisterAppAsync(uuid, Path.GetFileName(appInfo), manifest, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException)
        {
            throw new PodException($"--mds-register: cannot register with the metadata service (is `rkt metadata-service` running?): {e.Message}", e);
        }

        // Apps reach the service on the host side of their first network (its gateway), as rkt's did.
        string host = pod.Gateway ?? "127.0.0.1";
        return Platform.Rkt.Metadata.MetadataRegistrationClient.MetadataUrl(host, Platform.Rkt.Metadata.MetadataServiceOptions.DefaultPort, token);
    }

    /// <summary>
    /// argv that re-executes this rkt as stage1: the executable itself (NativeAOT or apphost), or
    /// <c>dotnet rkt.dll</c> when run through the host (tests run the build output that way).
    /// </summary>
    public static IReadOnlyList<string> Stage1Command()
    {
        string process = Environment.ProcessPath ?? throw new CommandException("cannot find the rkt executable");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, Path.Combine(AppContext.BaseDirectory, "rkt.dll"), Stage1Verb]
            : [process, Stage1Verb];
    }

    /// <summary>Runs a pod command body; pod and kernel errors become rkt's <c>command: message</c> and exit 254.</summary>
    public static async Task<int> GuardAsync(CommandContext context, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is PodException or Platform.Linux.LinuxException or ArgumentException or NetworkConfigException or CniPluginException)
        {
            context.Error(e.Message);
            return CommandLine.ExitFailure;
        }
    }

    /// <summary>The UUID argument, or the content of <c>--uuid-file</c>.</summary>
    public static IReadOnlyList<string> Uuids(IReadOnlyList<string> args, string uuidFile)
    {
        if (uuidFile.Length > 0)
        {
            return args.Count > 0 ? throw new CommandException("give either a UUID or --uuid-file, not both") : [File.ReadAllText(uuidFile).Trim()];
        }

        return args.Count > 0 ? args : throw new CommandException("must provide a pod UUID");
    }

    /// <summary>Go's duration syntax (<c>1h30m</c>, <c>10s</c>, <c>500ms</c>).</summary>
    public static TimeSpan? TryParseDuration(string text)
    {
        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        MatchCollection parts = DurationPart().Matches(text);
        if (parts.Count == 0 || string.Concat(parts.Select(m => m.Value)) != text)
        {
            return null;
        }

        double ms = 0;
        foreach (Match m in parts)
        {
            double value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ms += m.Groups[2].Value switch
            {
                "ns" => value / 1e6,
                "us" or "µs" => value / 1e3,
                "ms" => value,
                "s" => value * 1e3,
                "m" => value * 60e3,
                _ => value * 3600e3,
            };
        }

        return TimeSpan.FromMilliseconds(ms);
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex DurationPart();
}
