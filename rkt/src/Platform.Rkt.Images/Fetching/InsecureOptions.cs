namespace Platform.Rkt.Images.Fetching;

/// <summary>rkt's <c>--insecure-options</c> (<c>Documentation/commands.md</c>).</summary>
[Flags]
public enum InsecureOptions
{
    None = 0,

    /// <summary>Skip signature verification.</summary>
    Image = 1,

    /// <summary>Accept any TLS certificate.</summary>
    Tls = 2,

    /// <summary>Skip re-hashing rendered trees before use.</summary>
    OnDisk = 4,

    /// <summary>Allow plain HTTP for downloads, discovery and registries.</summary>
    Http = 8,

    /// <summary>Allow fetching public keys (rkt trust, discovery pubkeys) over insecure channels.</summary>
    PubKey = 16,

    Capabilities = 32,
    Paths = 64,
    Seccomp = 128,

    AllFetch = Image | Tls | Http | PubKey,
    AllRun = OnDisk | Capabilities | Paths | Seccomp,
    All = AllFetch | AllRun,
}

/// <summary>Parses the comma-separated flag value.</summary>
public static class InsecureOptionsParser
{
    /// <summary>The names rkt accepts, in its order.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["none", "image", "tls", "ondisk", "http", "pubkey", "capabilities", "paths", "seccomp", "all-fetch", "all-run", "all"];

    /// <exception cref="FormatException">An unknown option name.</exception>
    public static InsecureOptions Parse(IEnumerable<string> values)
    {
        InsecureOptions result = InsecureOptions.None;
        foreach (string raw in values)
        {
            result |= raw.Trim() switch
            {
                "none" or "" => InsecureOptions.None,
                "image" => InsecureOptions.Image,
                "tls" => InsecureOptions.Tls,
                "ondisk" => InsecureOptions.OnDisk,
                "http" => InsecureOptions.Http,
                "pubkey" => InsecureOptions.PubKey,
                "capabilities" => InsecureOptions.Capabilities,
                "paths" => InsecureOptions.Paths,
                "seccomp" => InsecureOptions.Seccomp,
                "all-fetch" => InsecureOptions.AllFetch,
                "all-run" => InsecureOptions.AllRun,
                "all" => InsecureOptions.All,
                _ => throw new FormatException($"insecure option \"{raw}\" is unknown; permissible values: {string.Join(", ", Names)}"),
            };
        }

        return result;
    }
}

/// <summary>rkt's <c>--pull-policy</c>.</summary>
public enum PullPolicy
{
    /// <summary>Use only images already in the store.</summary>
    Never,

    /// <summary>Use the store when it has a match, fetch otherwise (rkt's default for fetch and run).</summary>
    New,

    /// <summary>Always ask the remote (cheaply, with the stored ETag) and import what changed.</summary>
    Update,
}
