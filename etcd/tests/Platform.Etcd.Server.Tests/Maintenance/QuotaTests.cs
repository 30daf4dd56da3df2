using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Tests.Kv;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Maintenance;

/// <summary>
/// The quota is checked before a write is proposed, with etcd's estimate (256 bytes a put plus
/// key and value; a transaction's larger branch), as etcd's quotaKVServer does.
/// </summary>
public sealed class QuotaTests
{
    private const long QuotaBytes = 256 * 1024;
    private const int Puts = 128;
    private const string NoSpace = "etcdserver: mvcc: database space exceeded";
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Txn_WhosePutsExceedTheQuotaEstimate_IsRefusedBeforeItIsProposed()
    {
        await using TestServer s = await StartAsync(
            nameof(Txn_WhosePutsExceedTheQuotaEstimate_IsRefusedBeforeItIsProposed),
            o => new EtcdServerOptions { DataDir = o.DataDir, QuotaBackendBytes = QuotaBytes });
        StatusResponse before = await StatusAsync(s);
        long remaining = QuotaBytes - before.DbSize;
        Assert.InRange(remaining, 4096, QuotaBytes);

        // 128 puts (the default --max-txn-ops) whose encoded size is 8 KB less than what is left,
        // so a check of the request's size would let it through; etcd's estimate adds 256 bytes a
        // put (32 KB) and does not.
        TxnRequest txn = BigTxn(valueBytes: (int)((remaining - 8192) / Puts) - 18);
        Assert.InRange(txn.CalculateSize(), remaining - 9000, remaining - 7500);
        await KvTests.AssertEtcdError(NoSpace, () => s.Server.TxnAsync(txn, s_anon, CancellationToken.None).AsTask());
        AlarmResponse alarms = await s.Server.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get }, s_anon, CancellationToken.None);
        Assert.Equal(AlarmType.Nospace, Assert.Single(alarms.Alarms).Alarm);

        // Nothing of it was applied, and once the alarm is up the same txn never reaches raft.
        StatusResponse refused = await StatusAsync(s);
        Assert.Equal(before.Header.Revision, refused.Header.Revision);
        Assert.Equal(0, (await s.GetAsync("big/", "big0")).Count);
        await KvTests.AssertEtcdError(NoSpace, () => s.Server.TxnAsync(txn, s_anon, CancellationToken.None).AsTask());
        Assert.Equal(refused.RaftIndex, (await StatusAsync(s)).RaftIndex);

        // A small write still fits the estimate, but the alarm refuses it; disarmed, it goes through.
        await KvTests.AssertEtcdError(NoSpace, () => s.PutAsync("small", "x"));
        await s.Server.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Deactivate, MemberID = s.Server.MemberId, Alarm = AlarmType.Nospace }, s_anon, CancellationToken.None);
        PutResponse put = await s.PutAsync("small", "x");
        Assert.Equal(before.Header.Revision + 1, put.Header.Revision);
    }

    [Fact]
    public async Task Txn_BranchThatFitsTheEstimate_IsApplied()
    {
        await using TestServer s = await StartAsync(
            nameof(Txn_BranchThatFitsTheEstimate_IsApplied),
            o => new EtcdServerOptions { DataDir = o.DataDir, QuotaBackendBytes = QuotaBytes });
        long remaining = QuotaBytes - (await StatusAsync(s)).DbSize;

        // Well below the estimate's limit (128 x (256 + key + value) is under half of what is left).
        TxnResponse response = await s.Server.TxnAsync(BigTxn(valueBytes: (int)(remaining / 2 / Puts) - 300), s_anon, CancellationToken.None);
        Assert.True(response.Succeeded);
        Assert.Equal(Puts, (await s.GetAsync("big/", "big0")).Count);
    }

    /// <summary>
    /// A txn whose success branch (taken: "big/000" does not exist yet) puts <see cref="Puts"/>
    /// keys; its failure branch has one small put (the larger branch is what the txn costs).
    /// </summary>
    private static TxnRequest BigTxn(int valueBytes)
    {
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = B("big/000"), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Failure = { new RequestOp { RequestPut = new PutRequest { Key = B("other"), Value = B("small") } } },
        };
        ByteString value = B(new string('v', valueBytes));
        for (int i = 0; i < Puts; i++)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"big/{i:D3}"), Value = value } });
        }

        return txn;
    }

    private static async Task<StatusResponse> StatusAsync(TestServer s) =>
        await s.Server.StatusAsync(new StatusRequest(), s_anon, CancellationToken.None);
}
