using System.Text;
using Platform.Etcd.Api;
using Platform.Etcd.Grpc.Gateway;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// The gateway's body decoder on its own: texts recorded from etcd 3.4.23's gateway (the
/// differential <see cref="GatewayMalformedJsonTests"/> compares live), and what a well-formed
/// body decodes to.
/// </summary>
public sealed class JsonPbDecoderTests
{
    [Theory]
    [InlineData("{", "unexpected EOF")]
    [InlineData("nonsense", "invalid character 'o' in literal null (expecting 'u')")]
    [InlineData("{'key':'Zm9v'}", "invalid character '\\'' looking for beginning of object key string")]
    [InlineData("{\"key\":\"a\tb\"}", "invalid character '\\t' in string literal")]
    [InlineData("\u00e9", "invalid character 'Ã' looking for beginning of value")]
    [InlineData("{\"limit\":01}", "invalid character '1' after object key:value pair")]
    [InlineData("{\"limit\":-}", "invalid character '}' in numeric literal")]
    [InlineData("[1,2]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage")]
    [InlineData("{\"key\":\"Zm9\"}", "illegal base64 data at input byte 0")]
    [InlineData("{\"key\":\"Zm9vYg=\"}", "illegal base64 data at input byte 7")]
    [InlineData("{\"key\":[300]}", "json: cannot unmarshal number 300 into Go value of type uint8")]
    [InlineData("{\"limit\":\"abc\"}", "invalid character 'a' looking for beginning of value")]
    [InlineData("{\"limit\":\"\"}", "unexpected end of JSON input")]
    [InlineData("{\"limit\":\"1 2\"}", "invalid character '2' after top-level value")]
    [InlineData("{\"limit\":1.5}", "json: cannot unmarshal number 1.5 into Go value of type int64")]
    [InlineData("{\"serializable\":\"yes\"}", "json: cannot unmarshal string into Go value of type bool")]
    [InlineData("{\"sort_order\":\"BOGUS\"}", "unknown value \"BOGUS\" for enum etcdserverpb.RangeRequest_SortOrder")]
    [InlineData("{\"sort_order\":true}", "json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder")]
    public void Malformed_GetsGosText(string body, string expected)
    {
        GatewayDecodeException e = Assert.Throws<GatewayDecodeException>(() => JsonPbDecoder.Decode<RangeRequest>(Encoding.UTF8.GetBytes(body)));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void WellFormed_DecodesAsTheGatewayDoes()
    {
        // First value only, unknown fields ignored, camel name wins, quoted integers, enum by name.
        RangeRequest r = JsonPbDecoder.Decode<RangeRequest>(Encoding.UTF8.GetBytes(
            "{\"key\":\"Zm9v\",\"range_end\":\"!!\",\"rangeEnd\":\"Zm9w\",\"limit\":\" 12 \",\"sort_order\":\"DESCEND\",\"nope\":[1],\"keys_only\":true} trailing"));
        Assert.Equal("foo", r.Key.ToStringUtf8());
        Assert.Equal("fop", r.RangeEnd.ToStringUtf8());
        Assert.Equal(12, r.Limit);
        Assert.Equal(RangeRequest.Types.SortOrder.Descend, r.SortOrder);
        Assert.True(r.KeysOnly);
        Assert.Equal(new RangeRequest(), JsonPbDecoder.Decode<RangeRequest>("  "u8));
        Assert.Equal(new RangeRequest(), JsonPbDecoder.Decode<RangeRequest>("null"u8));

        // A txn op naming two oneof members keeps the last in proto order; nested messages decode.
        TxnRequest txn = JsonPbDecoder.Decode<TxnRequest>(Encoding.UTF8.GetBytes(
            "{\"success\":[{\"request_range\":{\"key\":\"YQ==\"},\"request_put\":{\"key\":\"Yg==\",\"value\":\"Yw==\"}}],\"compare\":[{\"target\":\"VERSION\",\"version\":\"3\"}]}"));
        Assert.Equal(RequestOp.RequestOneofCase.RequestPut, txn.Success[0].RequestCase);
        Assert.Equal("b", txn.Success[0].RequestPut.Key.ToStringUtf8());
        Assert.Equal(3, txn.Compare[0].Version);
    }
}
