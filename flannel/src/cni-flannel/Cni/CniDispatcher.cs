using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Platform.Flannel.Cni.Cni;

/// <summary>
/// The CNI protocol around a plugin, as libcni's <c>skel.PluginMain</c> implements it: required
/// <c>CNI_*</c> variables per command, the network name, container ID and interface name rules,
/// the configuration's <c>cniVersion</c> against <see cref="SupportedVersions"/>, CHECK only from
/// 0.4.0, VERSION, and every failure as an error JSON on stdout with exit code 1.
/// </summary>
internal static partial class CniDispatcher
{
    /// <summary>The spec version of results and errors we produce by default.</summary>
    public const string CurrentVersion = "1.0.0";

    public static readonly IReadOnlyList<string> SupportedVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    private static readonly (string Name, string[] RequiredFor)[] s_variables =
    [
        ("CNI_COMMAND", ["ADD", "CHECK", "DEL"]),
        ("CNI_CONTAINERID", ["ADD", "CHECK", "DEL"]),
        ("CNI_NETNS", ["ADD", "CHECK"]),
        ("CNI_IFNAME", ["ADD", "CHECK", "DEL"]),
        ("CNI_ARGS", []),
        ("CNI_PATH", ["ADD", "CHECK", "DEL"]),
    ];

    /// <summary>Runs one invocation; returns the process exit code (0, or 1 after an error JSON).</summary>
    public static int Run(ICniPlugin plugin, Func<string, string?> getenv, Stream stdin, TextWriter stdout, TextWriter stderr, string about)
    {
        string version = CurrentVersion;
        try
        {
            string? output = Dispatch(plugin, getenv, stdin, stderr, about, ref version);
            if (output is not null)
            {
                stdout.Write(output);
            }

            stdout.Flush();
            return 0;
        }
        catch (CniException e)
        {
            stdout.Write(e.ToJson(version));
            stdout.Flush();
            return 1;
        }
    }

    private static string? Dispatch(ICniPlugin plugin, Func<string, string?> getenv, Stream stdin, TextWriter stderr, string about, ref string version)
    {
        string command = getenv("CNI_COMMAND") ?? "";
        var values = new Dictionary<string, string>();
        var missing = new List<string>();
        foreach ((string name, string[] requiredFor) in s_variables)
        {
            string value = getenv(name) ?? "";
            values[name] = value;
            if (value.Length == 0 && (name == "CNI_COMMAND" || requiredFor.Contains(command)))
            {
                missing.Add(name);
            }
        }

        if (missing.Count > 0)
        {
            if (command.Length == 0)
            {
                // A person ran the binary: tell them what it is (libcni prints this and exits 0).
                stderr.WriteLine(about);
                stderr.WriteLine($"CNI protocol versions supported: {string.Join(", ", SupportedVersions)}");
                stderr.Flush();
                return null;
            }

            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, $"required env variables [{string.Join(",", missing)}] missing");
        }

