namespace Platform.Etcd.Client.IntegrationTests.Unit;

public sealed class KeyRangeTests
{
    [Theory]
    [InlineData(new byte[] { 0x61, 0x61 }, new byte[] { 0x61, 0x62 })]
    [InlineData(new byte[] { 0x61, 0xff }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x61, 0xff, 0xff }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0xff, 0xff }, new byte[] { 0x00 })]
    public void PrefixEnd_AsEtcdGetPrefixRangeEnd(byte[] prefix, byte[] expected)
    {
        Assert.Equal(expected, KeyRange.PrefixEnd(prefix));
    }

    [Fact]
    public void Prefix_Empty_IsEveryKey()
    {
        Assert.Same(KeyRange.All, KeyRange.Prefix(""));
        Assert.Equal(new byte[] { 0 }, KeyRange.All.Key);
        Assert.Equal(new byte[] { 0 }, KeyRange.All.RangeEnd);
    }

    [Fact]
    public void Single_And_FromKey_UseEmptyAndZeroEnds()
    {
        Assert.Empty(KeyRange.Single("k").RangeEnd);
        Assert.Equal(new byte[] { 0 }, KeyRange.FromKey("k").RangeEnd);
        Assert.Throws<ArgumentException>(() => KeyRange.Between("a", ""));
    }

    [Fact]
    public void Txn_ToProto_KeepsComparesAndBranchesInOrder()
    {
        Txn txn = Txn.If(Cmp.Value("k", CmpResult.NotEqual, "v"), Cmp.Lease("k", CmpResult.Equal, 7).WithRange(KeyRange.Prefix("k")))
            .Then(Op.Put("k", "v"))
            .Else(Op.Delete("k"), Op.Get("k"));

        Platform.Etcd.Api.TxnRequest proto = txn.ToProto();

        Assert.Equal(Platform.Etcd.Api.Compare.Types.CompareResult.NotEqual, proto.Compare[0].Result);
        Assert.Equal("v", proto.Compare[0].Value.ToStringUtf8());
        Assert.Equal(7, proto.Compare[1].Lease);
        Assert.Equal("l", proto.Compare[1].RangeEnd.ToStringUtf8());
        Assert.Single(proto.Success);
        Assert.Equal(
            [Platform.Etcd.Api.RequestOp.RequestOneofCase.RequestDeleteRange, Platform.Etcd.Api.RequestOp.RequestOneofCase.RequestRange],
            proto.Failure.Select(op => op.RequestCase));
    }
}
