using Platform.Etcd.Api;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Auth;
using Platform.Etcd.Server.Proto;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    public async ValueTask<AuthEnableResponse> AuthEnableAsync(AuthEnableRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthEnableResponse>(new InternalRaftRequest { AuthEnable = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthDisableResponse> AuthDisableAsync(AuthDisableRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthDisableResponse>(new InternalRaftRequest { AuthDisable = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public ValueTask<AuthStatusResponse> AuthStatusAsync(AuthStatusRequest request, RequestContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new AuthStatusResponse { Header = NewHeader(), Enabled = _auth.Enabled, AuthRevision = _auth.Revision });

    public async ValueTask<AuthenticateResponse> AuthenticateAsync(AuthenticateRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // bcrypt is deliberately slow (~50 ms at cost 10): checked here, never on the apply path.
        await Task.Run(() => _auth.CheckPassword(request.Name, request.Password), cancellationToken).ConfigureAwait(false);
        var authenticate = new InternalAuthenticateRequest { Name = request.Name, SimpleToken = AuthStore.NewSimpleToken(_ids.Next()) };
        ApplyResult result = await ProposeAsync(new InternalRaftRequest { Authenticate = authenticate }, null, cancellationToken).ConfigureAwait(false);
        var response = (AuthenticateResponse)result.Response!;
        response.Header = NewHeader();
        return response;
    }

    public async ValueTask<AuthUserAddResponse> UserAddAsync(AuthUserAddRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        AuthUserAddRequest add = request.Clone();
        if (add.Options?.NoPassword != true)
        {
            // Only the hash enters the log (etcd 3.5's hashedPassword).
            add.HashedPassword = await Task.Run(() => _auth.HashPassword(add.Password), cancellationToken).ConfigureAwait(false);
        }

        add.Password = string.Empty;
        return Header(await ProposeAuthAsync<AuthUserAddResponse>(new InternalRaftRequest { AuthUserAdd = add }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());
    }

    public async ValueTask<AuthUserGetResponse> UserGetAsync(AuthUserGetRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthUserGetResponse>(new InternalRaftRequest { AuthUserGet = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthUserListResponse> UserListAsync(AuthUserListRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthUserListResponse>(new InternalRaftRequest { AuthUserList = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthUserDeleteResponse> UserDeleteAsync(AuthUserDeleteRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthUserDeleteResponse>(new InternalRaftRequest { AuthUserDelete = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthUserChangePasswordResponse> UserChangePasswordAsync(AuthUserChangePasswordRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        AuthUserChangePasswordRequest change = request.Clone();
        change.HashedPassword = await Task.Run(() => _auth.HashPassword(change.Password), cancellationToken).ConfigureAwait(false);
        change.Password = string.Empty;
        return Header(await ProposeAuthAsync<AuthUserChangePasswordResponse>(new InternalRaftRequest { AuthUserChangePassword = change }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());
    }

    public async ValueTask<AuthUserGrantRoleResponse> UserGrantRoleAsync(AuthUserGrantRoleRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthUserGrantRoleResponse>(new InternalRaftRequest { AuthUserGrantRole = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthUserRevokeRoleResponse> UserRevokeRoleAsync(AuthUserRevokeRoleRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthUserRevokeRoleResponse>(new InternalRaftRequest { AuthUserRevokeRole = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleAddResponse> RoleAddAsync(AuthRoleAddRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleAddResponse>(new InternalRaftRequest { AuthRoleAdd = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleGetResponse> RoleGetAsync(AuthRoleGetRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleGetResponse>(new InternalRaftRequest { AuthRoleGet = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleListResponse> RoleListAsync(AuthRoleListRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleListResponse>(new InternalRaftRequest { AuthRoleList = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleDeleteResponse> RoleDeleteAsync(AuthRoleDeleteRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleDeleteResponse>(new InternalRaftRequest { AuthRoleDelete = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleGrantPermissionResponse> RoleGrantPermissionAsync(AuthRoleGrantPermissionRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleGrantPermissionResponse>(new InternalRaftRequest { AuthRoleGrantPermission = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    public async ValueTask<AuthRoleRevokePermissionResponse> RoleRevokePermissionAsync(AuthRoleRevokePermissionRequest request, RequestContext context, CancellationToken cancellationToken) =>
        Header(await ProposeAuthAsync<AuthRoleRevokePermissionResponse>(new InternalRaftRequest { AuthRoleRevokePermission = request }, context, cancellationToken).ConfigureAwait(false), r => r.Header = NewHeader());

    private static T Header<T>(T response, Action<T> fill)
    {
        fill(response);
        return response;
    }

    /// <summary>Auth management goes through raft (reads too, as etcd 3.4) and needs the root role once auth is on.</summary>
    private async ValueTask<T> ProposeAuthAsync<T>(InternalRaftRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        CheckAdmin(context);
        ApplyResult result = await ProposeAsync(request, context, cancellationToken).ConfigureAwait(false);
        return (T)result.Response!;
    }
}
