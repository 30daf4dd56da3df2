using System.Net;
using System.Xml;

namespace Platform.CloudInit.Datasources.Waagent;

/// <summary>
/// <c>--from-waagent=&lt;dir&gt;</c> (Azure): available once the agent wrote <c>provisioned</c>;
/// user-data is <c>CustomData</c>; <c>SharedConfig.xml</c> gives the private address of this
/// incarnation's instance and the first load-balanced public address.
/// </summary>
internal sealed class WaagentDatasource : IDatasource
{
    private readonly string _root;

    public WaagentDatasource(string root)
    {
        _root = root;
    }

    public string Type => "waagent";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) =>
        Task.FromResult(System.IO.File.Exists(Path.Combine(_root, "provisioned")));

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        byte[] userData = await TryReadAsync("CustomData", cancellationToken).ConfigureAwait(false) ?? [];
        byte[]? shared = await TryReadAsync("SharedConfig.xml", cancellationToken).ConfigureAwait(false);
        if (shared is null || shared.Length == 0)
        {
            return new DatasourceContent(userData, Metadata.Empty);
        }

        try
        {
            var document = new XmlDocument { XmlResolver = null };
            using (var stream = new MemoryStream(shared))
            using (var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null }))
            {
                document.Load(reader);
            }

            string incarnation = document.SelectSingleNode("/SharedConfig/Incarnation/@instance")?.Value ?? string.Empty;
            XmlNode? instance = null;
            foreach (XmlNode candidate in document.SelectNodes("/SharedConfig/Instances/Instance")!)
            {
                if (candidate.Attributes?["id"]?.Value == incarnation)
                {
                    instance = candidate;
                    break;
                }
            }

            IPAddress? privateIp = null;
            IPAddress? publicIp = null;
            if (instance is not null)
            {
                privateIp = IPAddress.TryParse(instance.Attributes?["address"]?.Value, out IPAddress? parsed) ? parsed : null;
                foreach (XmlNode endpoint in instance.SelectNodes("InputEndpoints/Endpoint")!)
                {
                    string? address = endpoint.Attributes?["loadBalancedPublicAddress"]?.Value;
                    int colon = address?.LastIndexOf(':') ?? -1;
                    if (colon > 0 && IPAddress.TryParse(address![..colon], out publicIp))
                    {
                        break;
                    }
                }
            }

            return new DatasourceContent(userData, new Metadata { PrivateIPv4 = privateIp, PublicIPv4 = publicIp });
        }
        catch (XmlException e)
        {
            throw new DatasourceException($"SharedConfig.xml: {e.Message}", e);
        }
    }

    private async Task<byte[]?> TryReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await System.IO.File.ReadAllBytesAsync(Path.Combine(_root, name), cancellationToken).ConfigureAwait(false);
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
