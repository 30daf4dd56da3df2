using System.Text.Json;

namespace Platform.CloudInit.Datasources.ConfigDrive;

/// <summary>
/// <c>--from-configdrive</c>: a mounted <c>config-2</c> tree. User-data is
/// <c>openstack/latest/user_data</c>; metadata is <c>openstack/latest/meta_data.json</c>
/// (<c>hostname</c>, <c>public_keys</c>, <c>network_config.content_path</c>). Missing files mean "none".
/// </summary>
internal sealed class ConfigDriveDatasource : IDatasource
{
    private readonly string _root;

    public ConfigDriveDatasource(string root)
    {
        _root = root;
    }

    public string Type => "cloud-drive";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Directory.Exists(_root) || System.IO.File.Exists(_root));

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        string latest = Path.Combine(_root, "openstack", "latest");
        byte[] userData = await TryReadAsync(Path.Combine(latest, "user_data"), cancellationToken).ConfigureAwait(false) ?? [];
        byte[]? json = await TryReadAsync(Path.Combine(latest, "meta_data.json"), cancellationToken).ConfigureAwait(false);
        if (json is null || json.Length == 0)
        {
            return new DatasourceContent(userData, Metadata.Empty);
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            var keys = new List<KeyValuePair<string, string>>();
            if (root.TryGetProperty("public_keys", out JsonElement publicKeys) && publicKeys.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty key in publicKeys.EnumerateObject())
                {
                    keys.Add(new(key.Name, key.Value.GetString() ?? string.Empty));
                }
            }

            byte[]? network = null;
            if (root.TryGetProperty("network_config", out JsonElement networkConfig)
                && networkConfig.ValueKind == JsonValueKind.Object
                && networkConfig.TryGetProperty("content_path", out JsonElement contentPath)
                && contentPath.GetString() is { Length: > 0 } relative)
            {
                network = await TryReadAsync(Path.Combine(_root, "openstack", relative.TrimStart('/')), cancellationToken).ConfigureAwait(false);
            }

            return new DatasourceContent(userData, new Metadata
            {
                Hostname = root.TryGetProperty("hostname", out JsonElement hostname) ? hostname.GetString() ?? string.Empty : string.Empty,
                SshPublicKeys = keys,
                NetworkConfig = network,
            });
        }
        catch (JsonException e)
        {
            throw new DatasourceException($"meta_data.json: {e.Message}", e);
        }
    }

    private static async Task<byte[]?> TryReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await System.IO.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
