using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Platform.Flannel.Cni.Cni;

namespace Platform.Flannel.Cni;

/// <summary>Runs a delegate plugin (libcni's <c>invoke.Delegate*</c>); tests may substitute it.</summary>
internal interface IDelegateExec
{
    /// <summary>Runs plugin <paramref name="type"/> from CNI_PATH with <paramref name="command"/> and the config on stdin; returns its stdout.</summary>
    /// <exception cref="CniException">The delegate failed: its own error (code and message) when it printed one.</exception>
    public string Run(string type, string command, byte[] config, CniArgs args);
}

/// <summary>
/// Finds the delegate in the <c>CNI_PATH</c> folders (first regular file of that name) and runs it
/// with our environment, <c>CNI_COMMAND</c> set to the operation, the configuration on stdin and
/// its stderr passed through to ours.
/// </summary>
internal sealed class DelegateExec : IDelegateExec
{
    public string Run(string type, string command, byte[] config, CniArgs args)
    {
        string path = FindInPath(type, args.Path);
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.Environment["CNI_COMMAND"] = command;

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"failed to start {path}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            process.StandardInput.BaseStream.Write(config);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The delegate exited without reading its stdin; its exit status says why.
        }

        string output = stdout.GetAwaiter().GetResult();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw PluginError(process.ExitCode, output);
        }

        return output;
    }

    /// <summary>libcni's <c>FindInPath</c>.</summary>
    public static string FindInPath(string plugin, string cniPath)
    {
        if (plugin.Length == 0)
        {
            throw new InvalidOperationException("no plugin name provided");
        }

        if (plugin.Contains('/', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"invalid plugin name: {plugin}");
        }

        string[] folders = cniPath.Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (string folder in folders)
        {
            string candidate = Path.Combine(folder, plugin);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"failed to find plugin {GoJson.Quote(plugin)} in path [{string.Join(" ", folders)}]");
    }

    /// <summary>The delegate's error JSON when it printed one (libcni's <c>pluginErr</c>), else a description.</summary>
    private static CniException PluginError(int exitCode, string stdout)
    {
        if (stdout.Trim().Length == 0)
        {
            return new CniException(CniErrorCodes.Internal, $"netplugin failed with no error message: exit status {exitCode}");
        }

        try
        {
            using JsonDocument error = JsonDocument.Parse(Encoding.UTF8.GetBytes(stdout));
            JsonElement root = error.RootElement;
            uint code = root.TryGetProperty("code", out JsonElement c) && c.TryGetUInt32(out uint value) ? value : CniErrorCodes.Internal;
            string msg = root.TryGetProperty("msg", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
            string details = root.TryGetProperty("details", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            return new CniException(code, msg, details);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return new CniException(CniErrorCodes.Internal, $"netplugin failed but error parsing its diagnostic message {GoJson.Quote(stdout)}: {e.Message}");
        }
    }
}
