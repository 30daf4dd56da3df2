using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.Rkt.Networking;

/// <summary>
/// One network definition, normalised to the CNI plugin-list form (<c>{cniVersion, name, plugins[]}</c>)
/// whether it came from a <c>.conf</c> (one plugin), a <c>.conflist</c> or rkt's built-ins.
/// </summary>
internal sealed class NetworkDefinition
{
    public NetworkDefinition(string name, string source, string cniVersion, IReadOnlyList<JsonObject> plugins)
    {
        Name = name;
        Source = source;
        CniVersion = cniVersion;
        Plugins = plugins;
    }

    public string Name { get; }

    /// <summary>The file it came from, or <c>built-in</c>.</summary>
    public string Source { get; }

    public string CniVersion { get; }

    /// <summary>The plugin chain; each object is what a plugin gets on stdin minus name/cniVersion/prevResult/runtimeConfig.</summary>
    public IReadOnlyList<JsonObject> Plugins { get; }

    /// <summary>rkt's test for the network port forwards go to: the main plugin masquerades.</summary>
    public bool IpMasq => Plugins[0]["ipMasq"] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>The definition as a CNI plugin list (what net-info.json keeps for DEL).</summary>
    public JsonObject ToConfList() => new()
    {
        ["cniVersion"] = CniVersion,
        ["name"] = Name,
        ["plugins"] = new JsonArray(Plugins.Select(p => (JsonNode)p.DeepClone()).ToArray()),
    };
}

/// <summary>
/// Loads <c>&lt;local-config&gt;/net.d</c> (rkt sorted the file names; <c>.conf</c> and, beyond rkt,
/// CNI <c>.conflist</c>) and rkt's two built-in networks, and resolves a <c>--net</c> selection.
/// </summary>
internal static class NetworkConfigLoader
{
    /// <summary>CNI version given to configs that name none (CNI would assume 0.1.0, which cannot chain portmap).</summary>
    public const string DefaultCniVersion = "0.4.0";

    private static readonly string[] s_reserved = ["host", "none", "all"];

    /// <summary>rkt's stage1 <c>99-default.conf</c>: ptp, host-local on 172.16.28.0/24, a default route, masquerade.</summary>
    public static NetworkDefinition BuiltInDefault() => new("default", "built-in", DefaultCniVersion,
    [
        new JsonObject
        {
            ["type"] = "ptp",
            ["ipMasq"] = true,
            ["ipam"] = new JsonObject
            {
                ["type"] = "host-local",
                ["subnet"] = "172.16.28.0/24",
                ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
            },
        },
    ]);

    /// <summary>
    /// rkt's stage1 <c>99-default-restricted.conf</c> (rkt 1.30): ptp, host-local on the same
    /// 172.16.28.0/24, no masquerade and no default route: the pod reaches the host (metadata service) only.
    /// </summary>
    public static NetworkDefinition BuiltInDefaultRestricted() => new("default-restricted", "built-in", DefaultCniVersion,
    [
        new JsonObject
        {
            ["type"] = "ptp",
            ["ipMasq"] = false,
            ["ipam"] = new JsonObject
            {
                ["type"] = "host-local",
                ["subnet"] = "172.16.28.0/24",
            },
        },
    ]);

    /// <summary>Every definition in <paramref name="netDir"/>, sorted by file name.</summary>
    /// <exception cref="NetworkConfigException">A malformed file, a bad or reserved name, or two files defining one name.</exception>
    public static IReadOnlyList<NetworkDefinition> LoadDirectory(string netDir)
    {
        if (!Directory.Exists(netDir))
        {
            return [];
        }

        var definitions = new List<NetworkDefinition>();
        foreach (string path in Directory.EnumerateFiles(netDir).Order(StringComparer.Ordinal))
        {
            bool list = path.EndsWith(".conflist", StringComparison.Ordinal);
            if (!list && !path.EndsWith(".conf", StringComparison.Ordinal))
            {
                continue;
            }

            NetworkDefinition definition = LoadFile(path, File.ReadAllBytes(path), list);
            NetworkDefinition? twin = definitions.FirstOrDefault(d => d.Name == definition.Name);
            if (twin is not null)
            {
                throw new NetworkConfigException($"network \"{definition.Name}\" is defined twice: in {twin.Source} and in {path}");
            }

            definitions.Add(definition);
        }

        return definitions;
    }

    /// <summary>Parses and validates one file's bytes.</summary>
    /// <exception cref="NetworkConfigException">What is wrong, naming the file.</exception>
    public static NetworkDefinition LoadFile(string path, byte[] bytes, bool list)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(bytes) as JsonObject
                ?? throw new NetworkConfigException($"{path}: a network configuration must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new NetworkConfigException($"{path}: malformed JSON: {e.Message}", e);
        }

