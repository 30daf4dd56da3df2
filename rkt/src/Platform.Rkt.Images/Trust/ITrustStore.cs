namespace Platform.Rkt.Images.Trust;

/// <summary>Where rkt's configuration directories are (global flags <c>--system-config</c>, <c>--local-config</c>, <c>--user-config</c>).</summary>
public sealed record ConfigPaths
{
    /// <summary>Vendor configuration, read-only to rkt (<c>/usr/lib/rkt</c>).</summary>
    public string SystemConfig { get; init; } = "/usr/lib/rkt";

    /// <summary>Administrator configuration, where <c>rkt trust</c> writes (<c>/etc/rkt</c>).</summary>
    public string LocalConfig { get; init; } = "/etc/rkt";

    /// <summary>Per-user configuration read after the others (rkt has no default); null for none.</summary>
    public string? UserConfig { get; init; }

    /// <summary>The directories in increasing precedence.</summary>
    public IEnumerable<string> InPrecedenceOrder()
    {
        yield return SystemConfig;
        yield return LocalConfig;
        if (UserConfig is { } user)
        {
            yield return user;
        }
    }
}

/// <summary>A trusted OpenPGP public key as stored in a <c>trustedkeys</c> directory.</summary>
/// <param name="Fingerprint">Lower-case hex fingerprint: the file name.</param>
/// <param name="Prefix">The image name prefix it is trusted for, or null for <c>root.d</c> (every image).</param>
/// <param name="Path">The key file.</param>
/// <param name="UserIds">The key's user IDs ("Name &lt;email&gt;").</param>
public sealed record TrustedKey(string Fingerprint, string? Prefix, string Path, IReadOnlyList<string> UserIds);

/// <summary>
/// rkt's keystore: <c>&lt;config&gt;/trustedkeys/root.d/&lt;fingerprint&gt;</c> and
/// <c>&lt;config&gt;/trustedkeys/prefix.d/&lt;image name prefix&gt;/&lt;fingerprint&gt;</c>, each
/// an ASCII-armored public key, read from the system, local and user configuration. An image named
/// <c>example.com/app/web</c> is checked against root keys and keys for the prefixes
/// <c>example.com/app/web</c>, <c>example.com/app</c> and <c>example.com</c>.
/// </summary>
public interface ITrustStore
{
    /// <summary>
    /// Stores an armored public key for <paramref name="prefix"/> (null: root) in the local
    /// configuration; returns the stored key. Replaces a key with the same fingerprint.
    /// </summary>
    /// <exception cref="InvalidDataException">Not an OpenPGP public key, or revoked or expired.</exception>
    public TrustedKey Add(ReadOnlySpan<byte> armoredKey, string? prefix);

    /// <summary>Keys trusted for exactly <paramref name="prefix"/> (null: root keys), or all keys when <paramref name="all"/>.</summary>
    public IReadOnlyList<TrustedKey> List(string? prefix, bool all);

    /// <summary>Deletes the key with <paramref name="fingerprint"/> for <paramref name="prefix"/> (null: root) from the local configuration.</summary>
    public bool Remove(string fingerprint, string? prefix);

    /// <summary>
    /// Checks <paramref name="signature"/> (armored or binary detached OpenPGP) over
    /// <paramref name="signed"/> with the keys trusted for <paramref name="imageName"/>. Returns the
    /// signing key.
    /// </summary>
    /// <exception cref="SignatureException">No trusted key made the signature, or it does not match.</exception>
    public TrustedKey Verify(string imageName, Stream signed, Stream signature);

    /// <summary>Parses an armored key without storing it (for the fingerprint review of <c>rkt trust</c>).</summary>
    public TrustedKey Inspect(ReadOnlySpan<byte> armoredKey);
}

/// <summary>An image's signature did not verify; the message says why, as rkt's does.</summary>
public sealed class SignatureException : Exception
{
    public SignatureException()
    {
    }

    public SignatureException(string message)
        : base(message)
    {
    }

    public SignatureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
