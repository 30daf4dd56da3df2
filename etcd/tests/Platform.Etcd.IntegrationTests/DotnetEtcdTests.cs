using System.Threading.Channels;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Platform.Etcd.IntegrationTests.Infrastructure;

namespace Platform.Etcd.IntegrationTests;

/// <summary>The dotnet-etcd NuGet client (its own generated etcdserverpb, Grpc.Net.Client, h2c) in-process against our member.</summary>
public sealed class DotnetEtcdTests : IClassFixture<InProcessEtcdFixture>, IDisposable
{
    private readonly EtcdClient _client;

    public DotnetEtcdTests(InProcessEtcdFixture fixture)
    {
        _client = new EtcdClient(fixture.Etcd.ClientUrl.ToString().TrimEnd('/'));
    }

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task PutGetRangeDelete_RoundTrip()
    {
        await _client.PutAsync("dn/a", "1");
        await _client.PutAsync("dn/b", "2");
        Assert.Equal("1", await _client.GetValAsync("dn/a"));
        IDictionary<string, string> range = await _client.GetRangeValAsync("dn/");
        Assert.Equal(new Dictionary<string, string> { ["dn/a"] = "1", ["dn/b"] = "2" }, range);
        DeleteRangeResponse deleted = await _client.DeleteRangeAsync("dn/");
        Assert.Equal(2, deleted.Deleted);
        Assert.Equal("", await _client.GetValAsync("dn/a"));
    }

    [Fact]
    public async Task Transaction_CompareVersion_TakesSuccessBranch()
    {
        await _client.PutAsync("dntxn/k", "v");
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8("dntxn/k"), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 1 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8("dntxn/k"), Value = ByteString.CopyFromUtf8("v2"), PrevKv = true } });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8("dntxn/k") } });
        TxnResponse response = await _client.TransactionAsync(txn);
        Assert.True(response.Succeeded);
        Assert.Equal("v", response.Responses[0].ResponsePut.PrevKv.Value.ToStringUtf8());
        Assert.Equal("v2", response.Responses[1].ResponseRange.Kvs[0].Value.ToStringUtf8());

        TxnResponse again = await _client.TransactionAsync(txn);
        Assert.False(again.Succeeded);
    }

    [Fact]
    public async Task Watch_Key_DeliversPutThenDelete()
    {
        var events = Channel.CreateUnbounded<WatchResponse>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long start = (await _client.PutAsync("dnw/k", "0")).Header.Revision + 1;
        var request = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("dnw/k"), StartRevision = start } };
        Task watching = _client.WatchAsync(request, (WatchResponse r) => events.Writer.TryWrite(r), cancellationToken: cts.Token);
        await _client.PutAsync("dnw/k", "1");
        await _client.DeleteAsync("dnw/k");

        var seen = new List<(Mvccpb.Event.Types.EventType, string)>();
        while (seen.Count < 2)
        {
            WatchResponse response = await events.Reader.ReadAsync(cts.Token);
            seen.AddRange(response.Events.Select(e => (e.Type, e.Kv.Value.ToStringUtf8())));
        }

        Assert.Equal([(Mvccpb.Event.Types.EventType.Put, "1"), (Mvccpb.Event.Types.EventType.Delete, "")], seen);
        await cts.CancelAsync();
        try
        {
            await watching.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is OperationCanceledException or global::Grpc.Core.RpcException)
        {
            // The client ends its watch by cancelling the call.
        }
    }

    [Fact]
    public async Task Lease_GrantAttachTimeToLiveRevoke_Works()
    {
        LeaseGrantResponse lease = await _client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 });
        Assert.Equal(60, lease.TTL);
        await _client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("dnl/k"), Value = ByteString.CopyFromUtf8("v"), Lease = lease.ID });
        LeaseTimeToLiveResponse ttl = await _client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.ID, Keys = true });
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.InRange(ttl.TTL, 58, 60);
        Assert.Equal("dnl/k", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.Contains(lease.ID, (await _client.LeaseLeasesAsync(new LeaseLeasesRequest())).Leases.Select(l => l.ID));
        await _client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease.ID });
        Assert.Equal("", await _client.GetValAsync("dnl/k"));
    }

    [Fact]
    public async Task StatusAndMemberList_DescribeTheMember()
    {
        StatusResponse status = await _client.StatusAsync(new StatusRequest());
        Assert.Equal("3.4.23", status.Version);
        Assert.Equal(status.Header.MemberId, status.Leader);
        MemberListResponse members = await _client.MemberListAsync(new MemberListRequest());
        Assert.Equal("default", Assert.Single(members.Members).Name);
    }
}
