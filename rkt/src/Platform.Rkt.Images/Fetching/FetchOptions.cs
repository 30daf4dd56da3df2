using Platform.Rkt.Images.Config;

namespace Platform.Rkt.Images.Fetching;

/// <summary>How images are fetched: rkt's fetch-related flags and configuration.</summary>
public sealed record FetchOptions
{
    public InsecureOptions Insecure { get; init; }

    public PullPolicy PullPolicy { get; init; } = PullPolicy.New;

    /// <summary><c>--trust-keys-from-https</c>: trust keys found through discovery over HTTPS on first use.</summary>
    public bool TrustKeysFromHttps { get; init; }

    /// <summary><c>--signature</c>: a local signature file for the (single) image fetched.</summary>
    public string? SignaturePath { get; init; }

    /// <summary>Credentials from <c>auth.d</c>.</summary>
    public AuthConfig Auth { get; init; } = AuthConfig.Empty;

    /// <summary>Default <c>os</c> label for discovery and index selection.</summary>
    public string Os { get; init; } = "linux";

    /// <summary>Default <c>arch</c> label in appc spelling (<c>amd64</c>, <c>aarch64</c>).</summary>
    public string Arch { get; init; } = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
        System.Runtime.InteropServices.Architecture.X86 => "i386",
        _ => "amd64",
    };

    /// <summary>
    /// A port for discovery requests (like <c>actool discover --port</c>); 0 uses the scheme's. Tests
    /// serve discovery pages on loopback ports; AC names cannot carry a port.
    /// </summary>
    public int DiscoveryPort { get; init; }

    /// <summary>Where progress goes.</summary>
    public IProgressSink Progress { get; init; } = NullProgressSink.Instance;

    /// <summary>Overrides the HTTP stack (tests); null builds one honouring <see cref="InsecureOptions.Tls"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Per-request timeout for HTTP.</summary>
    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromMinutes(10);
}
