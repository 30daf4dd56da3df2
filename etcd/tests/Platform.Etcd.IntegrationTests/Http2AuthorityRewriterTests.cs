using System.Text;
using Platform.Etcd.Grpc.Hosting;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// The HPACK decoder behind the <c>:authority</c> repair, on RFC 7541's own examples (Appendix C.4:
/// three requests on one connection, Huffman-coded, sharing the dynamic table), and the repair rule.
/// </summary>
public sealed class Http2AuthorityRewriterTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static string Render(List<(byte[] Name, byte[] Value)> fields) =>
        string.Join("\n", fields.Select(f => Encoding.Latin1.GetString(f.Name) + ": " + Encoding.Latin1.GetString(f.Value)));

    [Fact]
    public void Decode_Rfc7541AppendixC4_ThreeRequestsShareTheDynamicTable()
    {
        var decoder = new HpackDecoder();
        Assert.Equal(
            ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com",
            Render(decoder.Decode(Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))));
        Assert.Equal(
            ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache",
            Render(decoder.Decode(Hex("8286 84be 5886 a8eb 1064 9cbf"))));
        Assert.Equal(
            ":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\ncustom-key: custom-value",
            Render(decoder.Decode(Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))));
    }

    [Fact]
    public void EncodeThenDecode_LiteralsWithoutIndexing_RoundTrip()
    {
        List<(byte[] Name, byte[] Value)> fields =
        [
            (":authority"u8.ToArray(), "127.0.0.1:2379"u8.ToArray()),
            ("x-long"u8.ToArray(), Encoding.ASCII.GetBytes(new string('v', 300))),
        ];
        Assert.Equal(Render(fields), Render(new HpackDecoder().Decode(HpackEncoder.Encode(fields))));
    }

    [Theory]
    [InlineData("http://127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("https://[::1]:2379/", "[::1]:2379")]
    [InlineData("127.0.0.1:2379", null)]
    [InlineData("localhost", null)]
    public void Repair_SchemeAndPath_LeaveHostPort(string authority, string? repaired)
    {
        byte[]? result = Http2AuthorityRewriter.Repair(Encoding.Latin1.GetBytes(authority));
        Assert.Equal(repaired, result is null ? null : Encoding.Latin1.GetString(result));
    }
}
