using System.Net;

namespace Platform.CloudInit.Datasources;

/// <summary>
/// What a datasource knows about the machine besides user-data. Hostname and SSH keys are merged
/// into the cloud-config (user-data wins); the addresses feed <c>$private_ipv4</c>-style substitution.
/// </summary>
public sealed record Metadata
{
    public static Metadata Empty { get; } = new();

    public string Hostname { get; init; } = string.Empty;

    public IPAddress? PublicIPv4 { get; init; }

    public IPAddress? PrivateIPv4 { get; init; }

    public IPAddress? PublicIPv6 { get; init; }

    public IPAddress? PrivateIPv6 { get; init; }

    /// <summary>SSH public keys by name, in the order the datasource listed them.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> SshPublicKeys { get; init; } = [];

    /// <summary>Raw network configuration (config-drive's content_path file), or null.</summary>
    public byte[]? NetworkConfig { get; init; }
}
