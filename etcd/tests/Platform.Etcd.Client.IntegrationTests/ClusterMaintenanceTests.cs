using System.Security.Cryptography;
using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>Membership, status, alarms, hashes, defragmentation and snapshots.</summary>
public abstract class ClusterMaintenanceTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task MemberList_SingleMember_ReportsItsClientUrl()
    {
        MemberListResult list = await Client.Cluster.MemberListAsync();

        Member member = Assert.Single(list.Members);
        Assert.Equal(Fixture.ClientUrls, member.ClientUrls);
        Assert.False(member.IsLearner);
        Assert.NotEqual(0UL, member.Id);
        Assert.Equal(member.Id, list.Header.MemberId);
    }

    [RealEtcdFact]
    public async Task MemberAddLearner_Update_Promote_Remove_ChangeMembership()
    {
        // A learner does not vote, so adding one that never starts keeps the single member's quorum.
        int[] ports = FreePorts.Next(2);
        MemberAddResult added = await Client.Cluster.MemberAddAsync([$"http://127.0.0.1:{ports[0]}"], isLearner: true);

        Assert.True(added.Member.IsLearner);
        Assert.Equal(2, added.Members.Count);
        Assert.Empty(added.Member.Name);

        MemberListResult updated = await Client.Cluster.MemberUpdateAsync(added.Member.Id, [$"http://127.0.0.1:{ports[1]}"]);
        Assert.Equal([$"http://127.0.0.1:{ports[1]}"], updated.Members.Single(m => m.Id == added.Member.Id).PeerUrls);

        // A learner that never caught up cannot be promoted.
        EtcdClientException refused = await Assert.ThrowsAnyAsync<EtcdClientException>(() => Client.Cluster.MemberPromoteAsync(added.Member.Id));
        Assert.Contains("learner", refused.EtcdMessage, StringComparison.Ordinal);

        MemberListResult removed = await Client.Cluster.MemberRemoveAsync(added.Member.Id);
        Assert.Single(removed.Members);
        Assert.Single((await Client.Cluster.MemberListAsync()).Members);
    }

    [RealEtcdFact]
    public async Task Status_ReportsVersionLeaderAndSizes()
    {
        StatusResult status = await Client.Maintenance.StatusAsync(Fixture.ClientUrls[0]);

        Assert.StartsWith(Fixture.VersionPrefix, status.Version, StringComparison.Ordinal);
        Assert.Equal(status.Header.MemberId, status.Leader);
        Assert.True(status.DbSizeBytes > 0);
        Assert.InRange(status.DbSizeInUseBytes, 1, status.DbSizeBytes);
        Assert.True(status.RaftIndex > 0);
        Assert.True(status.RaftTerm > 0);
        Assert.Empty(status.Errors);
        Assert.False(status.IsLearner);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.Maintenance.StatusAsync("http://127.0.0.1:1"));
    }

    [RealEtcdFact]
    public async Task Alarms_Hashes_Defragment_Answer()
    {
        PutResult put = await Client.Kv.PutAsync(Key("a"), "1");

        IReadOnlyList<AlarmMember> alarms = await Client.Maintenance.AlarmListAsync();
        HashKVResult first = await Client.Maintenance.HashKVAsync(put.Header.Revision);
        await Client.Maintenance.DefragmentAsync(Fixture.ClientUrls[0]);
        HashKVResult again = await Client.Maintenance.HashKVAsync(put.Header.Revision);
        HashResult hash = await Client.Maintenance.HashAsync();

        Assert.Empty(alarms);
        Assert.Equal(first.Hash, again.Hash);
        Assert.NotEqual(0u, first.Hash);
        Assert.NotEqual(0u, hash.Hash);
        Assert.Empty(await Client.Maintenance.AlarmDisarmAsync(new AlarmMember(0, AlarmType.NoSpace)));
    }

    [RealEtcdFact]
    public async Task Snapshot_StreamEndsWithSha256OfTheRest()
    {
        await Client.Kv.PutAsync(Key("in-snapshot"), "1");
        using var snapshot = new MemoryStream();

        long written = await Client.Maintenance.SnapshotAsync(snapshot);

        byte[] bytes = snapshot.ToArray();
        Assert.Equal(bytes.Length, written);
        Assert.True(bytes.Length > 32 + 4096, $"snapshot of {bytes.Length} bytes");
        Assert.Equal(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)), bytes[^32..]);
    }
}
