using System.Globalization;
using System.Text;
using Platform.CloudInit.Schema;
using Platform.CloudInit.Yaml;

namespace Platform.CloudInit.Config;

/// <summary>The outcome of <see cref="CloudConfigParser.Parse"/>.</summary>
/// <param name="Config">What could be decoded; fields that failed to decode keep their zero value.</param>
/// <param name="Error">Null on success; otherwise go-yaml's message (<c>yaml: line 3: ...</c>).</param>
public sealed record CloudConfigParseResult(CloudConfig Config, string? Error);

/// <summary>
/// Decodes cloud-config text into <see cref="CloudConfig"/> the way coreos-cloudinit's
/// <c>NewCloudConfig</c> does: keys normalised from '-' to '_', unknown keys ignored, type mismatches
/// reported as unmarshal errors while the rest still decodes.
/// </summary>
public static class CloudConfigParser
{
    public static CloudConfigParseResult Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        (YamlNode? root, YamlSyntaxError? syntax) = YamlLoader.Load(text, normalizeKeys: true);
        if (syntax is not null)
        {
            return new(CloudConfig.Empty, $"yaml: line {syntax.Line}: {syntax.Message}");
        }

        if (root is null || root.Kind == YamlNodeKind.Null)
        {
            return new(CloudConfig.Empty, null);
        }

        var errors = new List<string>();
        if (root.Kind != YamlNodeKind.Map)
        {
            return new(CloudConfig.Empty, $"yaml: unmarshal errors:\n  line {root.Line}: cannot unmarshal {Tag(root)} into config.CloudConfig");
        }

