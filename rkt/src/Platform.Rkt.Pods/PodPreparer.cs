using System.Globalization;
using System.Text;
using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>
/// Turns a <see cref="PodSpec"/> into a prepared pod directory: the appc pod manifest (<c>pod</c>), the
/// stage1 plan (users, groups, environment, capabilities, mounts and limits resolved), <c>appsinfo/$app/</c>
/// (<c>treeStoreID</c>, image <c>manifest</c>) and the chosen flavor. Everything that can be wrong with
/// the flags or the images is found here, before anything runs.
/// </summary>
public sealed class PodPreparer
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private readonly IImageStore _images;
    private readonly ITreeStore _trees;

    public PodPreparer(IImageStore images, ITreeStore trees)
    {
        _images = images;
        _trees = trees;
    }

    /// <summary>Writes the pod's files into <paramref name="podDirectory"/> (state <c>prepare</c>, locked by the caller).</summary>
    /// <exception cref="PodException">A flag or image problem; the message says which.</exception>
    public Stage1Plan Prepare(PodSpec spec, string uuid, string podDirectory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Apps.Count == 0)
        {
            throw new PodException("no image specified");
        }

        string flavor = Stage1Flavors.Normalize(spec.Stage1);
        _ = Stage1Flavors.Get(flavor);
        if (flavor == Stage1Flavors.FlyName && spec.Apps.Count != 1)
        {
            throw new PodException("the fly stage1 runs exactly one app per pod");
        }

        if (spec.Interactive && spec.Apps.Count != 1)
        {
            throw new PodException("interactive option only supports one image");
        }

        var manifest = new PodManifest
        {
            Volumes = spec.Volumes.Count == 0 ? null : spec.Volumes.ToList(),
            Annotations = [new Label("coreos.com/rkt/stage1/mutable", "false")],
            UserAnnotations = spec.UserAnnotations?.ToDictionary(),
            UserLabels = spec.UserLabels?.ToDictionary(),
        };
        var plan = new Stage1Plan
        {
            Uuid = uuid,
            Hostname = spec.Hostname ?? "rkt-" + uuid,
            Interactive = spec.Interactive,
            // fly has no namespaces: the app always shares the host's network (rkt ignores --net there).
            Network = flavor == Stage1Flavors.FlyName ? "host" : NetworkMode(spec.Net),
        };
        ValidateVolumes(spec.Volumes);

        foreach (AppSpec appSpec in spec.Apps)
        {
            ImageManifest image = _images.GetManifest(appSpec.ImageId);
            string name = appSpec.Name ?? DefaultAppName(image.Name);
            if (!IsAcName(name))
            {
                throw new PodException($"invalid app name \"{name}\": lowercase letters, digits and '-' only");
            }

            if (manifest.Apps.Any(a => a.Name == name))
            {
                throw new PodException($"error: multiple apps with name {name}; give one of them --name");
            }

            using ITreeLease lease = _trees.Render(appSpec.ImageId);
            App app = CloneApp(image.App) ?? throw new PodException($"image {image.Name} has no app section: nothing to run");
            if (appSpec.Exec is not null)
            {
                app.Exec = [appSpec.Exec];
            }

            app.Exec ??= [];
            app.Exec.AddRange(appSpec.Args);
            if (app.Exec.Count == 0)
            {
                throw new PodException($"app {name} has no exec: give --exec");
            }

            if (!app.Exec[0].StartsWith('/'))
            {
                throw new PodException($"app {name}: exec \"{app.Exec[0]}\" must be an absolute path");
            }

            app.User = appSpec.User ?? app.User;
            app.Group = appSpec.Group ?? app.Group;
            if (appSpec.SupplementaryGids is not null)
            {
                app.SupplementaryGids = appSpec.SupplementaryGids.ToList();
            }

            app.WorkingDirectory = appSpec.WorkingDirectory ?? app.WorkingDirectory;
            var isolators = app.Isolators ?? [];
            long? memory = appSpec.Memory is { } m ? Parse(Quantity.ParseBytes, m) : MemoryFromIsolators(isolators);
            long? cpu = appSpec.Cpu is { } c ? Parse(Quantity.ParseMillicores, c) : CpuFromIsolators(isolators);
            SetIsolator(isolators, "resource/memory", memory is null ? null : $"{{\"limit\":\"{memory.Value.ToString(CultureInfo.InvariantCulture)}\"}}");
            SetIsolator(isolators, "resource/cpu", cpu is null ? null : $"{{\"limit\":\"{cpu.Value.ToString(CultureInfo.InvariantCulture)}m\"}}");
            List<int> caps = Capabilities(appSpec, isolators);
            app.Isolators = isolators.Count == 0 ? null : isolators;

            var runtimeApp = new RuntimeApp
            {
                Name = name,
                Image = new RuntimeImage { Name = image.Name, Id = appSpec.ImageId, Labels = image.Labels },
                App = app,
                ReadOnlyRootFS = appSpec.ReadOnlyRootfs,
                Mounts = appSpec.Mounts.Count == 0 ? null : appSpec.Mounts.ToList(),
            };
            manifest.Apps.Add(runtimeApp);

            string rootfs = lease.RootfsPath;
            (int uid, int gid) = (ResolveId(rootfs, app.User, "passwd", "user", name), ResolveId(rootfs, app.Group, "group", "group", name));
            plan.Apps.Add(new Stage1App
            {
                Name = name,
                TreeRootfs = rootfs,
                Exec = app.Exec,
                Environment = Environment(spec, appSpec, app, name),
                Uid = uid,
                Gid = gid,
                SupplementaryGids = app.SupplementaryGids ?? [],
                WorkingDirectory = string.IsNullOrEmpty(app.WorkingDirectory) ? "/" : app.WorkingDirectory,
                Capabilities = caps,
                NoNewPrivileges = isolators.Any(i => i.Name == "os/linux/no-new-privileges" && i.Value.ValueKind == JsonValueKind.True),
                ReadOnlyRootfs = appSpec.ReadOnlyRootfs,
                Mounts = Mounts(spec, appSpec, image, podDirectory, name),
                MemoryBytes = memory,
                CpuMillicores = cpu,
            });

            string info = PodLayout.AppInfo(podDirectory, name);
            Directory.CreateDirectory(info);
            File.WriteAllText(Path.Join(info, "treeStoreID"), lease.Info.Id);
            File.WriteAllBytes(Path.Join(info, "manifest"), _images.GetManifestBytes(appSpec.ImageId));
            _images.MarkUsed(appSpec.ImageId);
        }

        (plan.Hosts, plan.ResolvConf) = EtcFiles(spec, plan.Hostname);
        Directory.CreateDirectory(Path.Join(podDirectory, "stage1"));
        File.WriteAllText(PodLayout.Stage1Flavor(podDirectory), flavor);
        File.WriteAllBytes(PodLayout.Stage1Plan(podDirectory), plan.ToJson());
        File.WriteAllText(Path.Join(podDirectory, "net"), spec.Net);
        File.WriteAllText(Path.Join(podDirectory, "ports"), string.Join('\n', spec.Ports));
        if (spec.MdsRegister)
        {
            File.WriteAllText(Path.Join(podDirectory, "mds-register"), string.Empty);
        }

        File.WriteAllBytes(PodLayout.Manifest(podDirectory), manifest.ToJson());
        return plan;
    }

    /// <summary><c>/etc/hosts</c> and <c>/etc/resolv.conf</c> contents from the flags (null: keep the image's).</summary>
    internal static (string? Hosts, string? Resolv) EtcFiles(PodSpec spec, string hostname)
    {
        string? hosts;
        if (spec.HostsEntries.Contains("host"))
        {
            hosts = File.Exists("/etc/hosts") ? File.ReadAllText("/etc/hosts") : null;
        }
        else
        {
            var text = new StringBuilder();
            text.Append("127.0.0.1 localhost localhost.localdomain localhost4 localhost4.localdomain4\n");
            text.Append("::1 localhost localhost.localdomain localhost6 localhost6.localdomain6\n");
            text.Append(CultureInfo.InvariantCulture, $"127.0.1.1 {hostname}\n");
            foreach (string entry in spec.HostsEntries)
            {
                int eq = entry.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == entry.Length - 1 || !System.Net.IPAddress.TryParse(entry[..eq], out _))
                {
                    throw new PodException($"invalid --hosts-entry \"{entry}\": want IP=HOSTNAME or \"host\"");
                }

                text.Append(CultureInfo.InvariantCulture, $"{entry[..eq]} {entry[(eq + 1)..]}\n");
            }

            hosts = text.ToString();
        }

        string? resolv = null;
        if (spec.Dns.Contains("host"))
        {
            resolv = File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : null;
        }
        else if (spec.Dns.Count > 0 || spec.DnsSearch.Count > 0 || spec.DnsOptions.Count > 0 || spec.DnsDomain is not null)
        {
            var text = new StringBuilder("# Generated by rkt run\n");
            foreach (string server in spec.Dns)
            {
                if (!System.Net.IPAddress.TryParse(server, out _))
                {
                    throw new PodException($"invalid --dns \"{server}\": not an IP address");
                }

                text.Append(CultureInfo.InvariantCulture, $"nameserver {server}\n");
            }

            if (spec.DnsDomain is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"domain {spec.DnsDomain}\n");
            }

            if (spec.DnsSearch.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"search {string.Join(' ', spec.DnsSearch)}\n");
            }

            if (spec.DnsOptions.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"options {string.Join(' ', spec.DnsOptions)}\n");
            }

            resolv = text.ToString();
        }

        return (hosts, resolv);
    }

    internal static string NetworkMode(string net) => net.Trim() switch
    {
        "host" => "host",
        "none" => "none",
        "" => "none",
        _ => "netns",
    };

    /// <summary>rkt's default app name: the image name's last path component, made a valid AC name.</summary>
    internal static string DefaultAppName(string imageName)
    {
        string last = imageName.TrimEnd('/');
        last = last[(last.LastIndexOf('/') + 1)..];
        int colon = last.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            last = last[..colon];
        }

        var text = new StringBuilder();
        foreach (char c in last.ToLowerInvariant())
        {
            text.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        string name = text.ToString().Trim('-');
        return name.Length == 0 ? "app" : name;
    }

    internal static bool IsAcName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static long Parse(Func<string, long> parse, string value)
    {
        try
        {
            return parse(value);
        }
        catch (FormatException e)
        {
            throw new PodException(e.Message, e);
        }
    }

    private static List<int> Capabilities(AppSpec spec, List<Isolator> isolators)
    {
        try
        {
            if (spec.CapsRetain is not null && spec.CapsRemove is not null)
            {
                throw new PodException("--caps-retain and --caps-remove cannot both be given for one app");
            }

            IEnumerable<string> names = Platform.Linux.Processes.Capabilities.AppDefault;
            if (isolators.FirstOrDefault(i => i.Name == "os/linux/capabilities-retain-set") is { } retain)
            {
                names = SetOf(retain);
            }
            else if (isolators.FirstOrDefault(i => i.Name == "os/linux/capabilities-remove-set") is { } remove)
            {
                HashSet<string> removed = SetOf(remove).Select(n => n.ToUpperInvariant()).ToHashSet();
                names = names.Where(n => !removed.Contains(n));
            }

            if (spec.CapsRetain is not null)
            {
                names = spec.CapsRetain;
            }
            else if (spec.CapsRemove is not null)
            {
                HashSet<int> removed = spec.CapsRemove.Select(Platform.Linux.Processes.Capabilities.Parse).ToHashSet();
                names = names.Where(n => !removed.Contains(Platform.Linux.Processes.Capabilities.Parse(n)));
            }

            return names.Select(Platform.Linux.Processes.Capabilities.Parse).Distinct().Order().ToList();
        }
        catch (FormatException e)
        {
            throw new PodException(e.Message, e);
        }

        static IEnumerable<string> SetOf(Isolator isolator) =>
            isolator.Value.ValueKind == JsonValueKind.Object && isolator.Value.TryGetProperty("set", out JsonElement set) && set.ValueKind == JsonValueKind.Array
                ? set.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList()
                : [];
    }

    private static long? MemoryFromIsolators(List<Isolator> isolators) =>
        LimitOf(isolators, "resource/memory") is { } limit ? Parse(Quantity.ParseBytes, limit) : null;

    private static long? CpuFromIsolators(List<Isolator> isolators) =>
        LimitOf(isolators, "resource/cpu") is { } limit ? Parse(Quantity.ParseMillicores, limit) : null;

    private static string? LimitOf(List<Isolator> isolators, string name) =>
        isolators.FirstOrDefault(i => i.Name == name) is { } isolator && isolator.Value.ValueKind == JsonValueKind.Object
        && isolator.Value.TryGetProperty("limit", out JsonElement limit)
            ? limit.ValueKind == JsonValueKind.Number ? limit.GetRawText() : limit.GetString()
            : null;

    private static void SetIsolator(List<Isolator> isolators, string name, string? valueJson)
    {
        isolators.RemoveAll(i => i.Name == name);
        if (valueJson is not null)
        {
            using var doc = JsonDocument.Parse(valueJson);
            isolators.Add(new Isolator { Name = name, Value = doc.RootElement.Clone() });
        }
    }

    private static App? CloneApp(App? app) =>
        app is null ? null : JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(app, PodsJsonContext.Default.App), PodsJsonContext.Default.App);

    private static List<string> Environment(PodSpec spec, AppSpec appSpec, App app, string name)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        void Set(string key, string value)
        {
            if (!env.ContainsKey(key))
            {
                order.Add(key);
            }

            env[key] = value;
        }

        Set("PATH", DefaultPath);
        if (spec.InheritEnvironment)
        {
            foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
            {
                Set((string)entry.Key, (string?)entry.Value ?? string.Empty);
            }
        }

        foreach (Label label in app.Environment ?? [])
        {
            Set(label.Name, label.Value);
        }

        foreach ((string key, string value) in spec.SetEnvironment)
        {
            Set(key, value);
        }

        foreach ((string key, string value) in appSpec.Environment)
        {
            Set(key, value);
        }

        Set("AC_APP_NAME", name);
        Set("container", "rkt");
        return order.Select(k => $"{k}={env[k]}").ToList();
    }

    private static void ValidateVolumes(IReadOnlyList<Volume> volumes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Volume v in volumes)
        {
            if (!IsAcName(v.Name))
            {
                throw new PodException($"invalid volume name \"{v.Name}\"");
            }

            if (!names.Add(v.Name))
            {
                throw new PodException($"volume \"{v.Name}\" defined twice");
            }

            if (v.Kind == "host")
            {
                if (string.IsNullOrEmpty(v.Source) || !v.Source.StartsWith('/'))
                {
                    throw new PodException($"volume {v.Name}: source must be an absolute path");
                }

                if (!Directory.Exists(v.Source) && !File.Exists(v.Source))
                {
                    throw new PodException($"volume {v.Name}: source {v.Source} does not exist");
                }

                if (new FileInfo(v.Source).LinkTarget is not null)
                {
                    throw new PodException($"volume {v.Name}: source {v.Source} is a symlink");
                }
            }
            else if (v.Kind != "empty")
            {
                throw new PodException($"volume {v.Name}: kind must be host or empty, not \"{v.Kind}\"");
            }
        }
    }

    private static List<Stage1Mount> Mounts(PodSpec spec, AppSpec appSpec, ImageManifest image, string pod, string app)
    {
        var result = new List<Stage1Mount>();
        var targets = new List<(string Volume, string Path, bool? ReadOnly)>();
        foreach (AppMount m in appSpec.Mounts)
        {
            targets.Add((m.Volume, m.Path, null));
        }

        // Image mount points are filled by the volume of the same name (appc), unless --mount covered them.
        foreach (MountPoint mp in image.App?.MountPoints ?? [])
        {
            if (!targets.Any(t => t.Path == mp.Path) && spec.Volumes.Any(v => v.Name == mp.Name))
            {
                targets.Add((mp.Name, mp.Path, mp.ReadOnly));
            }
        }

        foreach ((string volumeName, string target, bool? mountPointReadOnly) in targets)
        {
            Volume volume = spec.Volumes.FirstOrDefault(v => v.Name == volumeName)
                ?? throw new PodException($"app {app}: --mount refers to volume \"{volumeName}\", which no --volume defines");
            if (!target.StartsWith('/'))
            {
                throw new PodException($"app {app}: mount target \"{target}\" must be absolute");
            }

            string source = volume.Source ?? string.Empty;
            if (volume.Kind == "empty")
            {
                // Relative to the pod directory, which moves between state directories.
                source = Path.GetRelativePath(pod, PodLayout.EmptyVolume(pod, volume.Name));
                string directory = PodLayout.EmptyVolume(pod, volume.Name);
                if (!Directory.Exists(directory))
                {
                    Directory.CreateDirectory(directory);
                    UnixFileMode mode = volume.Mode is { } text ? (UnixFileMode)Convert.ToInt32(text, 8) : (UnixFileMode)Convert.ToInt32("755", 8);
                    File.SetUnixFileMode(directory, mode);
                    if (volume.Uid is not null || volume.Gid is not null)
                    {
                        Chown(directory, volume.Uid ?? 0, volume.Gid ?? 0);
                    }
                }
            }

            result.Add(new Stage1Mount
            {
                Source = source,
                Target = target,
                ReadOnly = volume.ReadOnly ?? mountPointReadOnly ?? false,
                Recursive = volume.Recursive ?? true,
            });
        }

        return result;
    }

    private static void Chown(string path, int uid, int gid)
    {
        if (PodsNative.Chown(path, uid, gid) != 0)
        {
            throw new PodException($"chown {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>A user or group as a number, or a name looked up in the image's /etc/passwd or /etc/group.</summary>
    private static int ResolveId(string rootfs, string value, string database, string kind, string app)
    {
        if (string.IsNullOrEmpty(value))
        {
            return 0;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
        {
            return id;
        }

        if (value.StartsWith('/'))
        {
            throw new PodException($"app {app}: {kind} from a file owner (\"{value}\") is not supported; give a number or name");
        }

        string file = InRoot.Resolve(rootfs, "/etc/" + database, createDirectories: false);
        if (File.Exists(file))
        {
            foreach (string line in File.ReadLines(file))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 3 && fields[0] == value && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out int found))
                {
                    return found;
                }
            }
        }

        throw new PodException($"app {app}: {kind} \"{value}\" not found in the image's /etc/{database}");
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(App))]
internal sealed partial class PodsJsonContext : System.Text.Json.Serialization.JsonSerializerContext
{
}

internal static partial class PodsNative
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    public static partial int Chown(string path, int uid, int gid);
}
