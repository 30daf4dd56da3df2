using System.Globalization;

namespace Platform.Etcd.Storage.Wal;

/// <summary>
/// A segment's file name, <c>%016x-%016x.wal</c>: its sequence number (0, 1, 2, ... without gaps)
/// and the raft index of the first entry it may hold.
/// </summary>
internal readonly record struct SegmentName(ulong Sequence, ulong Index)
{
    public const string Extension = ".wal";

    public string FileName => $"{Sequence:x16}-{Index:x16}{Extension}";

    public static bool TryParse(string fileName, out SegmentName name)
    {
        name = default;
        if (fileName.Length != 16 + 1 + 16 + Extension.Length || fileName[16] != '-' || !fileName.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        if (!ulong.TryParse(fileName.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong sequence)
            || !ulong.TryParse(fileName.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong index))
        {
            return false;
        }

        name = new SegmentName(sequence, index);
        return true;
    }

    /// <summary>The segment names in <paramref name="directory"/>, by sequence; other files are ignored.</summary>
    public static List<SegmentName> List(string directory)
    {
        var names = new List<SegmentName>();
        foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (TryParse(Path.GetFileName(path), out SegmentName name))
            {
                names.Add(name);
            }
        }

        names.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return names;
    }
}
