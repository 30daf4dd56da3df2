using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Rkt.Images.Trees;

/// <summary>
/// A digest of a directory tree that changes when anything an app could observe changes: every
/// path (sorted ordinally), its type, mode bits, size, file content and link target. Owners are
/// not included (.NET has no lstat uid; rendering as root applies them from the verified blobs).
/// Symlinks are never followed.
/// </summary>
internal static class TreeHasher
{
    /// <summary>Returns <c>sha512-&lt;hex&gt;</c> and the total bytes of regular files.</summary>
    public static (string Hash, long Size) Hash(string root)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        long size = 0;
        try
        {
            Walk(root, string.Empty, hash, buffer, ref size);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return ("sha512-" + Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    private static void Walk(string dir, string relative, IncrementalHash hash, byte[] buffer, ref long size)
    {
        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false })
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        foreach (FileSystemInfo entry in entries)
        {
            string path = relative + "/" + entry.Name;
            string mode = Convert.ToString((int)entry.UnixFileMode, 8);
            if (entry.LinkTarget is { } target)
            {
                Append(hash, $"L {path} {target}\n");
            }
            else if ((entry.Attributes & FileAttributes.Directory) != 0)
            {
                Append(hash, $"D {path} {mode}\n");
                Walk(entry.FullName, path, hash, buffer, ref size);
            }
            else
            {
                var file = (FileInfo)entry;
                Append(hash, $"F {path} {mode} {file.Length.ToString(CultureInfo.InvariantCulture)}\n");
                using var stream = new FileStream(entry.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                }

                size += file.Length;
            }
        }
    }

    private static void Append(IncrementalHash hash, string text) => hash.AppendData(Encoding.UTF8.GetBytes(text));
}
