using Google.Protobuf;
using Authpb = Platform.Etcd.Api.Authpb;

namespace Platform.Etcd.Client.Internal;

internal sealed class AuthClient(Connection connection) : IAuthClient
{
    public Task AuthEnableAsync(CancellationToken cancellationToken = default) =>
        connection.CallAsync((e, o) => e.Auth.AuthEnableAsync(new Api.AuthEnableRequest(), o).ResponseAsync, Retry.Write, cancellationToken);

    public Task AuthDisableAsync(CancellationToken cancellationToken = default) =>
        connection.CallAsync((e, o) => e.Auth.AuthDisableAsync(new Api.AuthDisableRequest(), o).ResponseAsync, Retry.Write, cancellationToken);

    public async Task<string> AuthenticateAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthenticateRequest { Name = name, Password = password };
        Api.AuthenticateResponse response = await connection.CallAsync(
            (e, o) => e.Auth.AuthenticateAsync(request, o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return response.Token;
    }

    public Task UserAddAsync(string name, string password, bool noPassword = false, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserAddRequest { Name = name, Password = password, Options = new Authpb.UserAddOptions { NoPassword = noPassword } };
        return connection.CallAsync((e, o) => e.Auth.UserAddAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> UserGetAsync(string name, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserGetRequest { Name = name };
        Api.AuthUserGetResponse response = await connection.CallAsync(
            (e, o) => e.Auth.UserGetAsync(request, o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return [.. response.Roles];
    }

    public async Task<IReadOnlyList<string>> UserListAsync(CancellationToken cancellationToken = default)
    {
        Api.AuthUserListResponse response = await connection.CallAsync(
            (e, o) => e.Auth.UserListAsync(new Api.AuthUserListRequest(), o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return [.. response.Users];
    }

    public Task UserDeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserDeleteRequest { Name = name };
        return connection.CallAsync((e, o) => e.Auth.UserDeleteAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task UserChangePasswordAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserChangePasswordRequest { Name = name, Password = password };
        return connection.CallAsync((e, o) => e.Auth.UserChangePasswordAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task UserGrantRoleAsync(string user, string role, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserGrantRoleRequest { User = user, Role = role };
        return connection.CallAsync((e, o) => e.Auth.UserGrantRoleAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task UserRevokeRoleAsync(string user, string role, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthUserRevokeRoleRequest { Name = user, Role = role };
        return connection.CallAsync((e, o) => e.Auth.UserRevokeRoleAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task RoleAddAsync(string name, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthRoleAddRequest { Name = name };
        return connection.CallAsync((e, o) => e.Auth.RoleAddAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public async Task<IReadOnlyList<Permission>> RoleGetAsync(string name, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthRoleGetRequest { Role = name };
        Api.AuthRoleGetResponse response = await connection.CallAsync(
            (e, o) => e.Auth.RoleGetAsync(request, o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return [.. response.Perm.Select(ToPermission)];
    }

    public async Task<IReadOnlyList<string>> RoleListAsync(CancellationToken cancellationToken = default)
    {
        Api.AuthRoleListResponse response = await connection.CallAsync(
            (e, o) => e.Auth.RoleListAsync(new Api.AuthRoleListRequest(), o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return [.. response.Roles];
    }

    public Task RoleDeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var request = new Api.AuthRoleDeleteRequest { Role = name };
        return connection.CallAsync((e, o) => e.Auth.RoleDeleteAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task RoleGrantPermissionAsync(string role, Permission permission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permission);
        var request = new Api.AuthRoleGrantPermissionRequest
        {
            Name = role,
            Perm = new Authpb.Permission
            {
                PermType = (Authpb.Permission.Types.Type)permission.Type,
                Key = ByteString.CopyFrom(permission.Range.Key),
                RangeEnd = ByteString.CopyFrom(permission.Range.RangeEnd),
            },
        };
        return connection.CallAsync((e, o) => e.Auth.RoleGrantPermissionAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    public Task RoleRevokePermissionAsync(string role, KeyRange range, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(range);
        var request = new Api.AuthRoleRevokePermissionRequest { Role = role, Key = ByteString.CopyFrom(range.Key), RangeEnd = ByteString.CopyFrom(range.RangeEnd) };
        return connection.CallAsync((e, o) => e.Auth.RoleRevokePermissionAsync(request, o).ResponseAsync, Retry.Write, cancellationToken);
    }

    private static Permission ToPermission(Authpb.Permission p)
    {
        byte[] key = p.Key.ToByteArray();
        byte[] end = p.RangeEnd.ToByteArray();
        KeyRange range = end.Length == 0 ? KeyRange.Single(key) : KeyRange.Between(key, end);
        return new Permission((PermissionType)p.PermType, range);
    }
}
