using System.Formats.Tar;
using System.Text;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Archives;

/// <summary>
/// The per-entry checks every image tar goes through, independent of the file system: path shape,
/// entry types, mode bits and link targets. Failures are <see cref="InvalidImageException"/>s that
/// name the entry.
/// </summary>
internal static class TarEntryRules
{
    private const int MaxComponentBytes = 255;

    /// <summary>
    /// The entry's path as clean components: leading <c>./</c> and empty or <c>.</c> components
    /// dropped. Rejects absolute paths, <c>..</c>, NUL and over-long names.
    /// </summary>
    public static string[] NormalizeName(string name, ExtractionPolicy policy)
    {
        if (name.Length == 0)
        {
            throw new InvalidImageException("tar entry with an empty name");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidImageException($"tar entry \"{name.Replace("\0", "\\0", StringComparison.Ordinal)}\" contains NUL");
        }

        if (Encoding.UTF8.GetByteCount(name) > policy.MaxNameBytes)
        {
            throw new InvalidImageException($"tar entry name of {Encoding.UTF8.GetByteCount(name)} bytes exceeds {policy.MaxNameBytes} bytes");
        }

        if (name.StartsWith('/'))
        {
            throw new InvalidImageException($"tar entry \"{name}\" has an absolute path");
        }

        var parts = new List<string>();
        foreach (string part in name.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw new InvalidImageException($"tar entry \"{name}\" contains \"..\"");
            }

            if (Encoding.UTF8.GetByteCount(part) > MaxComponentBytes)
            {
                throw new InvalidImageException($"tar entry \"{name}\" has a path component longer than {MaxComponentBytes} bytes");
            }

            parts.Add(part);
        }

        return [.. parts];
    }

    /// <summary>Rejects entry types and mode bits the policy does not allow.</summary>
    public static void CheckTypeAndMode(TarEntry entry, ExtractionPolicy policy)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile:
            case TarEntryType.V7RegularFile:
            case TarEntryType.ContiguousFile:
            case TarEntryType.Directory:
            case TarEntryType.SymbolicLink:
            case TarEntryType.HardLink:
            case TarEntryType.Fifo:
                break;
            case TarEntryType.CharacterDevice:
            case TarEntryType.BlockDevice:
                throw new InvalidImageException($"tar entry \"{entry.Name}\" is a device node ({entry.EntryType}), which images may not contain");
            default:
                throw new InvalidImageException($"tar entry \"{entry.Name}\" has unsupported type {entry.EntryType}");
        }

        const UnixFileMode setId = UnixFileMode.SetUser | UnixFileMode.SetGroup;
        if ((entry.Mode & setId) == 0)
        {
            return;
        }

        if (entry.EntryType == TarEntryType.Directory)
        {
            if ((entry.Mode & UnixFileMode.SetUser) != 0)
            {
                throw new InvalidImageException($"tar entry \"{entry.Name}\" is a directory with the setuid bit");
            }

            return; // setgid on a directory only sets the group of new files: harmless and common.
        }

        if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
        {
            return; // the mode of links is ignored by the kernel and never applied.
        }

        if (!policy.AllowSetuid)
        {
            throw new InvalidImageException(
                $"tar entry \"{entry.Name}\" has setuid/setgid bits ({Convert.ToString((int)entry.Mode, 8)}), which are not allowed here (only root renders keep them)");
        }
    }

    /// <summary>
    /// Rejects a symlink whose target, resolved from the link's directory, climbs above the root
    /// (<c>../../etc/passwd</c>). Absolute targets are resolved inside the root when used, as an ACE does.
    /// </summary>
    public static void CheckSymlinkTarget(string entryName, IReadOnlyList<string> linkComponents, string target, ExtractionPolicy policy)
    {
        if (target.Length == 0 || target.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidImageException($"symlink \"{entryName}\" has an empty or NUL-containing target");
        }

        if (Encoding.UTF8.GetByteCount(target) > policy.MaxNameBytes)
        {
            throw new InvalidImageException($"symlink \"{entryName}\" target exceeds {policy.MaxNameBytes} bytes");
        }

        if (target.StartsWith('/'))
        {
            return;
        }

        int depth = linkComponents.Count - 1; // the link's directory
        foreach (string part in target.Split('/'))
        {
            if (part == "..")
            {
                depth--;
                if (depth < 0)
                {
                    throw new InvalidImageException($"symlink \"{entryName}\" -> \"{target}\" points outside the root");
                }
            }
            else if (part.Length > 0 && part != ".")
            {
                depth++;
            }
        }
    }
}
