using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Platform.Rkt.Networking;

/// <summary>
/// <see cref="IPodNetworking"/> over CNI plugin executables. Order of work in <see cref="SetupAsync"/>:
/// load and validate everything (configs, plugin binaries, ports) so configuration errors cost nothing
/// to undo; bring <c>lo</c> up (the <c>loopback</c> plugin); then per network record intent in
/// net-info.json, ADD the plugin chain, record the result. Any failure DELs what was started, newest first.
/// </summary>
internal sealed class CniPodNetworking : IPodNetworking
{
    private readonly PodNetworkingOptions _options;

    public CniPodNetworking(PodNetworkingOptions options)
    {
        _options = options;
    }

    /// <summary>Where plugins are looked up, in rkt's order: net.d, rkt's plugin dir, then the CNI dirs.</summary>
    internal IReadOnlyList<string> PluginSearchPath =>
        [Path.Combine(_options.LocalConfigDir, "net.d"), Path.Combine(_options.SystemConfigDir, "plugins", "net"), .. _options.PluginDirs];

    public async Task<PodNetworkStatus> SetupAsync(PodNetworkRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (NetFlag.IsHost(request.Networks))
        {
            return new PodNetworkStatus([], [], []);
        }

        List<PlannedNetwork> plan = Plan(request);
        if (!File.Exists(request.NetnsPath))
        {
            throw new NetworkConfigException($"network namespace {request.NetnsPath} does not exist");
        }

        if (!Directory.Exists(request.PodDirectory))
        {
            throw new NetworkConfigException($"pod directory {request.PodDirectory} does not exist");
        }

        var records = NetInfo.Read(request.PodDirectory);
        if (records.Count > 0)
        {
            throw new NetworkConfigException($"{Path.Combine(request.PodDirectory, NetInfo.FileName)} already records networks; tear them down first");
        }

        string cniPath = string.Join(':', PluginSearchPath);
        await LoopbackUpAsync(request, cniPath, ct).ConfigureAwait(false);

        try
        {
            foreach (PlannedNetwork net in plan)
            {
                var record = new NetInfoRecord
                {
                    NetName = net.Definition.Name,
                    NetConf = net.Definition.Source,
                    PluginPath = net.PluginPaths[0],
                    IfName = net.IfName,
                    Args = net.Args,
                    ContainerId = request.PodUuid,
                    Netns = request.NetnsPath,
                    CniPath = cniPath,
                    Config = net.Config,
                    RuntimeConfig = net.RuntimeConfig,
                };
                records.Add(record);
                NetInfo.Write(request.PodDirectory, records);

                JsonObject? result = await AddChainAsync(record, net.PluginPaths, ct).ConfigureAwait(false);
                record.Result = result;
                (string? ip, int prefix, string? gateway) = CniResult.IPv4Of(result, net.IfName);
                if (ip is null)
                {
                    throw new CniPluginException($"network \"{record.NetName}\": the plugins returned no IPv4 address for {net.IfName}");
                }

                record.Ip = ip;
                record.PrefixLength = prefix;
                record.Mask = NetInfo.MaskOf(prefix);
                record.Gateway = gateway;
                record.Complete = true;
                NetInfo.Write(request.PodDirectory, records);
            }
        }
        catch (Exception e) when (e is CniPluginException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            string undo = await UndoAsync(request.PodDirectory, records).ConfigureAwait(false);
            if (undo.Length > 0)
            {
                throw new CniPluginException($"{e.Message} (undoing the networks added before also failed: {undo})", e);
            }

            throw;
        }

        var attachments = records.Select(r => new NetworkAttachment(r.NetName, r.IfName, $"{r.Ip}/{r.PrefixLength}", r.Gateway)).ToList();
        (IReadOnlyList<string> nameservers, IReadOnlyList<string> search) = records
            .Select(r => CniResult.DnsOf(r.Result))
            .FirstOrDefault(d => d.Nameservers.Count > 0, ([], []));
        return new PodNetworkStatus(attachments, nameservers, search);
    }

