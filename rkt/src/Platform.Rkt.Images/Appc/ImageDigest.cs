using System.Security.Cryptography;

namespace Platform.Rkt.Images.Appc;

/// <summary>
/// A content digest: <c>sha512-&lt;128 hex&gt;</c> for ACIs (the SHA-512 of the uncompressed tar,
/// appc's image ID) and <c>sha256</c> for OCI and Docker content. Accepts both the appc spelling
/// (<c>sha512-…</c>) and the OCI one (<c>sha256:…</c>).
/// </summary>
public readonly record struct ImageDigest
{
    private ImageDigest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    /// <summary><c>sha512</c> or <c>sha256</c>.</summary>
    public string Algorithm { get; }

    /// <summary>Lower-case hex of the full digest.</summary>
    public string Hex { get; }

    /// <summary>
    /// The key of this content in the store, as rkt spells it: <c>sha512-</c> and the first 64 hex
    /// digits for SHA-512 (rkt's diskv keys), the full <c>sha256-…</c> otherwise.
    /// </summary>
    public string StoreKey => Algorithm == "sha512" ? "sha512-" + Hex[..64] : Algorithm + "-" + Hex;

    /// <summary>The OCI spelling, <c>sha256:…</c>.</summary>
    public string OciString => Algorithm + ":" + Hex;

    /// <summary>The appc spelling, <c>sha512-…</c>.</summary>
    public override string ToString() => Algorithm + "-" + Hex;

    public static ImageDigest Sha512(ReadOnlySpan<byte> hash) => new("sha512", Convert.ToHexStringLower(hash));

    public static ImageDigest Sha256(ReadOnlySpan<byte> hash) => new("sha256", Convert.ToHexStringLower(hash));

    /// <summary>Parses a full digest in either spelling.</summary>
    public static bool TryParse(string? text, out ImageDigest digest)
    {
        digest = default;
        if (text is null)
        {
            return false;
        }

        int separator = text.IndexOfAny(['-', ':']);
        if (separator < 0)
        {
            return false;
        }

        string algorithm = text[..separator];
        string hex = text[(separator + 1)..];
        int expected = algorithm switch
        {
            "sha512" => 128,
            "sha256" => 64,
            _ => -1,
        };
        if (hex.Length != expected || !hex.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        digest = new ImageDigest(algorithm, hex);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/>.</summary>
    public static ImageDigest Parse(string text) =>
        TryParse(text, out ImageDigest digest) ? digest : throw new FormatException($"\"{text}\" is not a sha512 or sha256 digest");

    /// <summary>A hasher for this digest's algorithm, to verify content against it.</summary>
    public IncrementalHash CreateHash() =>
        IncrementalHash.CreateHash(Algorithm == "sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    /// <summary>True when <paramref name="hash"/> (from <see cref="CreateHash"/>) is this digest.</summary>
    public bool Matches(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash) == Hex;
}
