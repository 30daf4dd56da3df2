using System.IO.Compression;

namespace Platform.CloudInit.Config;

/// <summary>
/// Decodes <c>write_files</c> content by its <c>encoding</c> (coreos-cloudinit's config/decode.go):
/// empty (as is), <c>b64</c>/<c>base64</c>, <c>gz</c>/<c>gzip</c>, and the four <c>gz(ip)+b64/base64</c>
/// combinations (base64 first, then gunzip).
/// </summary>
public static class ContentDecoder
{
    /// <summary>Decodes <paramref name="content"/>; returns false with a reason for bad data or an unknown encoding.</summary>
    public static bool TryDecode(byte[] content, string encoding, out byte[] decoded, out string? error)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(encoding);
        decoded = [];
        error = null;
        switch (encoding)
        {
            case "":
                decoded = content;
                return true;
            case "b64" or "base64":
                return TryBase64(content, out decoded, out error);
            case "gz" or "gzip":
                return TryGunzip(content, out decoded, out error);
            case "gz+base64" or "gzip+base64" or "gz+b64" or "gzip+b64":
                return TryBase64(content, out byte[] compressed, out error) && TryGunzip(compressed, out decoded, out error);
            default:
                error = $"Unsupported encoding \"{encoding}\"";
                return false;
        }
    }

    // Go's base64.StdEncoding: padding required, CR and LF skipped, anything else outside the
    // alphabet (spaces included) is an error.
    private static bool TryBase64(byte[] content, out byte[] decoded, out string? error)
    {
        var text = new System.Text.StringBuilder(content.Length);
        foreach (byte b in content)
        {
            if (b is (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            if (!(b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/' or (byte)'='))
            {
                decoded = [];
                error = "illegal base64 data";
                return false;
            }

            text.Append((char)b);
        }

        if (text.Length % 4 != 0)
        {
            decoded = [];
            error = "illegal base64 data";
            return false;
        }

        try
        {
            decoded = Convert.FromBase64String(text.ToString());
            error = null;
            return true;
        }
        catch (FormatException)
        {
            decoded = [];
            error = "illegal base64 data";
            return false;
        }
    }

    private static bool TryGunzip(byte[] content, out byte[] decoded, out string? error)
    {
        try
        {
            using var input = new MemoryStream(content, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            if (content.Length < 2 || content[0] != 0x1f || content[1] != 0x8b)
            {
                throw new InvalidDataException("gzip: invalid header");
            }

            decoded = output.ToArray();
            error = null;
            return true;
        }
        catch (InvalidDataException e)
        {
            decoded = [];
            error = e.Message;
            return false;
        }
    }
}
