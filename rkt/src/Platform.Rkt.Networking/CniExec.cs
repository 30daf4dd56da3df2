using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.Rkt.Networking;

/// <summary>The CNI_* environment of one plugin invocation (CNI spec "Parameters").</summary>
internal sealed record CniCall(string Command, string ContainerId, string Netns, string IfName, string Args, string CniPath);

/// <summary>
/// Runs one CNI plugin executable: configuration on stdin, CNI_* in the environment, result (or a CNI
/// error object) on stdout. A plugin that runs past the timeout, or whose caller cancels, is killed.
/// </summary>
internal static class CniExec
{
    public static async Task<JsonObject?> RunAsync(string pluginPath, CniCall call, JsonObject config, TimeSpan timeout, string netName, CancellationToken ct)
    {
        var start = new ProcessStartInfo(pluginPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("CNI_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["CNI_COMMAND"] = call.Command;
        start.Environment["CNI_CONTAINERID"] = call.ContainerId;
        start.Environment["CNI_NETNS"] = call.Netns;
        start.Environment["CNI_IFNAME"] = call.IfName;
        start.Environment["CNI_ARGS"] = call.Args;
        start.Environment["CNI_PATH"] = call.CniPath;
        string what = $"network \"{netName}\": {call.Command} {Path.GetFileName(pluginPath)}";

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CniPluginException($"{what}: cannot run {pluginPath}: {e.Message}", e);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            byte[] input = Encoding.UTF8.GetBytes(config.ToJsonString());
            try
            {
                await process.StandardInput.BaseStream.WriteAsync(input, limit.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // EPIPE: the plugin exited without reading its configuration; its exit status and output say why.
            }

            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested)
            {
                throw;
            }

            throw new CniPluginException($"{what}: no answer after {timeout.TotalSeconds:0} s; killed");
        }

        string output = await stdout.ConfigureAwait(false);
        string errors = (await stderr.ConfigureAwait(false)).Trim();
        if (process.ExitCode != 0)
        {
            throw Failure(what, process.ExitCode, output, errors);
        }

        if (call.Command != "ADD" || output.Trim().Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(output) as JsonObject ?? throw new CniPluginException($"{what}: the result is not a JSON object: {output.Trim()}");
        }
        catch (JsonException e)
        {
            throw new CniPluginException($"{what}: unparsable result {output.Trim()}: {e.Message}", e);
        }
    }

    /// <summary>The plugin's CNI error (<c>{"code","msg","details"}</c>) as rkt printed it: <c>msg; details</c>.</summary>
    private static CniPluginException Failure(string what, int exitCode, string output, string errors)
    {
        try
        {
            if (JsonNode.Parse(output) is JsonObject error && error["msg"] is JsonValue msg)
            {
                string details = error["details"]?.GetValue<string>() is { Length: > 0 } d ? $"; {d}" : string.Empty;
                int code = error["code"] is JsonValue c && c.TryGetValue(out int n) ? n : 0;
                return new CniPluginException($"{what}: {msg.GetValue<string>()}{details}") { Code = code };
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // Not a CNI error object; fall through to the raw output.
        }

        string text = string.Join(" / ", new[] { output.Trim(), errors }.Where(s => s.Length > 0));
        return new CniPluginException($"{what}: exit status {exitCode}{(text.Length > 0 ? ": " + text : string.Empty)}");
    }
}
