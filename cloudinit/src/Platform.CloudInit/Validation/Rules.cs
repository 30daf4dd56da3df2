using System.Globalization;
using Platform.CloudInit.Config;
using Platform.CloudInit.Schema;
using Platform.CloudInit.Yaml;

namespace Platform.CloudInit.Validation;

/// <summary>
/// coreos-cloudinit's validation rules (config/validate/rules.go), in its order, followed by
/// Platform's own. Each walks the document tree and appends to the report.
/// </summary>
internal static class Rules
{
    public static IReadOnlyList<Action<YamlNode, ValidationReport>> All { get; } =
    [
        CheckDiscoveryUrl,
        CheckEncoding,
        CheckStructure,
        CheckValidity,
        CheckWriteFiles,
        CheckWriteFilesUnderCoreos,
        PlatformRules.CheckEtcd2,
        PlatformRules.CheckFlannel,
    ];

    /// <summary><c>coreos.etcd.discovery</c> must parse as a request URI (absolute URL or absolute path).</summary>
    public static void CheckDiscoveryUrl(YamlNode root, ValidationReport report)
    {
        YamlNode? discovery = root.Child("coreos")?.Child("etcd")?.Child("discovery");
        if (discovery is null)
        {
            return;
        }

        if (!IsRequestUri(discovery.Text ?? string.Empty))
        {
            report.Warning(discovery.Line, "discovery URL is not valid");
        }
    }

