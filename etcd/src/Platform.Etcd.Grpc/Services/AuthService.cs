using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>etcd's Auth service (v3rpc/auth.go): every call goes straight to <see cref="IAuthServer"/>.</summary>
internal sealed class AuthService : Auth.AuthBase
{
    private readonly IEtcdServer _server;

    public AuthService(IEtcdServer server)
    {
        _server = server;
    }

    public override Task<AuthEnableResponse> AuthEnable(AuthEnableRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.AuthEnableAsync);

    public override Task<AuthDisableResponse> AuthDisable(AuthDisableRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.AuthDisableAsync);

    public override Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.AuthStatusAsync);

    public override Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.AuthenticateAsync);

    public override Task<AuthUserAddResponse> UserAdd(AuthUserAddRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserAddAsync);

    public override Task<AuthUserGetResponse> UserGet(AuthUserGetRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserGetAsync);

    public override Task<AuthUserListResponse> UserList(AuthUserListRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserListAsync);

    public override Task<AuthUserDeleteResponse> UserDelete(AuthUserDeleteRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserDeleteAsync);

    public override Task<AuthUserChangePasswordResponse> UserChangePassword(AuthUserChangePasswordRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserChangePasswordAsync);

    public override Task<AuthUserGrantRoleResponse> UserGrantRole(AuthUserGrantRoleRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserGrantRoleAsync);

    public override Task<AuthUserRevokeRoleResponse> UserRevokeRole(AuthUserRevokeRoleRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.UserRevokeRoleAsync);

    public override Task<AuthRoleAddResponse> RoleAdd(AuthRoleAddRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleAddAsync);

    public override Task<AuthRoleGetResponse> RoleGet(AuthRoleGetRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleGetAsync);

    public override Task<AuthRoleListResponse> RoleList(AuthRoleListRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleListAsync);

    public override Task<AuthRoleDeleteResponse> RoleDelete(AuthRoleDeleteRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleDeleteAsync);

    public override Task<AuthRoleGrantPermissionResponse> RoleGrantPermission(AuthRoleGrantPermissionRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleGrantPermissionAsync);

    public override Task<AuthRoleRevokePermissionResponse> RoleRevokePermission(AuthRoleRevokePermissionRequest request, ServerCallContext context) =>
        Calls.Unary(context, _server, request, _server.RoleRevokePermissionAsync);
}
