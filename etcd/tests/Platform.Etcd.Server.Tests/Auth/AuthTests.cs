using Platform.Etcd.Api;
using Platform.Etcd.Api.Authpb;
using Platform.Etcd.Server.Tests.Kv;
using static Platform.Etcd.Server.Tests.TestServer;

namespace Platform.Etcd.Server.Tests.Auth;

public sealed class AuthTests
{
    private static readonly RequestContext s_anon = RequestContext.Anonymous;

    [Fact]
    public async Task Auth_EnableAuthenticateAndPermissions_FollowEtcd()
    {
        // bcrypt cost 4 keeps the test fast; the production default is etcd's 10.
        await using TestServer s = await StartAsync(nameof(Auth_EnableAuthenticateAndPermissions_FollowEtcd), o => new EtcdServerOptions { DataDir = o.DataDir, BcryptCost = 4 });
        IEtcdServer e = s.Server;
        CancellationToken ct = CancellationToken.None;
        await KvTests.AssertEtcdError("etcdserver: root user does not exist", () => e.AuthEnableAsync(new AuthEnableRequest(), s_anon, ct).AsTask());
        await e.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "rootpw" }, s_anon, ct);
        await KvTests.AssertEtcdError("etcdserver: root user does not have root role", () => e.AuthEnableAsync(new AuthEnableRequest(), s_anon, ct).AsTask());
        await e.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" }, s_anon, ct);
        await KvTests.AssertEtcdError("etcdserver: user name is empty", () => e.UserAddAsync(new AuthUserAddRequest { Name = "" }, s_anon, ct).AsTask());
        await KvTests.AssertEtcdError("etcdserver: user name already exists", () => e.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "x" }, s_anon, ct).AsTask());
        await e.RoleAddAsync(new AuthRoleAddRequest { Name = "app" }, s_anon, ct);
        await e.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest { Name = "app", Perm = new Permission { PermType = Permission.Types.Type.Readwrite, Key = B("/app/"), RangeEnd = B("/app0") } }, s_anon, ct);
        await e.UserAddAsync(new AuthUserAddRequest { Name = "alice", Password = "alicepw" }, s_anon, ct);
        await e.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "alice", Role = "app" }, s_anon, ct);
        await KvTests.AssertEtcdError("etcdserver: role name not found", () => e.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "alice", Role = "nope" }, s_anon, ct).AsTask());
        await KvTests.AssertEtcdError("etcdserver: authentication is not enabled", () => e.AuthenticateAsync(new AuthenticateRequest { Name = "alice", Password = "alicepw" }, s_anon, ct).AsTask());

        await e.AuthEnableAsync(new AuthEnableRequest(), s_anon, ct);
        Assert.True((await e.AuthStatusAsync(new AuthStatusRequest(), s_anon, ct)).Enabled);
        await KvTests.AssertEtcdError("etcdserver: user name is empty", () => s.PutAsync("/app/x", "1"));
        await KvTests.AssertEtcdError("etcdserver: authentication failed, invalid user ID or password", () => e.AuthenticateAsync(new AuthenticateRequest { Name = "alice", Password = "wrong" }, s_anon, ct).AsTask());
        await KvTests.AssertEtcdError("etcdserver: invalid auth token", () => e.RangeAsync(new RangeRequest { Key = B("/app/x") }, new RequestContext(Token: "bogus.1"), ct).AsTask());

        string token = (await e.AuthenticateAsync(new AuthenticateRequest { Name = "alice", Password = "alicepw" }, s_anon, ct)).Token;
        var alice = new RequestContext(Token: token);
        await e.PutAsync(new PutRequest { Key = B("/app/x"), Value = B("1") }, alice, ct);
        Assert.Equal(1, (await e.RangeAsync(new RangeRequest { Key = B("/app/"), RangeEnd = B("/app0") }, alice, ct)).Count);
        await KvTests.AssertEtcdError("etcdserver: permission denied", () => e.PutAsync(new PutRequest { Key = B("/other"), Value = B("1") }, alice, ct).AsTask());
        await KvTests.AssertEtcdError("etcdserver: permission denied", () => e.RangeAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") }, alice, ct).AsTask());
        await KvTests.AssertEtcdError("etcdserver: permission denied", () => e.UserListAsync(new AuthUserListRequest(), alice, ct).AsTask());

        // Watches need read permission on their range.
        await using IWatchStream stream = e.OpenWatchStream(alice);
        await stream.HandleAsync(Watch.WatchTests.Create("/other", null), ct);
        WatchResponse refused = await Watch.WatchTests.NextAsync(stream);
        Assert.Equal((true, "etcdserver: permission denied"), (refused.Canceled, refused.CancelReason));

        var root = new RequestContext(Token: (await e.AuthenticateAsync(new AuthenticateRequest { Name = "root", Password = "rootpw" }, s_anon, ct)).Token);
        Assert.Equal(["alice", "root"], (await e.UserListAsync(new AuthUserListRequest(), root, ct)).Users);
        await KvTests.AssertEtcdError("etcdserver: invalid auth management", () => e.UserDeleteAsync(new AuthUserDeleteRequest { Name = "root" }, root, ct).AsTask());

        // A changed password invalidates alice's token; the new password works.
        await e.UserChangePasswordAsync(new AuthUserChangePasswordRequest { Name = "alice", Password = "newpw" }, root, ct);
        await KvTests.AssertEtcdError("etcdserver: invalid auth token", () => e.PutAsync(new PutRequest { Key = B("/app/x"), Value = B("2") }, alice, ct).AsTask());
        string fresh = (await e.AuthenticateAsync(new AuthenticateRequest { Name = "alice", Password = "newpw" }, s_anon, ct)).Token;
        await e.PutAsync(new PutRequest { Key = B("/app/x"), Value = B("2") }, new RequestContext(Token: fresh), ct);

        await e.AuthDisableAsync(new AuthDisableRequest(), root, ct);
        await s.PutAsync("/other", "open again");
    }
}
