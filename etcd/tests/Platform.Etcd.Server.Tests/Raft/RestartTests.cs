using Platform.Etcd.Api;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Raft;

public sealed class RestartTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Restart_SameDataDir_PreservesExactlyTheAcknowledgedState()
    {
        await using TestServer s = await StartAsync(nameof(Restart_SameDataDir_PreservesExactlyTheAcknowledgedState));
        for (int i = 0; i < 20; i++)
        {
            await s.PutAsync($"key{i:D2}", $"value{i}");
        }

        await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("key05") }, s_anon, CancellationToken.None);
        LeaseGrantResponse lease = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { TTL = 600 }, s_anon, CancellationToken.None);
        await s.PutAsync("leased", "x", lease.ID);
        await s.Server.RoleAddAsync(new AuthRoleAddRequest { Name = "reader" }, s_anon, CancellationToken.None);
        RangeResponse before = await s.GetAsync("\0", "\0");
        ulong memberId = s.Server.MemberId;
        ulong appliedBefore = s.Server.AppliedIndex;

        await s.RestartAsync();

        RangeResponse after = await s.GetAsync("\0", "\0");
        Assert.Equal(before.Header.Revision, after.Header.Revision);
        Assert.Equal(before.Kvs, after.Kvs);
        Assert.Equal(memberId, s.Server.MemberId);
        Assert.True(s.Server.AppliedIndex >= appliedBefore);
        LeaseTimeToLiveResponse ttl = await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.ID, Keys = true }, s_anon, CancellationToken.None);
        Assert.Equal(600, ttl.GrantedTTL);
        Assert.Equal("leased", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.Equal(["reader"], (await s.Server.RoleListAsync(new AuthRoleListRequest(), s_anon, CancellationToken.None)).Roles);

        // Writes continue from the recovered revision, and revoking the restored lease deletes its key.
        Assert.Equal(before.Header.Revision + 1, (await s.PutAsync("new", "v")).Header.Revision);
        await s.Server.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease.ID }, s_anon, CancellationToken.None);
        Assert.Equal(0, (await s.GetAsync("leased")).Count);
    }

    [Fact]
    public async Task Restart_AfterSnapshots_RecoversFromSnapshotAndPurgesOldFiles()
    {
        await using TestServer s = await StartAsync(
            nameof(Restart_AfterSnapshots_RecoversFromSnapshotAndPurgesOldFiles),
            o => new EtcdServerOptions { DataDir = o.DataDir, SnapshotCount = 10, SnapshotCatchUpEntries = 5, EnableV2 = true });
        for (int i = 0; i < 120; i++)
        {
            await s.PutAsync($"k{i:D3}", "v");
        }

        await s.Server.V2DoAsync(new V2Request("PUT", "/1/v2key", Value: "v2value"), CancellationToken.None);
        for (int i = 0; i < 15; i++)
        {
            await s.PutAsync($"tail{i:D2}", "v");
        }

        string snapDir = Path.Combine(s.DataDir, "member", "snap");
        string[] snaps = Directory.GetFiles(snapDir, "*.snap");
        Assert.InRange(snaps.Length, 1, 5);

        await s.RestartAsync();
        Assert.Equal(120, (await s.GetAsync("k", "l")).Count);
        Assert.Equal(15, (await s.GetAsync("tail", "tailz")).Count);
        Assert.Equal("v2value", (await s.Server.V2DoAsync(new V2Request("GET", "/1/v2key"), CancellationToken.None)).Node.Value);
        Assert.Single((await s.Server.MemberListAsync(new MemberListRequest(), s_anon, CancellationToken.None)).Members);
    }

    [Fact]
    public async Task Restart_WalLockedByRunningServer_SecondServerRefused()
    {
        await using TestServer s = await StartAsync(nameof(Restart_WalLockedByRunningServer_SecondServerRefused));
        await s.PutAsync("a", "b");
        await Assert.ThrowsAnyAsync<Exception>(async () => await EtcdServers.StartAsync(new EtcdServerOptions { DataDir = s.DataDir }));
        Assert.Equal(1, (await s.GetAsync("a")).Count);
    }

    /// <summary>
    /// A crash after the WAL fsync but before the backend commit leaves the backend behind the
    /// log: the restart must re-apply exactly the entries above the backend's consistent index,
    /// with their original revisions, leases (server tables) and lease attachments.
    /// </summary>
    [Fact]
    public async Task Restart_BackendBehindWal_ReplaysEntriesAboveConsistentIndex()
    {
        await using TestServer s = await StartAsync(nameof(Restart_BackendBehindWal_ReplaysEntriesAboveConsistentIndex));
        await s.PutAsync("before", "1");
        await s.Server.DisposeAsync();
        string member = Path.Combine(s.DataDir, "member");
        File.Copy(Path.Combine(member, "snap", "db"), Path.Combine(member, "db.backup"));

        await s.StartServerAsync();
        LeaseGrantResponse lease = await s.Server.LeaseGrantAsync(new LeaseGrantRequest { ID = 77, TTL = 600 }, s_anon, CancellationToken.None);
        await s.PutAsync("after", "2", lease.ID);
        await s.Server.DeleteRangeAsync(new DeleteRangeRequest { Key = B("before") }, s_anon, CancellationToken.None);
        await s.Server.LeaseGrantAsync(new LeaseGrantRequest { ID = 78, TTL = 600 }, s_anon, CancellationToken.None);
        await s.Server.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 78 }, s_anon, CancellationToken.None);
        await s.Server.RoleAddAsync(new AuthRoleAddRequest { Name = "late" }, s_anon, CancellationToken.None);
        RangeResponse expected = await s.GetAsync("\0", "\0");
        await s.Server.DisposeAsync();

        // Roll the backend (key space and server tables) back to the earlier commit, as a crash would leave it.
        File.Copy(Path.Combine(member, "db.backup"), Path.Combine(member, "snap", "db"), overwrite: true);
        await s.StartServerAsync();

        RangeResponse replayed = await s.GetAsync("\0", "\0");
        Assert.Equal(expected.Header.Revision, replayed.Header.Revision);
        Assert.Equal(expected.Kvs, replayed.Kvs);
        LeaseTimeToLiveResponse ttl = await s.Server.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 77, Keys = true }, s_anon, CancellationToken.None);
        Assert.Equal("after", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.Equal([77L], (await s.Server.LeaseLeasesAsync(new LeaseLeasesRequest(), s_anon, CancellationToken.None)).Leases.Select(l => l.ID));
        Assert.Equal(["late"], (await s.Server.RoleListAsync(new AuthRoleListRequest(), s_anon, CancellationToken.None)).Roles);
    }
}
