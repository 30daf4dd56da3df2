using Platform.CloudInit.Datasources.ConfigDrive;
using Platform.CloudInit.Datasources.DigitalOcean;
using Platform.CloudInit.Datasources.Ec2;
using Platform.CloudInit.Datasources.File;
using Platform.CloudInit.Datasources.Gce;
using Platform.CloudInit.Datasources.ProcCmdline;
using Platform.CloudInit.Datasources.Url;
using Platform.CloudInit.Datasources.Waagent;

namespace Platform.CloudInit.Datasources;

/// <summary>
/// Datasources registered by the flag that selects them (<c>from-file</c>, <c>from-ec2-metadata</c>, ...).
/// The argument is the flag's value: a path, a URL, or "true" for <c>from-proc-cmdline</c>.
/// </summary>
public static class DatasourceFactory
{
    private static readonly Dictionary<string, Func<string, DatasourceOptions, IDatasource>> s_registry = new(StringComparer.Ordinal)
    {
        ["from-file"] = static (arg, _) => new FileDatasource(arg),
        ["from-url"] = static (arg, o) => new UrlDatasource(ParseUrl(arg), o),
        ["from-configdrive"] = static (arg, _) => new ConfigDriveDatasource(arg),
        ["from-proc-cmdline"] = static (_, o) => new ProcCmdlineDatasource(o),
        ["from-ec2-metadata"] = static (arg, o) => new Ec2Datasource(ParseUrl(arg), o),
        ["from-gce-metadata"] = static (arg, o) => new GceDatasource(ParseUrl(arg), o),
        ["from-digitalocean-metadata"] = static (arg, o) => new DigitalOceanDatasource(ParseUrl(arg), o),
        ["from-waagent"] = static (arg, _) => new WaagentDatasource(arg),
    };

    /// <summary>The registered names, in the order coreos-cloudinit lists its sources.</summary>
    public static IReadOnlyCollection<string> Names => s_registry.Keys;

    /// <summary>The default base address of the metadata services (link-local, as on the clouds).</summary>
    public static string DefaultMetadataAddress(string name) => name switch
    {
        "from-gce-metadata" => GceDatasource.DefaultAddress,
        _ => Ec2Datasource.DefaultAddress,
    };

    /// <summary>Creates the datasource registered as <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name, or a URL argument that is not an absolute URL.</exception>
    public static IDatasource Create(string name, string argument, DatasourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!s_registry.TryGetValue(name, out Func<string, DatasourceOptions, IDatasource>? factory))
        {
            throw new ArgumentException($"unknown datasource {name}", nameof(name));
        }

        return factory(argument, options);
    }

    private static Uri ParseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"not an http(s) URL: {text}", nameof(text));
}
