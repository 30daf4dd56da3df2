namespace Platform.CloudInit.Datasources.File;

/// <summary><c>--from-file</c>: user-data is the file; no metadata. Available once the file exists.</summary>
internal sealed class FileDatasource : IDatasource
{
    private readonly string _path;

    public FileDatasource(string path)
    {
        _path = path;
    }

    public string Type => "local-file";

    public bool AvailabilityChanges => true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) => Task.FromResult(System.IO.File.Exists(_path));

    public async Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            byte[] data = await System.IO.File.ReadAllBytesAsync(_path, cancellationToken).ConfigureAwait(false);
            return new DatasourceContent(data, Metadata.Empty);
        }
        catch (IOException e)
        {
            throw new DatasourceException($"reading {_path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DatasourceException($"reading {_path}: {e.Message}", e);
        }
    }
}
