using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Flannel.Cni.Cni;

namespace Platform.Flannel.Cni;

/// <summary>
/// The flannel plugin's network configuration from stdin (flannel-io/cni-plugin's <c>NetConf</c>):
/// libcni's common fields plus <c>subnetFile</c>, <c>dataDir</c>, <c>delegate</c>, <c>ipam</c> and
/// <c>runtimeConfig</c>. Field names match as Go's <c>encoding/json</c> matches struct fields: the
/// exact name, else case-insensitively; a repeated key overrides the earlier one; <c>null</c>
/// leaves the default.
/// </summary>
internal sealed class FlannelNetConf
{
    public const string DefaultSubnetFile = "/run/flannel/subnet.env";
    public const string DefaultDataDir = "/var/lib/cni/flannel";

    // Go field type names, for Go's "cannot unmarshal X into Go struct field NetConf.Y of type Z".
    private const string GoString = "string";
    private const string GoMap = "map[string]interface {}";

    public string CniVersion { get; private set; } = "";

    public string Name { get; private set; } = "";

    public string Type { get; private set; } = "";

    public string SubnetFile { get; private set; } = DefaultSubnetFile;

    public string DataDir { get; private set; } = DefaultDataDir;

    /// <summary>The user's <c>delegate</c> object, or null when absent.</summary>
    public JsonObject? Delegate { get; private set; }

    /// <summary>The top-level <c>ipam</c> object (merged into the delegate's), or null.</summary>
    public JsonObject? Ipam { get; private set; }

    public JsonObject? RuntimeConfig { get; private set; }

    /// <summary>The raw <c>prevResult</c> (CHECK), or null.</summary>
    public JsonNode? PrevResult { get; private set; }

    /// <summary>Parses the configuration; errors carry Go's wording after flannel's "failed to load netconf: ".</summary>
    /// <exception cref="FormatException">Invalid JSON or a field of the wrong type.</exception>
    public static FlannelNetConf Parse(ReadOnlySpan<byte> json)
    {
        JsonNode? root;
        try
        {
            root = GoJson.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"failed to load netconf: {e.Message}", e);
        }

        if (root is not JsonObject obj)
        {
            throw new FormatException($"failed to load netconf: json: cannot unmarshal {GoKind(root)} into Go value of type main.NetConf");
        }

        var conf = new FlannelNetConf();
        string[] fields = ["cniVersion", "name", "type", "subnetFile", "dataDir", "delegate", "ipam", "runtimeConfig", "prevResult"];
        foreach (KeyValuePair<string, JsonNode?> pair in obj)
        {
            string? field = Array.Find(fields, f => f == pair.Key) ?? Array.Find(fields, f => string.Equals(f, pair.Key, StringComparison.OrdinalIgnoreCase));
            if (field is null || pair.Value is null)
            {
                continue;
            }

            switch (field)
            {
                case "cniVersion":
                    conf.CniVersion = String(pair.Value, field);
                    break;
                case "name":
                    conf.Name = String(pair.Value, field);
                    break;
                case "type":
                    conf.Type = String(pair.Value, field);
                    break;
                case "subnetFile":
                    conf.SubnetFile = String(pair.Value, field);
                    break;
                case "dataDir":
                    conf.DataDir = String(pair.Value, field);
                    break;
                case "delegate":
                    conf.Delegate = Map(pair.Value, field);
                    break;
                case "ipam":
                    conf.Ipam = Map(pair.Value, field);
                    break;
                case "runtimeConfig":
                    conf.RuntimeConfig = Map(pair.Value, field);
                    break;
                case "prevResult":
                    conf.PrevResult = pair.Value.DeepClone();
                    break;
            }
        }

        return conf;
    }

    private static string String(JsonNode value, string field) =>
        value is JsonValue v && v.TryGetValue(out string? s) ? s : throw TypeError(value, field, GoString);

    private static JsonObject Map(JsonNode value, string field) =>
        value is JsonObject o ? (JsonObject)o.DeepClone() : throw TypeError(value, field, GoMap);

    private static FormatException TypeError(JsonNode? value, string field, string goType) =>
        new($"failed to load netconf: json: cannot unmarshal {GoKind(value)} into Go struct field NetConf.{field} of type {goType}");

    private static string GoKind(JsonNode? value) => value switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v when v.TryGetValue(out string? _) => "string",
        JsonValue v when v.TryGetValue(out bool _) => "bool",
        JsonValue => "number",
        _ => "null",
    };
}
