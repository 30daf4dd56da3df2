using System.Globalization;
using System.Text;

namespace Platform.Flannel.Subnets;

/// <summary>
/// flannel's <c>/run/flannel/subnet.env</c> (<c>WriteSubnetFile</c>): the environment the CNI plugin
/// and docker read. Written atomically (temporary file in the same folder, then rename), mode 0644.
/// </summary>
public static class SubnetFile
{
    public const string DefaultPath = "/run/flannel/subnet.env";

    /// <summary>The file's content; <c>FLANNEL_SUBNET</c> is the subnet's first usable address (.1), not .0.</summary>
    public static string Render(Ip4Net network, Ip4Net subnet, int mtu, bool ipMasq)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"FLANNEL_NETWORK={network}\n");
        text.Append(CultureInfo.InvariantCulture, $"FLANNEL_SUBNET={Ip4Net.FormatAddress(subnet.Address + 1)}/{subnet.PrefixLength}\n");
        text.Append(CultureInfo.InvariantCulture, $"FLANNEL_MTU={mtu}\n");
        text.Append(CultureInfo.InvariantCulture, $"FLANNEL_IPMASQ={(ipMasq ? "true" : "false")}\n");
        return text.ToString();
    }

    /// <summary>Writes the file atomically, creating its folder; readers see the old or the new content, never a part.</summary>
    public static void Write(string path, Ip4Net network, Ip4Net subnet, int mtu, bool ipMasq)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            }

            using (var stream = new FileStream(temporary, options))
            {
                byte[] bytes = Encoding.UTF8.GetBytes(Render(network, subnet, mtu, ipMasq));
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// The subnet named by <c>FLANNEL_SUBNET</c> in an existing file (flannel's
    /// <c>ReadCIDRFromSubnetFile</c>), host bits cleared; null when the file or the key is missing or invalid.
    /// </summary>
    public static Ip4Net? ReadSubnet(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (string line in lines)
        {
            string trimmed = line.Trim();
            if (trimmed.StartsWith("FLANNEL_SUBNET=", StringComparison.Ordinal)
                && Ip4Net.TryParse(trimmed["FLANNEL_SUBNET=".Length..].Trim('"', '\''), out Ip4Net subnet))
            {
                return subnet;
            }
        }

        return null;
    }
}
