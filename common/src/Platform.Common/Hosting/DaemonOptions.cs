using Microsoft.Extensions.Logging;

namespace Platform.Common.Hosting;

/// <summary>How a Platform daemon hosts its HTTP surface and shuts down.</summary>
public sealed class DaemonOptions
{
    /// <summary>The daemon's name as users know it (<c>etcd</c>, <c>flanneld</c>); used as the log category root.</summary>
    public required string Name { get; init; }

    /// <summary>URLs Kestrel listens on (<c>http://127.0.0.1:2379</c>). Empty means no listener.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>How long in-flight work may take to finish after SIGTERM/SIGINT before the process exits anyway.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
