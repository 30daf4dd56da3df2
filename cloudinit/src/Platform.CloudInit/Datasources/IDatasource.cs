namespace Platform.CloudInit.Datasources;

/// <summary>
/// A place user-data and metadata come from (a file, a URL, a config-drive, a metadata service).
/// Implementations live one per folder and are created by name through <see cref="DatasourceFactory"/>.
/// </summary>
public interface IDatasource
{
    /// <summary>coreos-cloudinit's type name, e.g. <c>local-file</c>, <c>ec2-metadata-service</c>.</summary>
    public string Type { get; }

    /// <summary>
    /// False when an unavailable source can never become available (proc-cmdline without
    /// <c>cloud-config-url=</c>); such a source is not polled again.
    /// </summary>
    public bool AvailabilityChanges { get; }

    /// <summary>Whether the source can be read now. Never throws for an unreachable source.</summary>
    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken);

    /// <summary>Fetches user-data (raw bytes, possibly gzip; empty when there is none) and metadata.</summary>
    /// <exception cref="DatasourceException">The source was available but reading it failed.</exception>
    public Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken);
}

/// <summary>User-data and metadata of one fetch.</summary>
/// <param name="UserData">Raw user-data; empty when the source has none.</param>
/// <param name="Metadata">Metadata; <see cref="Metadata.Empty"/> when the source has none.</param>
public sealed record DatasourceContent(byte[] UserData, Metadata Metadata);

/// <summary>Reading an available datasource failed (HTTP error other than 404, unreadable file, bad JSON).</summary>
public sealed class DatasourceException : Exception
{
    public DatasourceException()
    {
    }

    public DatasourceException(string message)
        : base(message)
    {
    }

    public DatasourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