        var binder = new Binder(errors);
        CloudConfig config = binder.BindRoot(root);
        string? error = errors.Count == 0 ? null : "yaml: unmarshal errors:\n  " + string.Join("\n  ", errors);
        return new(config, error);
    }

    internal static string Tag(YamlNode node) => node.Kind switch
    {
        YamlNodeKind.Map => "!!map",
        YamlNodeKind.Sequence => "!!seq",
        YamlNodeKind.Int => "!!int",
        YamlNodeKind.Float => "!!float",
        YamlNodeKind.Bool => "!!bool",
        YamlNodeKind.Null => "!!null",
        _ => "!!str",
    };

    /// <summary>Formats a resolved scalar as Go's <c>%v</c> prints the strongly typed value.</summary>
    internal static string GoFormat(object value) => value switch
    {
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        _ => value.ToString() ?? string.Empty,
    };

    private static string FormatFloat(double d)
    {
        if (double.IsPositiveInfinity(d))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(d))
        {
            return "-Inf";
        }

        if (double.IsNaN(d))
        {
            return "NaN";
        }

        // %v of a float64 is %g with the shortest representation; exponent when < 1e-4 or >= 1e21.
        double magnitude = Math.Abs(d);
        if (magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e21))
        {
            string r = d.ToString("E16", CultureInfo.InvariantCulture);
            string shortest = d.ToString("R", CultureInfo.InvariantCulture);
            if (shortest.Contains('E', StringComparison.Ordinal))
            {
                r = shortest;
            }

            int e = r.IndexOf('E', StringComparison.Ordinal);
            string mantissa = r[..e];
            int exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return $"{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }

        return d.ToString("R", CultureInfo.InvariantCulture);
    }

    private sealed class Binder
    {
        private readonly List<string> _errors;

        public Binder(List<string> errors)
        {
            _errors = errors;
        }

        public CloudConfig BindRoot(YamlNode root)
        {
            SchemaNode schema = CloudConfigSchema.Root;
            return new CloudConfig
            {
                SshAuthorizedKeys = Strings(root.Child("ssh_authorized_keys")),
                CoreOS = BindCoreOS(root.Child("coreos"), schema.Child("coreos")!),
                WriteFiles = Items(root.Child("write_files"), "config.File", BindFile),
                Hostname = Str(root.Child("hostname")),
                Users = Items(root.Child("users"), "config.User", BindUser),
                ManageEtcHosts = Str(root.Child("manage_etc_hosts")),
            };
        }

        private CoreOSConfig BindCoreOS(YamlNode? node, SchemaNode schema)
        {
            if (!IsMap(node, "config.CoreOS"))
            {
                return new CoreOSConfig();
            }

            YamlNode? oem = node!.Child("oem");
            YamlNode? update = node.Child("update");
            return new CoreOSConfig
            {
                Etcd = Env(node.Child("etcd"), schema.Child("etcd")!),
                Etcd2 = Env(node.Child("etcd2"), schema.Child("etcd2")!),
                Flannel = Env(node.Child("flannel"), schema.Child("flannel")!),
                Fleet = Env(node.Child("fleet"), schema.Child("fleet")!),
                Locksmith = Env(node.Child("locksmith"), schema.Child("locksmith")!),
                Oem = IsMap(oem, "config.OEM")
                    ? new OemConfig
                    {
                        Id = Str(oem!.Child("id")),
                        Name = Str(oem.Child("name")),
                        VersionId = Str(oem.Child("version_id")),
                        HomeUrl = Str(oem.Child("home_url")),
                        BugReportUrl = Str(oem.Child("bug_report_url")),
                    }
                    : new OemConfig(),
                Update = IsMap(update, "config.Update")
                    ? new UpdateConfig
                    {
                        RebootStrategy = Str(update!.Child("reboot_strategy")),
                        Group = Str(update.Child("group")),
                        Server = Str(update.Child("server")),
                    }
                    : new UpdateConfig(),
                Units = Items(node.Child("units"), "config.Unit", BindUnit),
            };
        }

        private EnvSection Env(YamlNode? node, SchemaNode schema)
        {
            if (!IsMap(node, "config." + schema.Name))
            {
                return EnvSection.Empty;
            }

            var settings = new List<EnvSetting>();
            foreach (SchemaNode field in schema.Children)
            {
                YamlNode? value = node!.Child(field.Name);
                if (value is null || value.Kind == YamlNodeKind.Null)
                {
                    continue;
                }

                string? text = field.Kind switch
                {
                    SchemaKind.String => Str(value),
                    SchemaKind.Int => Int(value)?.ToString(CultureInfo.InvariantCulture),
                    SchemaKind.Float => Float(value) is double d ? GoFormat(d) : null,
                    SchemaKind.Bool => Bool(value) is bool b ? GoFormat(b) : null,
                    _ => null,
                };
                if (text is null or "" or "0" or "false")
                {
                    continue;
                }

                settings.Add(new EnvSetting(field.Name, field.Env!, text));
            }

            return new EnvSection(settings);
        }

        private WriteFile BindFile(YamlNode node)
        {
            YamlNode? content = node.Child("content");
            return new WriteFile
            {
                Path = Str(node.Child("path")),
                Content = Str(content),
                ContentBytes = content?.Binary,
                Encoding = Str(node.Child("encoding")),
                Owner = Str(node.Child("owner")),
                Permissions = Str(node.Child("permissions")),
            };
        }

        private User BindUser(YamlNode node) => new()
        {
            Name = Str(node.Child("name")),
            PasswordHash = Str(node.Child("passwd")),
            SshAuthorizedKeys = Strings(node.Child("ssh_authorized_keys")),
            SshImportGithubUser = Str(node.Child("coreos_ssh_import_github")),
            SshImportGithubUsers = Strings(node.Child("coreos_ssh_import_github_users")),
            SshImportUrl = Str(node.Child("coreos_ssh_import_url")),
            Gecos = Str(node.Child("gecos")),
            Homedir = Str(node.Child("homedir")),
            NoCreateHome = Bool(node.Child("no_create_home")) ?? false,
            PrimaryGroup = Str(node.Child("primary_group")),
            Groups = Strings(node.Child("groups")),
            NoUserGroup = Bool(node.Child("no_user_group")) ?? false,
            System = Bool(node.Child("system")) ?? false,
            NoLogInit = Bool(node.Child("no_log_init")) ?? false,
            Shell = Str(node.Child("shell")),
        };

        private Unit BindUnit(YamlNode node) => new()
        {
            Name = Str(node.Child("name")),
            Mask = Bool(node.Child("mask")) ?? false,
            Enable = Bool(node.Child("enable")) ?? false,
            Runtime = Bool(node.Child("runtime")) ?? false,
            Content = Str(node.Child("content")),
            Command = Str(node.Child("command")),
            DropIns = Items(node.Child("drop_ins"), "config.UnitDropIn", d => new UnitDropIn(Str(d.Child("name")), Str(d.Child("content")))),
        };

        private List<T> Items<T>(YamlNode? node, string typeName, Func<YamlNode, T> bind)
        {
            var items = new List<T>();
            if (node is null || node.Kind == YamlNodeKind.Null)
            {
                return items;
            }

            if (node.Kind != YamlNodeKind.Sequence)
            {
                Mismatch(node, "[]" + typeName);
                return items;
            }

            foreach (YamlNode child in node.Children)
            {
                if (child.Kind == YamlNodeKind.Null)
                {
                    continue;
                }

                if (IsMap(child, typeName))
                {
                    items.Add(bind(child));
                }
            }

            return items;
        }

        private List<string> Strings(YamlNode? node)
        {
            var items = new List<string>();
            if (node is null || node.Kind == YamlNodeKind.Null)
            {
                return items;
            }

            if (node.Kind != YamlNodeKind.Sequence)
            {
                Mismatch(node, "[]string");
                return items;
            }

            foreach (YamlNode child in node.Children)
            {
                items.Add(Str(child));
            }

            return items;
        }

        private bool IsMap(YamlNode? node, string typeName)
        {
            if (node is null || node.Kind == YamlNodeKind.Null)
            {
                return false;
            }

            if (node.Kind != YamlNodeKind.Map)
            {
                Mismatch(node, typeName);
                return false;
            }

            return true;
        }

        private string Str(YamlNode? node)
        {
            if (node is null || node.Kind == YamlNodeKind.Null)
            {
                return string.Empty;
            }

            if (!node.IsScalar)
            {
                Mismatch(node, "string");
                return string.Empty;
            }

            return node.Text ?? string.Empty;
        }

        private long? Int(YamlNode node)
        {
            if (node.Kind == YamlNodeKind.Int)
            {
                return (long)node.Value!;
            }

            Mismatch(node, "int");
            return null;
        }

        private double? Float(YamlNode node)
        {
            switch (node.Kind)
            {
                case YamlNodeKind.Float:
                    return (double)node.Value!;
                case YamlNodeKind.Int:
                    return (long)node.Value!;
                default:
                    Mismatch(node, "float64");
                    return null;
            }
        }

        private bool? Bool(YamlNode? node)
        {
            if (node is null || node.Kind == YamlNodeKind.Null)
            {
                return null;
            }

            if (node.Kind == YamlNodeKind.Bool)
            {
                return (bool)node.Value!;
            }

            Mismatch(node, "bool");
            return null;
        }

        private void Mismatch(YamlNode node, string target)
        {
            string shown = node.IsScalar ? $" `{Shorten(node.Text ?? string.Empty)}`" : string.Empty;
            _errors.Add($"line {node.Line}: cannot unmarshal {Tag(node)}{shown} into {target}");
        }

        private static string Shorten(string text)
        {
            var sb = new StringBuilder(text.Length);
            foreach (char c in text)
            {
                sb.Append(c == '\n' ? ' ' : c);
            }

            return sb.Length > 10 ? sb.ToString(0, 7) + "..." : sb.ToString();
        }
    }
}
