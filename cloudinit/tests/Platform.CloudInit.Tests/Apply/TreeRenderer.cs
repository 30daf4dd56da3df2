using System.Text;

namespace Platform.CloudInit.Tests.Apply;

/// <summary>
/// Renders a directory tree as text, one entry per file/directory/symlink in path order with type,
/// mode and owner, and file contents indented below: the form apply golden files are compared in.
/// </summary>
internal static class TreeRenderer
{
    public static string Render(string root)
    {
        var sb = new StringBuilder();
        Dictionary<string, string> owners = Owners(root);
        foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            string owner = owners.GetValueOrDefault(relative, "?");
            if (info.LinkTarget is string target)
            {
                sb.Append($"l {relative} -> {target}\n");
            }
            else if (Directory.Exists(path))
            {
                sb.Append($"d {Mode(path)} {owner} {relative}/\n");
            }
            else
            {
                sb.Append($"f {Mode(path)} {owner} {relative}\n");
                string content = File.ReadAllText(path);
                foreach (string line in content.Split('\n'))
                {
                    sb.Append("  | ").Append(line).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    private static string Mode(string path) => "0" + Convert.ToString((int)File.GetUnixFileMode(path), 8);

    // Ownership is not exposed by .NET's file APIs; find(1) prints it for the whole tree at once.
    private static Dictionary<string, string> Owners(string root)
    {
        var info = new System.Diagnostics.ProcessStartInfo("find", [root, "-mindepth", "1", "-printf", "%P\\t%U:%G\\n"]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
    }
}
