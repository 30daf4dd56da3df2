namespace Platform.Rkt.Images.Oci;

/// <summary>
/// A Docker image reference normalised as Docker does: <c>busybox</c> is
/// <c>registry-1.docker.io/library/busybox:latest</c>; <c>host:5000/a/b@sha256:…</c> keeps its registry.
/// </summary>
public sealed record DockerReference(string Registry, string Repository, string Tag, string? Digest)
{
    public const string DockerHub = "registry-1.docker.io";

    /// <summary>The appc name the store records: <c>registry/repository</c>.</summary>
    public string AppcName => Appc.AppcNames.SanitizeAcIdentifier($"{Registry}/{Repository}");

    /// <summary>What to ask the registry for: the digest if pinned, else the tag.</summary>
    public string ManifestReference => Digest ?? Tag;

    /// <exception cref="FormatException">Empty or malformed.</exception>
    public static DockerReference Parse(string reference)
    {
        if (string.IsNullOrWhiteSpace(reference) || reference.Contains(' ', StringComparison.Ordinal))
        {
            throw new FormatException($"invalid docker reference \"{reference}\"");
        }

        string? digest = null;
        int at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = reference[(at + 1)..];
            reference = reference[..at];
        }

        string registry = DockerHub;
        int slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            string first = reference[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                registry = first == "docker.io" || first == "index.docker.io" ? DockerHub : first;
                reference = reference[(slash + 1)..];
            }
        }

        string tag = "latest";
        int colon = reference.LastIndexOf(':');
        if (colon > reference.LastIndexOf('/'))
        {
            tag = reference[(colon + 1)..];
            reference = reference[..colon];
        }

        if (registry == DockerHub && !reference.Contains('/', StringComparison.Ordinal))
        {
            reference = "library/" + reference;
        }

        if (reference.Length == 0 || reference.Any(c => char.IsAsciiLetterUpper(c)))
        {
            throw new FormatException($"invalid docker repository \"{reference}\"");
        }

        return new DockerReference(registry, reference, tag, digest);
    }
}
