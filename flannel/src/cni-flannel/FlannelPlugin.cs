using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Flannel.Cni.Cni;

namespace Platform.Flannel.Cni;

/// <summary>
/// flannel-io/cni-plugin's operations. ADD renders the delegate configuration
/// (<see cref="DelegateConfig"/>), saves it as <c>dataDir/containerID</c> (0600, fsynced) and runs
/// the delegate, relaying its result unchanged. DEL runs the delegate's DEL with the saved
/// configuration and then removes it; a missing file means nothing to undo (success). CHECK
/// succeeds when the saved configuration exists (code 3 otherwise).
/// </summary>
internal sealed class FlannelPlugin(IDelegateExec exec, TextWriter log) : ICniPlugin
{
    public string Add(CniArgs args)
    {
        FlannelNetConf conf = LoadConf(args, "loadFlannelNetConf failed: ");
        SubnetEnv env;
        try
        {
            env = SubnetEnv.Load(conf.SubnetFile);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new CniException(CniErrorCodes.Internal, $"loadFlannelSubnetEnv failed: {e.Message}");
        }

        JsonObject rendered = DelegateConfig.Build(conf, env);
        byte[] bytes = Encoding.UTF8.GetBytes(GoJson.Serialize(rendered));
        log.Write("delegateAdd: netconf sent to delegate plugin:\n");
        log.Write(Encoding.UTF8.GetString(bytes));
        log.Flush();

        SaveScratch(conf.DataDir, args.ContainerId, bytes);
        string type = DelegateConfig.DelegateType(rendered);
        string result;
        try
        {
            result = exec.Run(type, "ADD", bytes, args);
        }
        catch (InvalidOperationException e)
        {
            throw new CniException(CniErrorCodes.Internal, $"failed to delegate add: {e.Message}");
        }

        try
        {
            using JsonDocument parsed = JsonDocument.Parse(result);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCodes.Internal, $"failed to delegate add: decoding the result of {type}: {e.Message}");
        }

        return result;
    }

    public string Del(CniArgs args)
    {
        FlannelNetConf conf = LoadConf(args, "");
        string path = Path.Combine(conf.DataDir, args.ContainerId);
        byte[] saved;
        try
        {
            saved = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Per spec: nothing left to release is not an error.
            return "";
        }

        string type;
        try
        {
            using JsonDocument document = JsonDocument.Parse(saved);
            type = document.RootElement.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        }
        catch (JsonException e)
        {
            // As flannel: the interface stays on the bridge until the node reboots; DEL succeeds.
            log.Write($"failed to parse netconf: {e.Message}");
            log.Flush();
            return "";
        }

        try
        {
            exec.Run(type, "DEL", saved, args);
        }
        catch (InvalidOperationException e)
        {
            throw new CniException(CniErrorCodes.Internal, e.Message);
        }

        // Removed only after the delegate released everything, so a failed DEL can be retried.
        File.Delete(path);
        return "";
    }

    public string Check(CniArgs args)
    {
        // flannel's CHECK does nothing. Ours confirms ADD happened (its saved configuration exists)
        // but does not delegate: bridge's CHECK (containernetworking-plugins 1.1.1) rejects the
        // gateway-less routes flannel has host-local return ("Expected Route {Dst:... GW:<nil>} not
        // found in routing table"), although ADD installed them via the gateway.
        FlannelNetConf conf = LoadConf(args, "");
        string path = Path.Combine(conf.DataDir, args.ContainerId);
        if (!File.Exists(path))
        {
            throw new CniException(CniErrorCodes.UnknownContainer, $"no delegate configuration saved for container {args.ContainerId} in {conf.DataDir}");
        }

        return "";
    }

    private static FlannelNetConf LoadConf(CniArgs args, string prefix)
    {
        try
        {
            return FlannelNetConf.Parse(args.StdinData);
        }
        catch (FormatException e)
        {
            throw new CniException(CniErrorCodes.Internal, prefix + e.Message);
        }
    }

    /// <summary>Writes <c>dataDir/containerID</c> (folder 0700, file 0600) and fsyncs it before the delegate runs.</summary>
    private static void SaveScratch(string dataDir, string containerId, byte[] bytes)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(dataDir);
            }
            else
            {
                Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(Path.Combine(dataDir, containerId), options);
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCodes.Internal, e.Message);
        }
    }
}
