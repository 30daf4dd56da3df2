using System.Net;
using System.Text;

namespace Platform.CloudInit.Datasources.Ec2;

/// <summary>
/// <c>--from-ec2-metadata=&lt;base&gt;</c>: the EC2 metadata service, API 2009-04-04. User-data at
/// <c>2009-04-04/user-data</c>; metadata from <c>meta-data/{public-keys,hostname,local-ipv4,public-ipv4}</c>.
/// A 404 means "not provided"; the hostname keeps only its first label.
/// </summary>
internal sealed class Ec2Datasource : IDatasource
{
    /// <summary>The link-local address the real service answers on.</summary>
    public const string DefaultAddress = "http://169.254.169.254/";
    private const string ApiVersion = "2009-04-04/";

    private readonly Uri _root;
    private readonly HttpFetcher _http;

    public Ec2Datasource(Uri root, DatasourceOptions options)
    {
        _root = root.AbsoluteUri.EndsWith('/') ? root : new Uri(root.AbsoluteUri + "/");
        _http = new HttpFetcher(options);
    }

    public string Type => "ec2-metadata-service";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) =>
        _http.ProbeAsync(new Uri(_root, ApiVersion), null, cancellationToken);

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        byte[] userData = await _http.GetAsync(new Uri(_root, ApiVersion + "user-data"), null, cancellationToken).ConfigureAwait(false) ?? [];
        string meta = ApiVersion + "meta-data/";

        var keys = new List<KeyValuePair<string, string>>();
        foreach (string entry in await LinesAsync(meta + "public-keys", cancellationToken).ConfigureAwait(false))
        {
            // "0=my-key": the index addresses the key, the name labels it.
            int equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw new DatasourceException($"malformed public key: \"{entry}\"");
            }

            string id = entry[..equals];
            string name = entry[(equals + 1)..];
            string key = (await LinesAsync($"{meta}public-keys/{id}/openssh-key", cancellationToken).ConfigureAwait(false)).FirstOrDefault() ?? string.Empty;
            keys.Add(new(name, key));
        }

        string hostname = (await LinesAsync(meta + "hostname", cancellationToken).ConfigureAwait(false)).FirstOrDefault() ?? string.Empty;
        hostname = hostname.Split(' ')[0].Split('.')[0];
        string? local = (await LinesAsync(meta + "local-ipv4", cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        string? @public = (await LinesAsync(meta + "public-ipv4", cancellationToken).ConfigureAwait(false)).FirstOrDefault();

        return new DatasourceContent(userData, new Metadata
        {
            Hostname = hostname,
            PrivateIPv4 = Parse(local),
            PublicIPv4 = Parse(@public),
            SshPublicKeys = keys,
        });
    }

    private async Task<string[]> LinesAsync(string relative, CancellationToken cancellationToken)
    {
        byte[]? body = await _http.GetAsync(new Uri(_root, relative), null, cancellationToken).ConfigureAwait(false);
        return body is null ? [] : Encoding.UTF8.GetString(body).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static IPAddress? Parse(string? text) => text is not null && IPAddress.TryParse(text.Trim(), out IPAddress? ip) ? ip : null;
}