    /// <summary>Go's url.ParseRequestURI: an absolute URI with a scheme, or a path starting with '/'.</summary>
    internal static bool IsRequestUri(string text)
    {
        if (text.Length == 0 || text.Any(char.IsWhiteSpace))
        {
            return false;
        }

        if (text[0] == '/')
        {
            return true;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !char.IsAsciiLetter(text[0]))
        {
            return false;
        }

        for (int i = 1; i < colon; i++)
        {
            char c = text[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Each <c>write_files</c> entry with an encoding must have content decodable with it.</summary>
    public static void CheckEncoding(YamlNode root, ValidationReport report)
    {
        YamlNode? files = root.Child("write_files");
        if (files is null)
        {
            return;
        }

        foreach (YamlNode file in files.Children)
        {
            YamlNode? encoding = file.Child("encoding");
            if (encoding is null)
            {
                continue;
            }

            YamlNode? content = file.Child("content");
            string encodingText = encoding.Text ?? string.Empty;
            byte[] raw = content?.Binary ?? System.Text.Encoding.UTF8.GetBytes(content?.Text ?? string.Empty);
            if (!ContentDecoder.TryDecode(raw, encodingText, out _, out _))
            {
                report.Error(content?.Line ?? 0, $"content cannot be decoded as \"{encodingText}\"");
            }
        }
    }

    /// <summary>Unknown keys, incompatible types and deprecated keys, as warnings.</summary>
    public static void CheckStructure(YamlNode root, ValidationReport report) =>
        CheckNodeStructure(root, CloudConfigSchema.Root, report);

    private static void CheckNodeStructure(YamlNode node, SchemaNode guide, ValidationReport report)
    {
        if (!IsCompatible(node.Kind, guide.Kind))
        {
            report.Warning(node.Line, $"incorrect type for \"{node.Name}\" (want {guide.HumanType})");
            return;
        }

        switch (guide.Kind)
        {
            case SchemaKind.Struct:
                foreach (YamlNode child in node.Children)
                {
                    SchemaNode? childGuide = guide.Child(child.Name);
                    if (childGuide is null)
                    {
                        report.Warning(child.Line, $"unrecognized key \"{child.Name}\"");
                        continue;
                    }

                    if (childGuide.Deprecated is not null)
                    {
                        report.Warning(child.Line, $"deprecated key \"{child.Name}\" ({childGuide.Deprecated})");
                    }

                    CheckNodeStructure(child, childGuide, report);
                }

                break;
            case SchemaKind.Slice:
                foreach (YamlNode child in node.Children)
                {
                    CheckNodeStructure(child, guide.Element!, report);
                }

                break;
        }
    }

    /// <summary>coreos-cloudinit's isCompatible: which YAML kinds decode into which Go kinds.</summary>
    internal static bool IsCompatible(YamlNodeKind node, SchemaKind guide) => guide switch
    {
        SchemaKind.String => node is YamlNodeKind.String or YamlNodeKind.Int or YamlNodeKind.Float or YamlNodeKind.Bool,
        SchemaKind.Struct => node == YamlNodeKind.Map,
        SchemaKind.Float => node is YamlNodeKind.Float or YamlNodeKind.Int,
        SchemaKind.Int => node == YamlNodeKind.Int,
        SchemaKind.Bool => node == YamlNodeKind.Bool,
        SchemaKind.Slice => node == YamlNodeKind.Sequence,
        _ => false,
    };

    /// <summary>Every non-zero value whose field has a <c>valid</c> pattern must match it (errors).</summary>
    public static void CheckValidity(YamlNode root, ValidationReport report) =>
        CheckNodeValidity(root, CloudConfigSchema.Root, report);

    private static void CheckNodeValidity(YamlNode node, SchemaNode guide, ValidationReport report)
    {
        if (guide.Valid is not null && node.IsScalar && IsCompatible(node.Kind, guide.Kind))
        {
            string value = StrongText(node, guide);
            if (value.Length > 0 && !guide.Valid.IsMatch(value))
            {
                report.Error(node.Line, $"invalid value {value}");
            }
        }

        switch (guide.Kind)
        {
            case SchemaKind.Struct:
                foreach (YamlNode child in node.Children)
                {
                    if (guide.Child(child.Name) is SchemaNode childGuide)
                    {
                        CheckNodeValidity(child, childGuide, report);
                    }
                }

                break;
            case SchemaKind.Slice:
                foreach (YamlNode child in node.Children)
                {
                    CheckNodeValidity(child, guide.Element!, report);
                }

                break;
        }
    }

    /// <summary>
    /// The value as the strongly typed decode sees it: string fields keep the text as written (so an
    /// unquoted <c>0644</c> stays "0644", not 420), other kinds print as Go's %v.
    /// </summary>
    internal static string StrongText(YamlNode node, SchemaNode guide) =>
        guide.Kind == SchemaKind.String ? node.Text ?? string.Empty : CloudConfigParser.GoFormat(node.Value!);

    /// <summary>A <c>write_files</c> path whose directory is under /usr cannot be written (read-only /usr).</summary>
    public static void CheckWriteFiles(YamlNode root, ValidationReport report)
    {
        YamlNode? files = root.Child("write_files");
        if (files is null)
        {
            return;
        }

        foreach (YamlNode file in files.Children)
        {
            YamlNode? path = file.Child("path");
            if (path is null)
            {
                continue;
            }

            if (GoPathDir(path.Text ?? string.Empty).StartsWith("/usr", StringComparison.Ordinal))
            {
                report.Error(path.Line, "file cannot be written to a read-only filesystem");
            }
        }
    }

    /// <summary><c>write_files</c> under <c>coreos</c> is a common mistake: noted as info.</summary>
    public static void CheckWriteFilesUnderCoreos(YamlNode root, ValidationReport report)
    {
        YamlNode? misplaced = root.Child("coreos")?.Child("write_files");
        if (misplaced is not null)
        {
            report.Info(misplaced.Line, "write_files doesn't belong under coreos");
        }
    }

    /// <summary>Go's path.Dir: the lexically cleaned directory part.</summary>
    internal static string GoPathDir(string path)
    {
        int slash = path.LastIndexOf('/');
        string dir = slash < 0 ? string.Empty : path[..(slash + 1)];
        return CleanPath(dir);
    }

    internal static string CleanPath(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }

        bool rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else if (!rooted)
                {
                    parts.Add("..");
                }

                continue;
            }

            parts.Add(part);
        }

        string joined = string.Join('/', parts);
        return rooted ? "/" + joined : (joined.Length == 0 ? "." : joined);
    }

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
