using Grpc.Core;
using Grpc.Net.Client;
using Platform.Etcd.Client.IntegrationTests.Infrastructure;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests;

/// <summary>
/// Authentication and authorization, as one scenario because auth is cluster-wide state: root
/// enables auth, a user confined to a prefix is permitted there and denied elsewhere, wrong
/// passwords fail, and a client whose token was invalidated re-authenticates by itself.
/// </summary>
public abstract class AuthTests<TFixture>(TFixture fixture) : EtcdTestBase<TFixture>(fixture)
    where TFixture : EtcdServerFixture
{
    [RealEtcdFact]
    public async Task Auth_UserConfinedToPrefix_IsPermittedThereDeniedElsewhere_AndSurvivesTokenInvalidation()
    {
        const string RootPassword = "root-secret";
        const string AlicePassword = "alice-secret";
        string app = Key("app/");
        await Client.Auth.UserAddAsync("root", RootPassword);
        await Client.Auth.UserGrantRoleAsync("root", "root");
        await Client.Auth.RoleAddAsync("app-rw");
        await Client.Auth.RoleGrantPermissionAsync("app-rw", new Permission(PermissionType.ReadWrite, KeyRange.Prefix(app)));
        await Client.Auth.UserAddAsync("alice", AlicePassword);
        await Client.Auth.UserGrantRoleAsync("alice", "app-rw");
        // Created before auth is on: it starts without a token and must pick one up once auth is enabled.
        await using IEtcdClient root = Fixture.CreateClient(o => new EtcdClientOptions { Endpoints = o.Endpoints, Username = "root", Password = RootPassword });
        await root.Kv.PutAsync(Key("before-auth"), "1");
        await Client.Auth.AuthEnableAsync();
        try
        {
            await using IEtcdClient alice = Fixture.CreateClient(o => new EtcdClientOptions { Endpoints = o.Endpoints, Username = "alice", Password = AlicePassword });

            // Permitted inside the prefix, denied outside, for reads, writes and watches.
            PutResult put = await alice.Kv.PutAsync(app + "x", "1");
            Assert.Equal("1", (await alice.Kv.GetAsync(app + "x")).Kv?.ValueString);
            await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.Kv.PutAsync(Key("elsewhere"), "1"));
            await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.Kv.GetAsync(Key("before-auth")));
            await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.Auth.UserListAsync());
            using (var cts = new CancellationTokenSource(Patience))
            {
                await Assert.ThrowsAsync<EtcdPermissionDeniedException>(async () =>
                {
                    await foreach (WatchResponse _ in alice.Watch.WatchAsync(Key("before-auth"), new WatchOptions { StartRevision = 1 }, cts.Token))
                    {
                        Assert.Fail("a denied watch delivered events");
                    }
                });
                await using IAsyncEnumerator<WatchResponse> watch = alice.Watch
                    .WatchPrefixAsync(app, new WatchOptions { StartRevision = put.Header.Revision }, cts.Token)
                    .GetAsyncEnumerator(cts.Token);
                Assert.Equal(app + "x", Assert.Single(await TakeEventsAsync(watch, 1)).Kv.KeyString);
            }

            // Root: everything, including user management; the unauthenticated client is refused.
            Assert.Equal("1", (await root.Kv.GetAsync(Key("before-auth"))).Kv?.ValueString);
            Assert.Contains("alice", await root.Auth.UserListAsync());
            Assert.Equal(["app-rw"], await root.Auth.UserGetAsync("alice"));
            Permission permission = Assert.Single(await root.Auth.RoleGetAsync("app-rw"));
            Assert.Equal(PermissionType.ReadWrite, permission.Type);
            Assert.Equal(KeyRange.Prefix(app).RangeEnd, permission.Range.RangeEnd);
            EtcdClientException anonymous = await Assert.ThrowsAnyAsync<EtcdClientException>(() => Client.Kv.GetAsync(Key("before-auth")));
            Assert.Equal("etcdserver: user name is empty", anonymous.EtcdMessage);
            await Assert.ThrowsAsync<EtcdAuthenticationFailedException>(() => Client.Auth.AuthenticateAsync("alice", "wrong"));
            await using (IEtcdClient wrong = Fixture.CreateClient(o => new EtcdClientOptions { Endpoints = o.Endpoints, Username = "alice", Password = "wrong" }))
            {
                await Assert.ThrowsAsync<EtcdAuthenticationFailedException>(() => wrong.Kv.GetAsync(app + "x"));
            }

            // Invalidate every token (etcd drops its simple tokens when auth is disabled), then check
            // that an old token is really refused, and that alice's client recovers by itself.
            string oldToken = await root.Auth.AuthenticateAsync("alice", AlicePassword);
            await root.Auth.AuthDisableAsync();
            await Client.Auth.AuthEnableAsync();
            RpcException stale = await Assert.ThrowsAsync<RpcException>(() => RawGetAsync(oldToken, app + "x"));
            Assert.Equal("etcdserver: invalid auth token", stale.Status.Detail);

            Assert.Equal("1", (await alice.Kv.GetAsync(app + "x")).Kv?.ValueString);
            await alice.Kv.PutAsync(app + "y", "2");
            Assert.Equal("1", (await root.Kv.GetAsync(Key("before-auth"))).Kv?.ValueString);
        }
        finally
        {
            await root.Auth.AuthDisableAsync();
        }

        Assert.Equal("2", (await Client.Kv.GetAsync(app + "y")).Kv?.ValueString);
    }

    private async Task RawGetAsync(string token, string key)
    {
        using var channel = GrpcChannel.ForAddress(Fixture.ClientUrls[0]);
        var kv = new Platform.Etcd.Api.KV.KVClient(channel);
        await kv.RangeAsync(
            new Platform.Etcd.Api.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key) },
            new Metadata { { "token", token } });
    }
}