    public async Task TeardownAsync(string podDirectory, string podUuid, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(podDirectory);
        List<NetInfoRecord> records = NetInfo.Read(podDirectory);
        var failures = new List<string>();
        for (int i = records.Count - 1; i >= 0; i--)
        {
            ct.ThrowIfCancellationRequested();
            NetInfoRecord record = records[i];
            if (record.ContainerId.Length == 0)
            {
                record.ContainerId = podUuid;
            }

            string? failure = await DeleteAsync(record).ConfigureAwait(false);
            if (failure is null)
            {
                records.RemoveAt(i);
                NetInfo.Write(podDirectory, records);
            }
            else
            {
                failures.Add(failure);
            }
        }

        if (failures.Count > 0)
        {
            throw new CniPluginException(string.Join("; ", failures));
        }
    }

    /// <summary>Resolves the selection and prepares every network's effective configuration; nothing runs yet.</summary>
    private List<PlannedNetwork> Plan(PodNetworkRequest request)
    {
        if (request.PodUuid.Length == 0)
        {
            throw new NetworkConfigException("the pod UUID is empty");
        }

        IReadOnlyList<NetworkDefinition> user = NetworkConfigLoader.LoadDirectory(Path.Combine(_options.LocalConfigDir, "net.d"));
        var resolved = NetworkConfigLoader.Resolve(request.Networks, user);
        var ports = request.Ports.Select(ValidatePort).ToList();

        // rkt forwards ports on the first masquerading network, else on the last one.
        int forwardable = resolved.ToList().FindIndex(n => n.Definition.IpMasq);
        if (forwardable < 0)
        {
            forwardable = resolved.Count - 1;
        }

        if (ports.Count > 0 && resolved.Count == 0)
        {
            throw new NetworkConfigException("--port needs a pod network; --net=none has none (and --net=host needs no forwarding)");
        }

        var plan = new List<PlannedNetwork>();
        for (int i = 0; i < resolved.Count; i++)
        {
            (NetworkDefinition definition, NetworkSelection selection) = resolved[i];
            JsonObject config = definition.ToConfList();
            var plugins = (JsonArray)config["plugins"]!;
            foreach (JsonObject plugin in plugins.Cast<JsonObject>())
            {
                // rkt kept IPAM state under its --dir; keeps pods of different rkt data dirs apart.
                if (plugin["ipam"] is JsonObject ipam && (string?)ipam["type"] == "host-local" && ipam["dataDir"] is null)
                {
                    ipam["dataDir"] = Path.Combine(_options.DataDir, "networks");
                }
            }

            JsonObject? runtimeConfig = null;
            if (i == forwardable && ports.Count > 0)
            {
                if (CompareVersions(definition.CniVersion, "0.3.0") < 0)
                {
                    throw new NetworkConfigException($"network \"{definition.Name}\" ({definition.Source}): --port needs cniVersion 0.3.0 or later to chain the portmap plugin; it has {definition.CniVersion}");
                }

                if (!plugins.Any(p => p!["capabilities"]?["portMappings"] is JsonValue v && v.TryGetValue(out bool b) && b))
                {
                    // The JsonNode overload: Add<T> would wrap the object in a reflection-serialized JsonValue.
                    plugins.Add((JsonNode)new JsonObject
                    {
                        ["type"] = "portmap",
                        ["capabilities"] = new JsonObject { ["portMappings"] = true },
                        ["snat"] = true,
                    });
                }

                runtimeConfig = new JsonObject
                {
                    ["portMappings"] = new JsonArray(ports.Select(p => (JsonNode)new JsonObject
                    {
                        ["hostPort"] = p.HostPort,
                        ["containerPort"] = p.ContainerPort,
                        ["protocol"] = p.Protocol,
                        ["hostIP"] = p.HostIp ?? string.Empty,
                    }).ToArray()),
                };
            }

            if (plugins.Count > 1 && CompareVersions(definition.CniVersion, "0.3.0") < 0)
            {
                throw new NetworkConfigException($"network \"{definition.Name}\" ({definition.Source}): plugin chains need cniVersion 0.3.0 or later; it has {definition.CniVersion}");
            }

            var paths = new List<string>();
            foreach (JsonObject plugin in plugins.Cast<JsonObject>())
            {
                paths.Add(FindPlugin((string)plugin["type"]!, definition));
                if (plugin["ipam"] is JsonObject ipam)
                {
                    FindPlugin((string)ipam["type"]!, definition);
                }
            }

            plan.Add(new PlannedNetwork(definition, $"eth{i}", NetFlag.FormatArgs(selection), config, runtimeConfig, paths));
        }

        return plan;
    }

