namespace Platform.Etcd.Client;

public enum PermissionType
{
    Read,
    Write,
    ReadWrite,
}

/// <summary>A role's permission over a key range.</summary>
public sealed record Permission(PermissionType Type, KeyRange Range);

/// <summary>
/// The Auth service: enabling auth (needs a <c>root</c> user holding the <c>root</c> role), users and
/// roles. Mutations are writes (never retried after reaching a server); gets and lists are reads.
/// </summary>
public interface IAuthClient
{
    public Task AuthEnableAsync(CancellationToken cancellationToken = default);

    public Task AuthDisableAsync(CancellationToken cancellationToken = default);

    /// <summary>A token for <paramref name="name"/>; the client does this itself when configured with credentials.</summary>
    /// <exception cref="EtcdAuthenticationFailedException">Wrong name or password.</exception>
    public Task<string> AuthenticateAsync(string name, string password, CancellationToken cancellationToken = default);

    /// <summary>Adds a user; with <paramref name="noPassword"/> it cannot authenticate with a password (TLS common name only).</summary>
    public Task UserAddAsync(string name, string password, bool noPassword = false, CancellationToken cancellationToken = default);

    /// <summary>The user's roles.</summary>
    public Task<IReadOnlyList<string>> UserGetAsync(string name, CancellationToken cancellationToken = default);

    public Task<IReadOnlyList<string>> UserListAsync(CancellationToken cancellationToken = default);

    public Task UserDeleteAsync(string name, CancellationToken cancellationToken = default);

    public Task UserChangePasswordAsync(string name, string password, CancellationToken cancellationToken = default);

    public Task UserGrantRoleAsync(string user, string role, CancellationToken cancellationToken = default);

    public Task UserRevokeRoleAsync(string user, string role, CancellationToken cancellationToken = default);

    public Task RoleAddAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The role's permissions.</summary>
    public Task<IReadOnlyList<Permission>> RoleGetAsync(string name, CancellationToken cancellationToken = default);

    public Task<IReadOnlyList<string>> RoleListAsync(CancellationToken cancellationToken = default);

    public Task RoleDeleteAsync(string name, CancellationToken cancellationToken = default);

    public Task RoleGrantPermissionAsync(string role, Permission permission, CancellationToken cancellationToken = default);

    public Task RoleRevokePermissionAsync(string role, KeyRange range, CancellationToken cancellationToken = default);
}
