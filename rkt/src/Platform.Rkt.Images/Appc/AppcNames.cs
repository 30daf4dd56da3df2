using System.Text.RegularExpressions;

namespace Platform.Rkt.Images.Appc;

/// <summary>The name grammars of appc <c>spec/types.md</c>.</summary>
public static partial class AppcNames
{
    /// <summary>
    /// An AC Identifier (image names, label and annotation names): lower-case alphanumerics separated
    /// by single <c>-._~/</c>, e.g. <c>example.com/app-1</c>.
    /// </summary>
    public static bool IsAcIdentifier(string? value) => !string.IsNullOrEmpty(value) && AcIdentifierRegex().IsMatch(value);

    /// <summary>An AC Name (mount point, port and app names): lower-case alphanumerics separated by single dashes.</summary>
    public static bool IsAcName(string? value) => !string.IsNullOrEmpty(value) && AcNameRegex().IsMatch(value);

    /// <summary>
    /// Turns an arbitrary string into an AC Identifier the way appc's <c>SanitizeACIdentifier</c> does
    /// (lower-case, invalid runs become <c>-</c>), for names synthesised from Docker references.
    /// </summary>
    public static string SanitizeAcIdentifier(string value)
    {
        string lower = value.ToLowerInvariant();
        string replaced = InvalidAcIdentifierCharsRegex().Replace(lower, "_");
        string collapsed = SeparatorRunRegex().Replace(replaced, m => m.Value[..1]);
        return collapsed.Trim('-', '.', '_', '~', '/');
    }

    /// <summary>The operating systems and per-OS architectures appc accepts in <c>os</c>/<c>arch</c> labels.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ValidOsArch = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["linux"] = ["amd64", "i386", "aarch64", "aarch64_be", "armv6l", "armv7l", "armv7b", "ppc64", "ppc64le", "s390x"],
        ["freebsd"] = ["amd64", "i386", "arm"],
        ["darwin"] = ["x86_64", "i386"],
    };

    [GeneratedRegex("^[a-z0-9]+([-._~/][a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex AcIdentifierRegex();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex AcNameRegex();

    [GeneratedRegex("[^a-z0-9-._~/]", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidAcIdentifierCharsRegex();

    [GeneratedRegex("[-._~/]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex SeparatorRunRegex();
}
