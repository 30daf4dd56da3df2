namespace Platform.CloudInit.Datasources;

/// <summary>Shared settings of the datasources.</summary>
public sealed class DatasourceOptions
{
    /// <summary>The client metadata services and URLs are fetched with. Owned by the caller.</summary>
    public required HttpClient HttpClient { get; init; }

    /// <summary>Where <c>--from-proc-cmdline</c> reads the kernel command line.</summary>
    public string ProcCmdlinePath { get; init; } = "/proc/cmdline";

    /// <summary>Attempts per HTTP fetch before giving up (coreos-cloudinit's GetRetry tries 15 times).</summary>
    public int HttpAttempts { get; init; } = 15;

    /// <summary>The first pause between HTTP attempts; doubles up to <see cref="HttpMaxBackoff"/>.</summary>
    public TimeSpan HttpInitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan HttpMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock backoff delays use; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