        string name = RequiredString(root, "name", path);
        if (!NetFlag.IsValidName(name))
        {
            throw new NetworkConfigException($"{path}: invalid network name \"{name}\" (letters, digits, '-', '_' and '.' only)");
        }

        if (s_reserved.Contains(name))
        {
            throw new NetworkConfigException($"{path}: network name \"{name}\" is reserved (--net={name} has a built-in meaning)");
        }

        string version = root["cniVersion"] is null ? DefaultCniVersion : RequiredString(root, "cniVersion", path);
        var plugins = new List<JsonObject>();
        if (list)
        {
            if (root["plugins"] is not JsonArray array || array.Count == 0)
            {
                throw new NetworkConfigException($"{path}: a .conflist needs a non-empty \"plugins\" array");
            }

            foreach (JsonNode? node in array)
            {
                if (node is not JsonObject plugin)
                {
                    throw new NetworkConfigException($"{path}: every entry of \"plugins\" must be an object");
                }

                plugins.Add(ValidatePlugin((JsonObject)plugin.DeepClone(), path));
            }
        }
        else
        {
            if (root["plugins"] is not null)
            {
                throw new NetworkConfigException($"{path}: has a \"plugins\" list; name the file .conflist");
            }

            var plugin = (JsonObject)root.DeepClone();
            plugin.Remove("name");
            plugin.Remove("cniVersion");
            plugins.Add(ValidatePlugin(plugin, path));
        }

        return new NetworkDefinition(name, path, version, plugins);
    }

    /// <summary>
    /// rkt's selection: the user networks asked for (or all, for <c>all</c>) in file-name order, then
    /// <c>default</c> when asked for (or <c>all</c>) else <c>default-restricted</c>, unless net.d defines
    /// either of those itself. <c>none</c> and <c>host</c> select nothing.
    /// </summary>
    /// <exception cref="NetworkConfigException">Named networks that exist nowhere.</exception>
    public static IReadOnlyList<(NetworkDefinition Definition, NetworkSelection Selection)> Resolve(
        IReadOnlyList<NetworkSelection> selections, IReadOnlyList<NetworkDefinition> userNetworks)
    {
        if (selections.Count == 0 || NetFlag.IsNone(selections) || NetFlag.IsHost(selections))
        {
            return [];
        }

        bool all = selections.Any(s => s.Name == "all");
        var chosen = new List<NetworkDefinition>();
        foreach (NetworkDefinition net in userNetworks)
        {
            if (all || selections.Any(s => s.Name == net.Name))
            {
                chosen.Add(net);
            }
        }

        if (!chosen.Any(n => n.Name is "default" or "default-restricted"))
        {
            // A net.d file named like the built-in replaces it, also when it is added implicitly
            // (rkt only honoured such a file when the network was named explicitly).
            bool wantDefault = all || selections.Any(s => s.Name == "default");
            string implicitName = wantDefault ? "default" : "default-restricted";
            chosen.Add(userNetworks.FirstOrDefault(n => n.Name == implicitName) ?? (wantDefault ? BuiltInDefault() : BuiltInDefaultRestricted()));
        }

        string[] missing = selections.Select(s => s.Name).Where(n => n != "all" && !chosen.Any(c => c.Name == n)).ToArray();
        if (missing.Length > 0)
        {
            throw new NetworkConfigException($"networks not found: {string.Join(", ", missing)}");
        }

        var empty = new Dictionary<string, string>();
        return chosen.Select(d => (d, selections.FirstOrDefault(s => s.Name == d.Name) ?? new NetworkSelection(d.Name, empty))).ToList();
    }

    private static JsonObject ValidatePlugin(JsonObject plugin, string path)
    {
        string type = RequiredString(plugin, "type", path);
        if (type.Contains('/', StringComparison.Ordinal) || type is "." or "..")
        {
            throw new NetworkConfigException($"{path}: plugin type \"{type}\" must be a plain executable name");
        }

        if (plugin["ipam"] is JsonObject ipam)
        {
            string ipamType = RequiredString(ipam, "type", path + " (ipam)");
            if (ipamType.Contains('/', StringComparison.Ordinal))
            {
                throw new NetworkConfigException($"{path}: ipam type \"{ipamType}\" must be a plain executable name");
            }
        }
        else if (plugin["ipam"] is not null)
        {
            throw new NetworkConfigException($"{path}: \"ipam\" must be an object");
        }

        return plugin;
    }

    private static string RequiredString(JsonObject obj, string key, string path)
    {
        if (obj[key] is JsonValue value && value.TryGetValue(out string? s) && !string.IsNullOrEmpty(s))
        {
            return s;
        }

        throw new NetworkConfigException($"{path}: missing or empty string \"{key}\"");
    }
}
