using System.IO.Compression;
using System.Text.Json;

namespace Platform.CloudInit.UserData;

/// <summary>
/// Recognises the kinds of user-data coreos-cloudinit accepts and undoes whole-payload gzip.
/// Pure functions: no I/O beyond the buffers given.
/// </summary>
public static class UserDataClassifier
{
    /// <summary>The message coreos-cloudinit prints, on standard output, before exiting 0 on Ignition.</summary>
    public const string IgnitionDetectedMessage = "Detected an Ignition config. Exiting...";

    /// <summary>Classifies <paramref name="userData"/>. Script wins over cloud-config, which wins over Ignition.</summary>
    public static UserDataKind Classify(string userData)
    {
        ArgumentNullException.ThrowIfNull(userData);
        if (userData.Length == 0)
        {
            return UserDataKind.Empty;
        }

        string header = FirstLine(userData);
        if (header.StartsWith("#!", StringComparison.Ordinal))
        {
            return UserDataKind.Script;
        }

        if (header == "#cloud-config")
        {
            return UserDataKind.CloudConfig;
        }

        return IsIgnition(userData) ? UserDataKind.Ignition : UserDataKind.Unknown;
    }

    /// <summary>
    /// Returns the first line without its line break; a trailing CR is dropped so user-data written
    /// on Windows is still recognised.
    /// </summary>
    internal static string FirstLine(string userData)
    {
        int newline = userData.IndexOf('\n', StringComparison.Ordinal);
        string header = newline < 0 ? userData : userData[..newline];
        return header.EndsWith('\r') ? header[..^1] : header;
    }

    /// <summary>True for JSON carrying <c>ignitionVersion</c> (spec 1) or <c>ignition.version</c> (spec 2+).</summary>
    public static bool IsIgnition(string userData)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(userData);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (document.RootElement.TryGetProperty("ignitionVersion", out JsonElement version) && version.ValueKind != JsonValueKind.Null)
            {
                return true;
            }

            return document.RootElement.TryGetProperty("ignition", out JsonElement ignition)
                && ignition.ValueKind == JsonValueKind.Object
                && ignition.TryGetProperty("version", out JsonElement inner)
                && inner.ValueKind != JsonValueKind.Null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="data"/> starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    /// <summary>
    /// Decompresses <paramref name="data"/> when it is gzip (as coreos-cloudinit's decompressIfGzip),
    /// otherwise returns it unchanged.
    /// </summary>
    /// <exception cref="InvalidDataException">The gzip stream is corrupt.</exception>
    public static byte[] DecompressIfGzip(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!IsGzip(data))
        {
            return data;
        }

        using var input = new MemoryStream(data, writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
