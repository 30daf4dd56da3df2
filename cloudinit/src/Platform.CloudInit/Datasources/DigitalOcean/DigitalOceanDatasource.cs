using System.Net;
using System.Text.Json;

namespace Platform.CloudInit.Datasources.DigitalOcean;

/// <summary>
/// <c>--from-digitalocean-metadata=&lt;base&gt;</c>: user-data at <c>metadata/v1/user-data</c>,
/// metadata as one JSON document at <c>metadata/v1.json</c> (hostname, public_keys, and the first
/// public/private interface's ipv4/ipv6 <c>ip_address</c>).
/// </summary>
internal sealed class DigitalOceanDatasource : IDatasource
{
    private readonly Uri _root;
    private readonly HttpFetcher _http;

    public DigitalOceanDatasource(Uri root, DatasourceOptions options)
    {
        _root = root.AbsoluteUri.EndsWith('/') ? root : new Uri(root.AbsoluteUri + "/");
        _http = new HttpFetcher(options);
    }

    public string Type => "digitalocean-metadata-service";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) =>
        _http.ProbeAsync(new Uri(_root, "metadata/v1"), null, cancellationToken);

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        byte[] userData = await _http.GetAsync(new Uri(_root, "metadata/v1/user-data"), null, cancellationToken).ConfigureAwait(false) ?? [];
        byte[]? json = await _http.GetAsync(new Uri(_root, "metadata/v1.json"), null, cancellationToken).ConfigureAwait(false);
        if (json is null || json.Length == 0)
        {
            return new DatasourceContent(userData, Metadata.Empty);
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            var keys = new List<KeyValuePair<string, string>>();
            if (root.TryGetProperty("public_keys", out JsonElement publicKeys) && publicKeys.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (JsonElement key in publicKeys.EnumerateArray())
                {
                    keys.Add(new(i.ToString(System.Globalization.CultureInfo.InvariantCulture), key.GetString() ?? string.Empty));
                    i++;
                }
            }

            root.TryGetProperty("interfaces", out JsonElement interfaces);
            return new DatasourceContent(userData, new Metadata
            {
                Hostname = root.TryGetProperty("hostname", out JsonElement hostname) ? hostname.GetString() ?? string.Empty : string.Empty,
                PublicIPv4 = Address(interfaces, "public", "ipv4"),
                PublicIPv6 = Address(interfaces, "public", "ipv6"),
                PrivateIPv4 = Address(interfaces, "private", "ipv4"),
                PrivateIPv6 = Address(interfaces, "private", "ipv6"),
                SshPublicKeys = keys,
                NetworkConfig = json,
            });
        }
        catch (JsonException e)
        {
            throw new DatasourceException($"metadata/v1.json: {e.Message}", e);
        }
    }

    private static IPAddress? Address(JsonElement interfaces, string side, string family)
    {
        if (interfaces.ValueKind != JsonValueKind.Object
            || !interfaces.TryGetProperty(side, out JsonElement list)
            || list.ValueKind != JsonValueKind.Array
            || list.GetArrayLength() == 0
            || !list[0].TryGetProperty(family, out JsonElement address)
            || address.ValueKind != JsonValueKind.Object
            || !address.TryGetProperty("ip_address", out JsonElement ip))
        {
            return null;
        }

        return IPAddress.TryParse(ip.GetString(), out IPAddress? parsed) ? parsed : null;
    }
}
