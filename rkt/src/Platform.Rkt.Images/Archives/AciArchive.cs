using System.Formats.Tar;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Archives;

/// <summary>One entry of an ACI as the walk hands it out, already checked.</summary>
/// <param name="Entry">The tar entry; its data stream is readable only during the callback.</param>
/// <param name="Components">Its clean path within the archive (<c>rootfs</c>, <c>bin</c>, …).</param>
/// <param name="HardLinkTarget">For hard links, the target's clean archive path.</param>
internal readonly record struct AciEntry(TarEntry Entry, string[] Components, string[]? HardLinkTarget)
{
    /// <summary>The path below <c>rootfs/</c>, or null for <c>manifest</c>.</summary>
    public string[]? RootfsComponents => Components[0] == "rootfs" ? Components[1..] : null;
}

/// <summary>
/// Reads an uncompressed ACI tar (appc <c>spec/aci.md</c>): exactly the top-level entries
/// <c>manifest</c> (a file) and <c>rootfs/</c>, no duplicates, every entry passing
/// <see cref="TarEntryRules"/>, hard links only to earlier regular files of the rootfs.
/// </summary>
internal static class AciArchive
{
    /// <summary>
    /// Walks <paramref name="tar"/> once, checking every entry and calling <paramref name="onEntry"/>
    /// for each (when given). Returns the raw manifest bytes.
    /// </summary>
    /// <exception cref="InvalidImageException">The first rule broken.</exception>
    public static byte[] Walk(Stream tar, ExtractionPolicy policy, Action<AciEntry>? onEntry)
    {
        byte[]? manifest = null;
        bool sawRootfs = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var regularFiles = new HashSet<string>(StringComparer.Ordinal);
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

                string[] components = TarEntryRules.NormalizeName(entry.Name, policy);
                if (components.Length == 0)
                {
                    continue; // "./": the archive root itself
                }

                string key = string.Join('/', components);
                if (!seen.Add(key))
                {
                    throw new InvalidImageException($"duplicate tar entry \"{entry.Name}\"");
                }

                TarEntryRules.CheckTypeAndMode(entry, policy);
                string top = components[0];
                if (top == "manifest" && components.Length == 1)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    {
                        throw new InvalidImageException("ACI \"manifest\" is not a regular file");
                    }

                    if (entry.Length > 1024 * 1024)
                    {
                        throw new InvalidImageException($"ACI manifest of {entry.Length} bytes exceeds 1 MiB");
                    }

                    using var buffer = new MemoryStream();
                    entry.DataStream?.CopyTo(buffer);
                    manifest = buffer.ToArray();
                    onEntry?.Invoke(new AciEntry(entry, components, null));
                    continue;
                }

                if (top != "rootfs")
                {
                    throw new InvalidImageException($"ACI contains \"{entry.Name}\" outside manifest and rootfs/");
                }

                if (components.Length == 1)
                {
                    if (entry.EntryType != TarEntryType.Directory)
                    {
                        throw new InvalidImageException("ACI \"rootfs\" is not a directory");
                    }

                    sawRootfs = true;
                }

                string[]? linkTarget = null;
                if (entry.EntryType == TarEntryType.SymbolicLink)
                {
                    TarEntryRules.CheckSymlinkTarget(entry.Name, components[1..], entry.LinkName, policy);
                }
                else if (entry.EntryType == TarEntryType.HardLink)
                {
                    linkTarget = TarEntryRules.NormalizeName(entry.LinkName, policy);
                    if (linkTarget.Length < 2 || linkTarget[0] != "rootfs" || !regularFiles.Contains(string.Join('/', linkTarget)))
                    {
                        throw new InvalidImageException($"hard link \"{entry.Name}\" -> \"{entry.LinkName}\" does not point at an earlier file inside rootfs/");
                    }
                }
                else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)
                {
                    regularFiles.Add(key);
                }

                onEntry?.Invoke(new AciEntry(entry, components, linkTarget));
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException($"not a valid tar archive: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new InvalidImageException($"not a valid tar archive: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new InvalidImageException("ACI has no manifest");
        }

        if (!sawRootfs && seen.Any(s => s.StartsWith("rootfs/", StringComparison.Ordinal)) is false && !seen.Contains("rootfs"))
        {
            throw new InvalidImageException("ACI has no rootfs/ directory");
        }

        return manifest;
    }
}
