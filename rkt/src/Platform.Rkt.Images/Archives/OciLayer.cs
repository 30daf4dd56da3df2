using System.Formats.Tar;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Archives;

/// <summary>
/// Applies one OCI/Docker layer tar (image-spec <c>layer.md</c>) to a tree: entries are checked by
/// <see cref="TarEntryRules"/>, <c>.wh.NAME</c> deletes NAME from lower layers, <c>.wh..wh..opq</c>
/// empties its directory of what lower layers put there. Duplicate paths in one layer are rejected.
/// </summary>
internal static class OciLayer
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>
    /// Checks every entry of <paramref name="tar"/> and, when <paramref name="writer"/> is given,
    /// applies it. Returns the number of entries.
    /// </summary>
    public static int Apply(Stream tar, ExtractionPolicy policy, TreeWriter? writer)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var opaqueDirs = new List<string[]>();
        int count = 0;
        using var guard = new TarHeaderGuard(tar, policy.MaxMetadataHeaderBytes);
        try
        {
            using var reader = new TarReader(guard, leaveOpen: true);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                count++;
                string[] components = TarEntryRules.NormalizeName(entry.Name, policy);
                if (components.Length == 0)
                {
                    continue;
                }

                string key = string.Join('/', components);
                if (!seen.Add(key))
                {
                    throw new InvalidImageException($"duplicate tar entry \"{entry.Name}\" in one layer");
                }

                string name = components[^1];
                if (name == OpaqueMarker)
                {
                    opaqueDirs.Add(components[..^1]);
                    continue;
                }

                if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    string target = name[WhiteoutPrefix.Length..];
                    if (target.Length == 0 || target is "." or "..")
                    {
                        throw new InvalidImageException($"invalid whiteout \"{entry.Name}\"");
                    }

                    string[] victim = [.. components[..^1], target];
                    writer?.Remove(victim, entry.Name);
                    continue;
                }

                TarEntryRules.CheckTypeAndMode(entry, policy);
                string[]? linkTarget = null;
                if (entry.EntryType == TarEntryType.SymbolicLink)
                {
                    TarEntryRules.CheckSymlinkTarget(entry.Name, components, entry.LinkName, policy);
                }
                else if (entry.EntryType == TarEntryType.HardLink)
                {
                    linkTarget = TarEntryRules.NormalizeName(entry.LinkName, policy);
                }

                writer?.Write(entry, components, linkTarget);
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException($"layer is not a valid tar archive: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new InvalidImageException($"layer is not a valid tar archive: {e.Message}", e);
        }

        if (writer is not null)
        {
            foreach (string[] dir in opaqueDirs)
            {
                string prefix = dir.Length == 0 ? string.Empty : string.Join('/', dir) + "/";
                var keep = seen
                    .Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && p.Length > prefix.Length)
                    .Select(p => p[prefix.Length..].Split('/')[0])
                    .ToHashSet(StringComparer.Ordinal);
                writer.ClearDirectory(dir, keep, string.Join('/', [.. dir, OpaqueMarker]));
            }
        }

        return count;
    }
}