    private static (string Protocol, int ContainerPort, int HostPort, string? HostIp) ValidatePort((string Name, string Protocol, int ContainerPort, int HostPort, string? HostIp) port)
    {
        string protocol = port.Protocol.ToLowerInvariant();
        if (protocol is not ("tcp" or "udp" or "sctp"))
        {
            throw new NetworkConfigException($"port \"{port.Name}\": unknown protocol \"{port.Protocol}\" (tcp, udp or sctp)");
        }

        if (port.ContainerPort is < 1 or > 65535 || port.HostPort is < 1 or > 65535)
        {
            throw new NetworkConfigException($"port \"{port.Name}\": ports must be 1-65535 (pod {port.ContainerPort}, host {port.HostPort})");
        }

        if (port.HostIp is { Length: > 0 } ip && !IPAddress.TryParse(ip, out _))
        {
            throw new NetworkConfigException($"port \"{port.Name}\": host IP \"{ip}\" is not an IP address");
        }

        return (protocol, port.ContainerPort, port.HostPort, port.HostIp is { Length: > 0 } ? port.HostIp : null);
    }

    private string FindPlugin(string type, NetworkDefinition definition)
    {
        foreach (string dir in PluginSearchPath)
        {
            string candidate = Path.Combine(dir, type);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new NetworkConfigException($"network \"{definition.Name}\" ({definition.Source}): plugin \"{type}\" not found in {string.Join(", ", PluginSearchPath)}");
    }

    private async Task LoopbackUpAsync(PodNetworkRequest request, string cniPath, CancellationToken ct)
    {
        string? loopback = PluginSearchPath.Select(d => Path.Combine(d, "loopback")).FirstOrDefault(File.Exists);
        if (loopback is null)
        {
            return; // Whoever made the namespace brings lo up; nothing to undo either way.
        }

        var config = new JsonObject { ["cniVersion"] = NetworkConfigLoader.DefaultCniVersion, ["name"] = "lo", ["type"] = "loopback" };
        await CniExec.RunAsync(loopback, new CniCall("ADD", request.PodUuid, request.NetnsPath, "lo", string.Empty, cniPath), config, _options.PluginTimeout, "lo", ct).ConfigureAwait(false);
    }

    private async Task<JsonObject?> AddChainAsync(NetInfoRecord record, IReadOnlyList<string> pluginPaths, CancellationToken ct)
    {
        JsonObject? previous = null;
        var plugins = (JsonArray)record.Config["plugins"]!;
        for (int p = 0; p < plugins.Count; p++)
        {
            JsonObject stdin = PluginConfig(record, (JsonObject)plugins[p]!, previous);
            var call = new CniCall("ADD", record.ContainerId, record.Netns, record.IfName, record.Args, record.CniPath);
            previous = await CniExec.RunAsync(pluginPaths[p], call, stdin, _options.PluginTimeout, record.NetName, ct).ConfigureAwait(false) ?? previous;
        }

        return previous;
    }

    /// <summary>DEL of one recorded network, plugins in reverse; returns the failure text or null.</summary>
    private async Task<string?> DeleteAsync(NetInfoRecord record)
    {
        bool netnsAlive = NetnsProbe.IsAlive(record.Netns);
        string netns = netnsAlive ? record.Netns : string.Empty;
        var plugins = (JsonArray)record.Config["plugins"]!;
        string version = (string?)record.Config["cniVersion"] ?? NetworkConfigLoader.DefaultCniVersion;
        JsonObject? prev = record.Result is not null && CompareVersions(version, "0.4.0") >= 0 ? record.Result : null;
        var failures = new List<string>();
        for (int p = plugins.Count - 1; p >= 0; p--)
        {
            var plugin = (JsonObject)plugins[p]!;
            string type = (string)plugin["type"]!;
            string? path = PluginSearchPath.Concat(record.CniPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
                .Select(d => Path.Combine(d, type)).FirstOrDefault(File.Exists);
            if (path is null)
            {
                failures.Add($"network \"{record.NetName}\": DEL {type}: plugin not found");
                continue;
            }

            var call = new CniCall("DEL", record.ContainerId, netns, record.IfName, record.Args, record.CniPath);
            try
            {
                // Undo and teardown always run to the end: a cancelled half-DEL would leak addresses.
                await CniExec.RunAsync(path, call, PluginConfig(record, plugin, prev), _options.PluginTimeout, record.NetName, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CniPluginException e)
            {
                failures.Add(e.Message);
            }

            if (!netnsAlive && plugin["ipMasq"] is JsonValue masq && masq.TryGetValue(out bool on) && on && record.Ip is not null)
            {
                // Plugins only remove their masquerade rule when they find the pod's interface; with
                // the namespace gone they cannot, so remove the chain they made (CNI's naming) here.
                await RemoveMasqueradeAsync(record).ConfigureAwait(false);
            }
        }

        return failures.Count == 0 ? null : string.Join("; ", failures);
    }

    private async Task<string> UndoAsync(string podDirectory, List<NetInfoRecord> records)
    {
        var failures = new List<string>();
        for (int i = records.Count - 1; i >= 0; i--)
        {
            string? failure = await DeleteAsync(records[i]).ConfigureAwait(false);
            if (failure is null)
            {
                records.RemoveAt(i);
            }
            else
            {
                failures.Add(failure);
            }
        }

        NetInfo.Write(podDirectory, records);
        return string.Join("; ", failures);
    }

    private static JsonObject PluginConfig(NetInfoRecord record, JsonObject plugin, JsonObject? prevResult)
    {
        var config = (JsonObject)plugin.DeepClone();
        config["cniVersion"] = record.Config["cniVersion"]!.DeepClone();
        config["name"] = record.NetName;
        if (prevResult is not null)
        {
            config["prevResult"] = prevResult.DeepClone();
        }

        if (record.RuntimeConfig is not null && plugin["capabilities"]?["portMappings"] is JsonValue v && v.TryGetValue(out bool on) && on)
        {
            config["runtimeConfig"] = record.RuntimeConfig.DeepClone();
        }

        return config;
    }

    private async Task RemoveMasqueradeAsync(NetInfoRecord record)
    {
        // containernetworking/plugins utils: "CNI-" + sha512(name + id) in hex, cut to 28 characters.
        string chain = ("CNI-" + Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(record.NetName + record.ContainerId))))[..28];
        string comment = $"name: \"{record.NetName}\" id: \"{record.ContainerId}\"";
        foreach (string source in new[] { record.Ip!, $"{record.Ip}/{record.PrefixLength}" })
        {
            await IptablesAsync("-t", "nat", "-D", "POSTROUTING", "-s", source, "-j", chain, "-m", "comment", "--comment", comment).ConfigureAwait(false);
        }

        await IptablesAsync("-t", "nat", "-F", chain).ConfigureAwait(false);
        await IptablesAsync("-t", "nat", "-X", chain).ConfigureAwait(false);
    }

    /// <summary>Runs iptables and ignores failure (the rule or chain may already be gone).</summary>
    private async Task IptablesAsync(params string[] args)
    {
        var start = new ProcessStartInfo(_options.IptablesPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-w");
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using Process process = Process.Start(start)!;
            await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No iptables: no masquerade rules can exist either.
        }
    }

    internal static int CompareVersions(string a, string b)
    {
        static int[] Parts(string v) => v.Split('.').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0).Concat([0, 0, 0]).Take(3).ToArray();
        int[] x = Parts(a);
        int[] y = Parts(b);
        for (int i = 0; i < 3; i++)
        {
            if (x[i] != y[i])
            {
                return x[i].CompareTo(y[i]);
            }
        }

        return 0;
    }

    private sealed record PlannedNetwork(NetworkDefinition Definition, string IfName, string Args, JsonObject Config, JsonObject? RuntimeConfig, IReadOnlyList<string> PluginPaths);
}
