namespace Platform.Rkt.Images.Archives;

/// <summary>
/// What an image tar may contain. The defaults are the safe ones; every relaxation is explicit.
/// Rules that never relax: no absolute or <c>..</c> paths, no links escaping the root, no duplicate
/// entries, bounded header sizes, nothing followed through a symlink while extracting.
/// </summary>
public sealed record ExtractionPolicy
{
    /// <summary>Setuid/setgid bits on regular files. Off by default; the tree store turns it on when rendering as root (ownership is then preserved, as the image intends).</summary>
    public bool AllowSetuid { get; init; }

    /// <summary>Apply tar uid/gid with lchown(2). Only meaningful as root.</summary>
    public bool PreserveOwnership { get; init; }

    /// <summary>Longest entry or link name accepted, in bytes (Linux's PATH_MAX).</summary>
    public int MaxNameBytes { get; init; } = 4096;

    /// <summary>Largest PAX or GNU long-name header accepted, in bytes.</summary>
    public int MaxMetadataHeaderBytes { get; init; } = 1024 * 1024;

    /// <summary>The largest uncompressed tar accepted (decompression-bomb guard). 16 GiB by default.</summary>
    public long MaxUncompressedBytes { get; init; } = 16L * 1024 * 1024 * 1024;

    /// <summary>The default for a process: setuid and ownership kept exactly when running as root.</summary>
    public static ExtractionPolicy ForCurrentUser()
    {
        bool root = Native.Libc.IsRoot;
        return new ExtractionPolicy { AllowSetuid = root, PreserveOwnership = root };
    }
}
