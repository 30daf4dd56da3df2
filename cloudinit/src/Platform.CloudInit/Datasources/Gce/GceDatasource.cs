using System.Net;
using System.Text;

namespace Platform.CloudInit.Datasources.Gce;

/// <summary>
/// <c>--from-gce-metadata=&lt;base&gt;</c> (Platform's; coreos-cloudinit left GCE to its OEM agent):
/// the GCE metadata server's <c>computeMetadata/v1/</c> tree, every request carrying
/// <c>Metadata-Flavor: Google</c>. User-data is the <c>user-data</c> instance attribute; metadata is
/// the hostname (first label), the first interface's <c>ip</c> and first access config's
/// <c>external-ip</c>, and <c>ssh-keys</c> attribute lines (<c>user:key</c>).
/// </summary>
internal sealed class GceDatasource : IDatasource
{
    public const string DefaultAddress = "http://metadata.google.internal/";
    private static readonly Dictionary<string, string> s_headers = new(StringComparer.Ordinal) { ["Metadata-Flavor"] = "Google" };

    private readonly Uri _root;
    private readonly HttpFetcher _http;

    public GceDatasource(Uri root, DatasourceOptions options)
    {
        _root = root.AbsoluteUri.EndsWith('/') ? root : new Uri(root.AbsoluteUri + "/");
        _http = new HttpFetcher(options);
    }

    public string Type => "gce-metadata-service";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) =>
        _http.ProbeAsync(new Uri(_root, "computeMetadata/v1/"), s_headers, cancellationToken);

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        const string instance = "computeMetadata/v1/instance/";
        byte[] userData = await GetAsync(instance + "attributes/user-data", cancellationToken).ConfigureAwait(false) ?? [];
        string hostname = Text(await GetAsync(instance + "hostname", cancellationToken).ConfigureAwait(false)).Split('.')[0];
        string ip = Text(await GetAsync(instance + "network-interfaces/0/ip", cancellationToken).ConfigureAwait(false));
        string external = Text(await GetAsync(instance + "network-interfaces/0/access-configs/0/external-ip", cancellationToken).ConfigureAwait(false));
        string sshKeys = Text(await GetAsync(instance + "attributes/ssh-keys", cancellationToken).ConfigureAwait(false));

        var keys = new List<KeyValuePair<string, string>>();
        foreach (string line in sshKeys.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            keys.Add(colon > 0 ? new(line[..colon], line[(colon + 1)..]) : new(keys.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), line));
        }

        return new DatasourceContent(userData, new Metadata
        {
            Hostname = hostname,
            PrivateIPv4 = IPAddress.TryParse(ip, out IPAddress? privateIp) ? privateIp : null,
            PublicIPv4 = IPAddress.TryParse(external, out IPAddress? publicIp) ? publicIp : null,
            SshPublicKeys = keys,
        });
    }

    private Task<byte[]?> GetAsync(string relative, CancellationToken cancellationToken) =>
        _http.GetAsync(new Uri(_root, relative), s_headers, cancellationToken);

    private static string Text(byte[]? body) => body is null ? string.Empty : Encoding.UTF8.GetString(body).Trim();
}
