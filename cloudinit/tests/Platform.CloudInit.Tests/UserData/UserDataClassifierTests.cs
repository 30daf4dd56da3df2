using System.IO.Compression;
using System.Text;
using Platform.CloudInit.UserData;

namespace Platform.CloudInit.Tests.UserData;

public sealed class UserDataClassifierTests
{
    [Theory]
    [InlineData("", UserDataKind.Empty)]
    [InlineData("#cloud-config\nhostname: a\n", UserDataKind.CloudConfig)]
    [InlineData("#cloud-config\r\nhostname: a\r\n", UserDataKind.CloudConfig)]
    [InlineData("#cloud-config ", UserDataKind.Unknown)]
    [InlineData("#!/bin/bash\necho\n", UserDataKind.Script)]
    [InlineData("#!", UserDataKind.Script)]
    [InlineData("{\"ignitionVersion\": 1}", UserDataKind.Ignition)]
    [InlineData("{\"ignition\": {\"version\": \"2.1.0\"}, \"storage\": {}}", UserDataKind.Ignition)]
    [InlineData("{\"ignition\": {}}", UserDataKind.Unknown)]
    [InlineData("{not json", UserDataKind.Unknown)]
    [InlineData("hostname: a\n", UserDataKind.Unknown)]
    public void Classify_Input_Kind(string input, UserDataKind expected)
    {
        Assert.Equal(expected, UserDataClassifier.Classify(input));
    }

    [Fact]
    public void DecompressIfGzip_GzipPayload_ReturnsOriginal()
    {
        byte[] original = Encoding.UTF8.GetBytes("#cloud-config\nhostname: gz\n");
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(original);
        }

        Assert.Equal(original, UserDataClassifier.DecompressIfGzip(buffer.ToArray()));
    }

    [Fact]
    public void DecompressIfGzip_PlainPayload_ReturnsSameBytes()
    {
        byte[] plain = Encoding.UTF8.GetBytes("#cloud-config\n");

        Assert.Same(plain, UserDataClassifier.DecompressIfGzip(plain));
    }

    [Fact]
    public void DecompressIfGzip_CorruptGzip_Throws()
    {
        Assert.ThrowsAny<InvalidDataException>(() => UserDataClassifier.DecompressIfGzip([0x1f, 0x8b, 1, 2, 3]));
    }
}
