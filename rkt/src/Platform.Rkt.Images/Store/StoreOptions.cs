using Platform.Rkt.Images.Archives;

namespace Platform.Rkt.Images.Store;

/// <summary>How a store is opened.</summary>
public sealed record StoreOptions
{
    /// <summary>rkt's data directory (<c>--dir</c>); the store lives in its <c>cas/</c>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The clock for import and last-used times.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>What image tars may contain, and size limits.</summary>
    public ExtractionPolicy Extraction { get; init; } = ExtractionPolicy.ForCurrentUser();
}
