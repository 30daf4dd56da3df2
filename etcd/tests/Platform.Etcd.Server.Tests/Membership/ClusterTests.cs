using Platform.Etcd.Api;
using Platform.Etcd.Server.Tests.Kv;

namespace Platform.Etcd.Server.Tests.Membership;

public sealed class ClusterTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task MemberList_SingleMember_ShowsNameUrlsAndEtcdIds()
    {
        await using TestServer s = await TestServer.StartAsync(
            nameof(MemberList_SingleMember_ShowsNameUrlsAndEtcdIds),
            o => new EtcdServerOptions
            {
                DataDir = o.DataDir,
                Name = "infra0",
                PeerUrls = ["http://10.0.1.10:2380"],
                InitialCluster = "infra0=http://10.0.1.10:2380",
                InitialClusterToken = "etcd-cluster-1",
                AdvertiseClientUrls = ["http://10.0.1.10:2379"],
            });
        MemberListResponse list = await ListAsync(s);
        Member member = Assert.Single(list.Members);
        Assert.Equal(("infra0", "http://10.0.1.10:2380", "http://10.0.1.10:2379", false), (member.Name, Assert.Single(member.PeerURLs), Assert.Single(member.ClientURLs), member.IsLearner));
        Assert.Equal(s.Server.MemberId, member.ID);
        Assert.Equal(list.Header.MemberId, member.ID);
        Assert.NotEqual(0x8e9e05c52164694dUL, member.ID);
    }

    [Fact]
    public async Task MemberAdd_ThroughRaft_ListsTheNewMember_AndEnforcesEtcdRules()
    {
        await using TestServer s = await TestServer.StartAsync(nameof(MemberAdd_ThroughRaft_ListsTheNewMember_AndEnforcesEtcdRules));
        await KvTests.AssertEtcdError("etcdserver: Peer URLs already exists", () => s.Server.MemberAddAsync(new MemberAddRequest { PeerURLs = { "http://localhost:2380" } }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: given member URLs are invalid", () => s.Server.MemberAddAsync(new MemberAddRequest { PeerURLs = { "not a url" } }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: member not found", () => s.Server.MemberRemoveAsync(new MemberRemoveRequest { ID = 1 }, s_anon, CancellationToken.None).AsTask());

        MemberAddResponse learner = await s.Server.MemberAddAsync(new MemberAddRequest { PeerURLs = { "http://127.0.0.1:12380" }, IsLearner = true }, s_anon, CancellationToken.None);
        Assert.True(learner.Member.IsLearner);
        Assert.Equal(2, learner.Members.Count);
        MemberListResponse list = await ListAsync(s);
        Member added = Assert.Single(list.Members, m => m.ID == learner.Member.ID);
        Assert.Equal(("", true), (added.Name, added.IsLearner));

        // A learner does not vote: the single member still commits.
        await s.PutAsync("still", "writable");
        await KvTests.AssertEtcdError("etcdserver: too many learner members in cluster", () => s.Server.MemberAddAsync(new MemberAddRequest { PeerURLs = { "http://127.0.0.1:12381" }, IsLearner = true }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: can only promote a learner member which is in sync with leader", () => s.Server.MemberPromoteAsync(new MemberPromoteRequest { ID = learner.Member.ID }, s_anon, CancellationToken.None).AsTask());
        await KvTests.AssertEtcdError("etcdserver: can only promote a learner member", () => s.Server.MemberPromoteAsync(new MemberPromoteRequest { ID = s.Server.MemberId }, s_anon, CancellationToken.None).AsTask());

        await s.Server.MemberRemoveAsync(new MemberRemoveRequest { ID = learner.Member.ID }, s_anon, CancellationToken.None);
        Assert.Single((await ListAsync(s)).Members);

        // Membership survives a restart (re-derived from the log).
        await s.RestartAsync();
        Assert.Single((await ListAsync(s)).Members);
        await KvTests.AssertEtcdError("membership: ID removed", () => s.Server.MemberUpdateAsync(new MemberUpdateRequest { ID = learner.Member.ID, PeerURLs = { "http://127.0.0.1:12390" } }, s_anon, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task MemberAdd_Voter_ToSingleMember_IsAccepted_AndThenQuorumIsLost()
    {
        await using TestServer s = await TestServer.StartAsync(
            nameof(MemberAdd_Voter_ToSingleMember_IsAccepted_AndThenQuorumIsLost),
            o => new EtcdServerOptions { DataDir = o.DataDir, RequestTimeout = TimeSpan.FromMilliseconds(500) });
        MemberAddResponse voter = await s.Server.MemberAddAsync(new MemberAddRequest { PeerURLs = { "http://127.0.0.1:12380" } }, s_anon, CancellationToken.None);
        Assert.False(voter.Member.IsLearner);
        Assert.Equal(2, (await ListAsync(s)).Members.Count);

        // As etcd: the new member has not started, two voters need two acks: writes time out.
        await KvTests.AssertEtcdError("etcdserver: request timed out", () => s.PutAsync("k", "v"));
    }

    private static Task<MemberListResponse> ListAsync(TestServer s) =>
        s.Server.MemberListAsync(new MemberListRequest(), s_anon, CancellationToken.None).AsTask();
}