        if (command == "VERSION")
        {
            return $"{{\"cniVersion\":\"{CurrentVersion}\",\"supportedVersions\":[{string.Join(",", SupportedVersions.Select(v => $"\"{v}\""))}]}}\n";
        }

        byte[] data;
        try
        {
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            data = buffer.ToArray();
        }
        catch (IOException e)
        {
            throw new CniException(CniErrorCodes.IoFailure, $"error reading from stdin: {e.Message}");
        }

        ValidateConfig(data, ref version);
        ValidateContainerId(values["CNI_CONTAINERID"]);
        ValidateInterfaceName(values["CNI_IFNAME"]);

        var args = new CniArgs
        {
            Command = command,
            ContainerId = values["CNI_CONTAINERID"],
            Netns = values["CNI_NETNS"],
            IfName = values["CNI_IFNAME"],
            Args = values["CNI_ARGS"],
            Path = values["CNI_PATH"],
            StdinData = data,
        };

        switch (command)
        {
            case "ADD":
                CheckVersion(version);
                CheckNotOwnNetns(args.Netns);
                return Call(() => plugin.Add(args));
            case "DEL":
                CheckVersion(version);
                return Call(() => plugin.Del(args));
            case "CHECK":
                if (CompareVersions(version, "0.4.0") < 0)
                {
                    throw new CniException(CniErrorCodes.IncompatibleCniVersion, "config version does not allow CHECK");
                }

                CheckVersion(version);
                CheckNotOwnNetns(args.Netns);
                return Call(() => plugin.Check(args));
            default:
                throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, $"unknown CNI_COMMAND: {command}");
        }
    }

    private static string Call(Func<string> operation)
    {
        try
        {
            return operation();
        }
        catch (CniException)
        {
            throw;
        }
        catch (Exception e)
        {
            // Whatever went wrong, the runtime gets the spec's error JSON, never a stack trace.
            throw new CniException(CniErrorCodes.Internal, e.Message);
        }
    }

    /// <summary>skel's <c>validateConfig</c> and the version decoder: JSON with a valid <c>name</c>; <c>cniVersion</c> (default 0.1.0).</summary>
    private static void ValidateConfig(byte[] data, ref string version)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCodes.DecodingFailure, $"error unmarshall network config: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCodes.DecodingFailure, "error unmarshall network config: the configuration is not a JSON object");
            }

            string name = StringField(document.RootElement, "name");
            string requested = StringField(document.RootElement, "cniVersion");
            version = requested.Length == 0 ? "0.1.0" : requested;
            if (name.Length == 0)
            {
                throw new CniException(CniErrorCodes.InvalidNetworkConfig, "missing network name");
            }

            if (!IsValidName(name))
            {
                throw new CniException(CniErrorCodes.InvalidNetworkConfig, "invalid characters found in network name", name);
            }
        }
    }

    private static string StringField(JsonElement obj, string field)
    {
        JsonElement? found = null;
        foreach (JsonProperty property in obj.EnumerateObject())
        {
            if (property.NameEquals(field) || string.Equals(property.Name, field, StringComparison.OrdinalIgnoreCase))
            {
                found = property.Value;
            }
        }

        return found switch
        {
            null => "",
            { ValueKind: JsonValueKind.Null } => "",
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { } other => throw new CniException(CniErrorCodes.DecodingFailure, $"error unmarshall network config: json: cannot unmarshal {other.ValueKind.ToString().ToLowerInvariant()} into Go struct field .{field} of type string"),
        };
    }

    /// <summary>libcni's <c>^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$</c> for network names and container IDs.</summary>
    public static bool IsValidName(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsAsciiLetterOrDigit(c) || (i > 0 && c is '_' or '.' or '-'))
            {
                continue;
            }

            return false;
        }

        return true;
    }

    private static void ValidateContainerId(string id)
    {
        if (id.Length == 0)
        {
            throw new CniException(CniErrorCodes.UnknownContainer, "missing containerID");
        }

        if (!IsValidName(id))
        {
            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, "invalid characters in containerID", id);
        }
    }

    /// <summary>The kernel's <c>dev_valid_name</c> as libcni checks it.</summary>
    private static void ValidateInterfaceName(string name)
    {
        if (name.Length == 0)
        {
            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, "interface name is empty");
        }

        if (Encoding.UTF8.GetByteCount(name) > 15)
        {
            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, "interface name is too long", "interface name should be less than 16 characters");
        }

        if (name is "." or "..")
        {
            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, "interface name is . or ..");
        }

        if (name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c)))
        {
            throw new CniException(CniErrorCodes.InvalidEnvironmentVariables, "interface name contains / or : or whitespace characters");
        }
    }

    private static void CheckVersion(string version)
    {
        if (!SupportedVersions.Contains(version))
        {
            string supported = string.Join(" ", SupportedVersions.Select(v => $"\"{v}\""));
            throw new CniException(CniErrorCodes.IncompatibleCniVersion, "incompatible CNI versions", $"config is \"{version}\", plugin supports [{supported}]");
        }
    }

    /// <summary>Compares two <c>major.minor.patch</c> versions (missing parts are 0).</summary>
    /// <exception cref="CniException">Code 6 when a part is not a number.</exception>
    public static int CompareVersions(string left, string right)
    {
        int[] a = ParseVersion(left);
        int[] b = ParseVersion(right);
        for (int i = 0; i < 3; i++)
        {
            if (a[i] != b[i])
            {
                return a[i].CompareTo(b[i]);
            }
        }

        return 0;
    }

    private static int[] ParseVersion(string version)
    {
        string[] parts = version.Split('.', 3);
        int[] numbers = new int[3];
        string[] names = ["major", "minor", "micro"];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out numbers[i]))
            {
                throw new CniException(CniErrorCodes.DecodingFailure, $"failed to convert {names[i]} version part \"{parts[i]}\": invalid syntax");
            }
        }

        return numbers;
    }

    /// <summary>
    /// Refuses a CNI_NETNS that is the plugin's own network namespace (libcni's <c>CheckNetNS</c>);
    /// a path that cannot be examined is left to the delegate to report.
    /// </summary>
    private static void CheckNotOwnNetns(string path)
    {
        if (path.Length > 0 && Inode(path) is (ulong, ulong) target && Inode("/proc/self/ns/net") is (ulong, ulong) own && target == own)
        {
            throw new CniException(CniErrorCodes.InvalidNetNs, "plugin's netns and netns from CNI_NETNS should not be the same");
        }
    }

    private static (ulong Device, ulong Inode)? Inode(string path)
    {
        // struct stat starts with st_dev and st_ino (both 64-bit) on x86_64 and arm64; 256 bytes
        // covers the whole structure on both.
        byte[] buffer = new byte[256];
        if (Stat(path, buffer) != 0)
        {
            return null;
        }

        return (BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8));
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, [Out] byte[] buffer);
}
