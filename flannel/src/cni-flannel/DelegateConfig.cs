using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Platform.Flannel.Cni;

/// <summary>
/// Renders the delegate plugin's configuration from the flannel netconf and subnet.env exactly as
/// flannel-io/cni-plugin's <c>cmdAdd</c>/<c>doCmdAdd</c>/<c>getDelegateIPAM</c> do:
/// <list type="bullet">
/// <item><c>delegate</c> may not carry <c>name</c> or <c>ipam</c>, and its <c>type</c> must be a string;</item>
/// <item><c>runtimeConfig</c> moves into the delegate; <c>name</c> = the network's name;</item>
/// <item>defaults unless the delegate sets them: <c>type</c> bridge, <c>ipMasq</c> = !FLANNEL_IPMASQ,
/// <c>mtu</c> = FLANNEL_MTU, and for bridge <c>isGateway</c> true;</item>
/// <item><c>cniVersion</c> = the netconf's when set (overriding the delegate's);</item>
/// <item><c>ipam</c> = the netconf's top-level <c>ipam</c> (or {}), <c>type</c> host-local by default,
/// <c>ranges</c> replaced by one range per family (the subnet, host bits cleared), <c>routes</c> =
/// the given routes followed by one per flannel network.</item>
/// </list>
/// </summary>
internal static class DelegateConfig
{
    /// <exception cref="CniConfigException">The netconf breaks one of flannel's rules (flannel's wording).</exception>
    public static JsonObject Build(FlannelNetConf conf, SubnetEnv env)
    {
        JsonObject result = conf.Delegate is null ? [] : (JsonObject)conf.Delegate.DeepClone();
        if (conf.Delegate is not null)
        {
            if (result.TryGetPropertyValue("type", out JsonNode? type) && !IsString(type))
            {
                throw new CniConfigException("'delegate' dictionary, if present, must have (string) 'type' field");
            }

            if (result.ContainsKey("name"))
            {
                throw new CniConfigException("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
            }

            if (result.ContainsKey("ipam"))
            {
                throw new CniConfigException("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
            }
        }

        if (conf.RuntimeConfig is not null)
        {
            result["runtimeConfig"] = conf.RuntimeConfig.DeepClone();
        }

        result["name"] = conf.Name;
        if (!result.ContainsKey("type"))
        {
            result["type"] = "bridge";
        }

        if (!result.ContainsKey("ipMasq"))
        {
            // If flanneld does not masquerade, the bridge plugin should.
            result["ipMasq"] = !env.IpMasq;
        }

        if (!result.ContainsKey("mtu"))
        {
            result["mtu"] = env.Mtu;
        }

        if (DelegateType(result) == "bridge" && !result.ContainsKey("isGateway"))
        {
            result["isGateway"] = true;
        }

        if (conf.CniVersion.Length > 0)
        {
            result["cniVersion"] = conf.CniVersion;
        }

        result["ipam"] = Ipam(conf, env);
        return result;
    }

    /// <summary>The delegate's plugin name (<c>type</c>), empty when absent or not a string.</summary>
    public static string DelegateType(JsonObject conf) =>
        conf.TryGetPropertyValue("type", out JsonNode? type) && type is JsonValue v && v.TryGetValue(out string? s) ? s : "";

    private static JsonObject Ipam(FlannelNetConf conf, SubnetEnv env)
    {
        JsonObject ipam = conf.Ipam is null ? [] : (JsonObject)conf.Ipam.DeepClone();
        if (!ipam.ContainsKey("type"))
        {
            ipam["type"] = "host-local";
        }

        var ranges = new JsonArray();
        foreach (IpNet? subnet in new[] { env.Subnet, env.Ipv6Subnet })
        {
            if (subnet is IpNet s)
            {
                ranges.Add((JsonNode)new JsonArray(new JsonObject { ["subnet"] = s.ToString() }));
            }
        }

        ipam["ranges"] = ranges;

        JsonArray routes;
        try
        {
            routes = ParseRoutes(ipam["routes"]);
        }
        catch (FormatException e)
        {
            throw new CniConfigException($"failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: {e.Message}");
        }

        foreach (IpNet network in env.Networks.Concat(env.Ipv6Networks))
        {
            routes.Add((JsonNode)new JsonObject { ["dst"] = network.ToString() });
        }

        ipam["routes"] = routes;
        return ipam;
    }

    /// <summary>
    /// Re-encodes given routes as libcni's <c>types.Route</c> does: <c>dst</c> (host bits kept),
    /// then <c>gw</c>, <c>mtu</c>, <c>advmss</c>, <c>priority</c>, <c>table</c>, <c>scope</c> when set.
    /// </summary>
    private static JsonArray ParseRoutes(JsonNode? node)
    {
        var routes = new JsonArray();
        if (node is null)
        {
            // Absent (or null): no given routes; Go decodes null into an empty slice.
            return routes;
        }

        if (node is not JsonArray array)
        {
            throw new FormatException("json: cannot unmarshal non-array into Go value of type []types.Route");
        }

        foreach (JsonNode? item in array)
        {
            if (item is not JsonObject route)
            {
                throw new FormatException("json: cannot unmarshal non-object into Go value of type types.Route");
            }

            var encoded = new JsonObject { ["dst"] = Cidr(Field(route, "dst")) };
            if (Field(route, "gw") is JsonNode gw)
            {
                string text = gw is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException("json: cannot unmarshal non-string into Go struct field route.gw of type net.IP");
                if (text.Length > 0)
                {
                    encoded["gw"] = IPAddress.TryParse(text, out IPAddress? ip) ? ip.ToString() : throw new FormatException($"ParseAddr({GoQuote(text)}): unable to parse IP");
                }
            }

            foreach (string name in new[] { "mtu", "advmss", "priority", "table", "scope" })
            {
                if (Field(route, name) is JsonNode number)
                {
                    if (number is not JsonValue nv || !nv.TryGetValue(out double d) || d != Math.Floor(d))
                    {
                        throw new FormatException($"json: cannot unmarshal non-integer into Go struct field route.{name} of type int");
                    }

                    // omitempty drops zero ints, but keeps the *int fields table and scope.
                    if (d != 0 || name is "table" or "scope")
                    {
                        encoded[name] = d;
                    }
                }
            }

            routes.Add((JsonNode)encoded);
        }

        return routes;
    }

    private static JsonNode? Field(JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out JsonNode? exact) ? exact
            : obj.LastOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static string Cidr(JsonNode? dst)
    {
        string text = dst is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException("route has no dst");
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        _ = IpNet.ParseCidr(text);
        IPAddress ip = IPAddress.Parse(text.AsSpan(0, slash));
        return $"{ip}/{int.Parse(text.AsSpan(slash + 1), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)}";
    }

    private static bool IsString(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? _);

    private static string GoQuote(string text) => Cni.GoJson.Quote(text);
}

/// <summary>A configuration error reported as flannel reports it (CNI code 999, flannel's message).</summary>
internal sealed class CniConfigException(string message) : Exception(message);
