using System.Security.Cryptography;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Tests.Kv;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Maintenance;

public sealed class MaintenanceTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task NoSpace_TinyQuota_RaisesAlarm_RejectsPutsButServesReadsAndDeletes()
    {
        await using TestServer s = await StartAsync(
            nameof(NoSpace_TinyQuota_RaisesAlarm_RejectsPutsButServesReadsAndDeletes),
            o => new EtcdServerOptions { DataDir = o.DataDir, QuotaBackendBytes = 256 * 1024 });
        string value = new('v', 16 * 1024);
        EtcdException? error = null;
        int written = 0;
        for (int i = 0; i < 200 && error is null; i++)
        {
            try
            {
                await s.PutAsync($"big/{i:D3}", value);
                written++;
            }
            catch (EtcdException e)
            {
                error = e;
            }
        }

        Assert.NotNull(error);
        Assert.Equal(("etcdserver: mvcc: database space exceeded", EtcdErrorCode.ResourceExhausted), (error.Message, error.Code));
        AlarmResponse alarms = await s.Server.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get }, s_anon, CancellationToken.None);
        AlarmMember alarm = Assert.Single(alarms.Alarms);
        Assert.Equal((s.Server.MemberId, AlarmType.Nospace), (alarm.MemberID, alarm.Alarm));
        Assert.NotNull(s.Server.HealthProblem);
        Assert.Single((await s.Server.StatusAsync(new StatusRequest(), s_anon, CancellationToken.None)).Errors);

        // Small puts fail too while the alarm is on, as do lease grants; reads and deletes work.
        await KvTests.AssertEtcdError("etcdserver: mvcc: database space exceeded", () => s.PutAsync("small", "x"));
        await KvTests.AssertEtcdError("etcdserver: mvcc: database space exceeded", () => s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 10 }, s_anon, CancellationToken.None).AsTask());
        Assert.Equal(written, (await s.GetAsync("big/", "big0")).Count);
        DeleteRangeResponse deleted = await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("big/"), RangeEnd = B("big0") }, s_anon, CancellationToken.None);
        Assert.Equal(written, deleted.Deleted);

        // Compact, defragment, disarm: writes work again (the operator's procedure).
        await s.Server.CompactAsync(new CompactionRequest { Revision = deleted.Header.Revision, Physical = true }, s_anon, CancellationToken.None);
        await s.Server.DefragmentAsync(new DefragmentRequest(), s_anon, CancellationToken.None);
        AlarmResponse disarmed = await s.Server.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Deactivate, MemberID = s.Server.MemberId, Alarm = AlarmType.Nospace }, s_anon, CancellationToken.None);
        Assert.Single(disarmed.Alarms);
        await s.PutAsync("small", "x");
        Assert.Null(s.Server.HealthProblem);
    }

    [Fact]
    public async Task Snapshot_Stream_CountsDownAndEndsWithSha256OfTheData()
    {
        await using TestServer s = await StartAsync(nameof(Snapshot_Stream_CountsDownAndEndsWithSha256OfTheData));
        for (int i = 0; i < 100; i++)
        {
            await s.PutAsync($"s/{i:D3}", new string('x', 1000));
        }

        var responses = new List<SnapshotResponse>();
        await foreach (SnapshotResponse r in s.Server.SnapshotAsync(new SnapshotRequest(), s_anon, CancellationToken.None))
        {
            responses.Add(r);
        }

        Assert.True(responses.Count >= 3);
        byte[] data = [.. responses[..^1].SelectMany(r => r.Blob.ToByteArray())];
        long remaining = data.Length;
        foreach (SnapshotResponse r in responses[..^1])
        {
            remaining -= r.Blob.Length;
            Assert.Equal((ulong)remaining, r.RemainingBytes);
        }

        Assert.Equal(0UL, responses[^1].RemainingBytes);
        Assert.Equal(SHA256.HashData(data), responses[^1].Blob.ToByteArray());
        Assert.True(data.Length > 100_000);
    }

    [Fact]
    public async Task Status_HashKv_Hash_ReportTheMember()
    {
        await using TestServer s = await StartAsync(nameof(Status_HashKv_Hash_ReportTheMember));
        await KvTests.SeedAsync(s);
        StatusResponse status = await s.Server.StatusAsync(new StatusRequest(), s_anon, CancellationToken.None);
        Assert.Equal("3.4.23", status.Version);
        Assert.Equal(s.Server.MemberId, status.Leader);
        Assert.True(status.RaftIndex >= status.RaftAppliedIndex && status.RaftAppliedIndex > 8);
        Assert.True(status.DbSize >= status.DbSizeInUse && status.DbSizeInUse > 0);
        Assert.False(status.IsLearner);
        Assert.Empty(status.Errors);

        HashKVResponse at8 = await s.Server.HashKVAsync(new HashKVRequest { Revision = 8 }, s_anon, CancellationToken.None);
        HashKVResponse now = await s.Server.HashKVAsync(new HashKVRequest(), s_anon, CancellationToken.None);
        Assert.NotEqual(at8.Hash, now.Hash);
        await s.PutAsync("more", "x");
        Assert.Equal(at8.Hash, (await s.Server.HashKVAsync(new HashKVRequest { Revision = 8 }, s_anon, CancellationToken.None)).Hash);
        uint hash = (await s.Server.HashAsync(new HashRequest(), s_anon, CancellationToken.None)).Hash;
        await s.PutAsync("more", "y");
        Assert.NotEqual(hash, (await s.Server.HashAsync(new HashRequest(), s_anon, CancellationToken.None)).Hash);
    }

    [Fact]
    public async Task MoveLeader_SingleMember_UnknownTargetIsBadTransferee()
    {
        await using TestServer s = await StartAsync(nameof(MoveLeader_SingleMember_UnknownTargetIsBadTransferee));
        await KvTests.AssertEtcdError("etcdserver: bad leader transferee", () => s.Server.MoveLeaderAsync(new MoveLeaderRequest { TargetID = 12345 }, s_anon, CancellationToken.None).AsTask());
        await s.Server.MoveLeaderAsync(new MoveLeaderRequest { TargetID = s.Server.MemberId }, s_anon, CancellationToken.None);
        Assert.Equal(s.Server.MemberId, s.Server.Leader);
    }

    [Fact]
    public async Task AutoCompaction_RevisionMode_CompactsToCurrentMinusRetention()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using TestServer s = await StartAsync(
            nameof(AutoCompaction_RevisionMode_CompactsToCurrentMinusRetention),
            o => new EtcdServerOptions { DataDir = o.DataDir, TimeProvider = time, AutoCompactionMode = "revision", AutoCompactionRetention = "5" });
        for (int i = 0; i < 20; i++)
        {
            await s.PutAsync("ac", $"{i}");
        }

        time.Advance(TimeSpan.FromMinutes(5));
        using var cts = new CancellationTokenSource(TestServer.Timeout);
        while (true)
        {
            try
            {
                await s.Server.RangeAsync(new RangeRequest { Key = B("ac"), Revision = 15 }, s_anon, CancellationToken.None);
                await Task.Yield();
                cts.Token.ThrowIfCancellationRequested();
            }
            catch (EtcdException e) when (e.Code == EtcdErrorCode.OutOfRange)
            {
                break;
            }
        }

        // Revision 16 (= 21 - 5) is kept.
        Assert.Equal(1, (await s.Server.RangeAsync(new RangeRequest { Key = B("ac"), Revision = 16 }, s_anon, CancellationToken.None)).Count);
    }
}
