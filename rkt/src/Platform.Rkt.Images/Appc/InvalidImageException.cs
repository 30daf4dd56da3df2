namespace Platform.Rkt.Images.Appc;

/// <summary>
/// An image is malformed or unsafe: a bad manifest, a tar entry that escapes the root, a device node,
/// a decompression bomb. The message names the offending entry; nothing of the image was committed.
/// </summary>
public sealed class InvalidImageException : Exception
{
    public InvalidImageException()
    {
    }

    public InvalidImageException(string message)
        : base(message)
    {
    }

    public InvalidImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
