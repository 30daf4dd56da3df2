namespace Platform.CloudInit.Datasources.Url;

/// <summary><c>--from-url</c>: user-data is the body of an HTTP GET; no metadata.</summary>
internal sealed class UrlDatasource : IDatasource
{
    private readonly Uri _url;
    private readonly HttpFetcher _http;

    public UrlDatasource(Uri url, DatasourceOptions options)
    {
        _url = url;
        _http = new HttpFetcher(options);
    }

    public string Type => "url";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) => _http.ProbeAsync(_url, null, cancellationToken);

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        byte[]? data = await _http.GetAsync(_url, null, cancellationToken).ConfigureAwait(false);
        return new DatasourceContent(data ?? [], Metadata.Empty);
    }
}
