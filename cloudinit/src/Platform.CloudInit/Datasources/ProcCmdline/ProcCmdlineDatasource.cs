namespace Platform.CloudInit.Datasources.ProcCmdline;

/// <summary>
/// <c>--from-proc-cmdline</c>: the kernel command line names the user-data URL with
/// <c>cloud-config-url=&lt;url&gt;</c> (<c>cloud_config_url</c> also matches; the last one wins).
/// Without it the source is never available, and it never becomes so.
/// </summary>
internal sealed class ProcCmdlineDatasource : IDatasource
{
    private readonly DatasourceOptions _options;
    private readonly HttpFetcher _http;

    public ProcCmdlineDatasource(DatasourceOptions options)
    {
        _options = options;
        _http = new HttpFetcher(options);
    }

    public string Type => "proc-cmdline";

    public bool AvailabilityChanges => false;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) => Task.FromResult(ReadUrl() is not null);

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        string url = ReadUrl() ?? throw new DatasourceException("cloud-config-url not found");
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            throw new DatasourceException($"cloud-config-url is not a URL: {url}");
        }

        byte[]? data = await _http.GetAsync(uri, null, cancellationToken).ConfigureAwait(false);
        return new DatasourceContent(data ?? [], Metadata.Empty);
    }

    private string? ReadUrl()
    {
        try
        {
            return FindCloudConfigUrl(System.IO.File.ReadAllText(_options.ProcCmdlinePath).Trim());
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The value of the last <c>cloud-config-url=</c> token; a token without a value is ignored.</summary>
    internal static string? FindCloudConfigUrl(string cmdline)
    {
        string? url = null;
        foreach (string token in cmdline.Split(' '))
        {
            int equals = token.IndexOf('=', StringComparison.Ordinal);
            string key = (equals < 0 ? token : token[..equals]).Replace('_', '-');
            if (key != "cloud-config-url" || equals < 0)
            {
                continue;
            }

            url = token[(equals + 1)..];
        }

        return url;
    }
}
