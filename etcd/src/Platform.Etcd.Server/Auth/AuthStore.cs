using System.Security.Cryptography;
using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Authpb;
using Platform.Etcd.Server.Proto;

namespace Platform.Etcd.Server.Auth;

/// <summary>
/// etcd's auth store (auth/store.go) with "simple" tokens: users with bcrypt password hashes and
/// roles, roles with key-range permissions, the root user/role rules, and a revision that grows
/// with every change so a permission checked against an old revision is re-checked at apply.
/// Changed only through raft (apply order); tokens are assigned at apply with the string the
/// proposer generated. Thread-safe.
/// </summary>
internal sealed class AuthStore(EtcdServerOptions options, TimeProvider time)
{
    public const string RootUser = "root";
    public const string RootRole = "root";
    private const string TokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, User> _users = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, Role> _roles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string User, DateTimeOffset Expiry)> _tokens = new(StringComparer.Ordinal);
    private bool _enabled;
    private ulong _revision;

    public bool Enabled
    {
        get
        {
            lock (_lock)
            {
                return _enabled;
            }
        }
    }

    public ulong Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    /// <summary>Who the request is from: (user, auth revision) — ("", 0) without auth or credentials.</summary>
    /// <exception cref="EtcdException">An invalid or expired token.</exception>
    public (string User, ulong Revision) Identify(RequestContext context)
    {
        lock (_lock)
        {
            if (!_enabled)
            {
                return (string.Empty, 0);
            }

            if (context.Token is string token)
            {
                if (!_tokens.TryGetValue(token, out (string User, DateTimeOffset Expiry) entry) || entry.Expiry <= time.GetUtcNow())
                {
                    _tokens.Remove(token);
                    throw EtcdErrors.InvalidAuthToken;
                }

                // Simple tokens live TTL from their last use.
                _tokens[token] = (entry.User, time.GetUtcNow() + options.SimpleTokenTtl);
                return (entry.User, _revision);
            }

            return context.CommonName is string cn ? (cn, _revision) : (string.Empty, 0);
        }
    }

    /// <summary>Checks a password before proposing Authenticate (bcrypt is too slow for the apply path).</summary>
    public void CheckPassword(string name, string password)
    {
        User? user;
        lock (_lock)
        {
            if (!_enabled)
            {
                throw EtcdErrors.AuthNotEnabled;
            }

            _users.TryGetValue(name, out user);
        }

        if (user is null || user.Options?.NoPassword == true || user.Password.IsEmpty
            || !BCrypt.Net.BCrypt.Verify(password, user.Password.ToStringUtf8()))
        {
            throw EtcdErrors.AuthFailed;
        }
    }

    public string HashPassword(string password) => BCrypt.Net.BCrypt.HashPassword(password, options.BcryptCost);

    /// <summary>A new simple token: 16 random letters and the raft-unique request id, as etcd's "&lt;random&gt;.&lt;index&gt;".</summary>
    public static string NewSimpleToken(ulong requestId)
    {
        Span<char> chars = stackalloc char[16];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = TokenAlphabet[RandomNumberGenerator.GetInt32(TokenAlphabet.Length)];
        }

        return $"{chars}.{requestId}";
    }

    /// <summary>Checks that the user may run a KV request at apply time (etcd's authApplierV3).</summary>
    public void CheckApplyPermission(InternalRaftRequest r)
    {
        string user = r.Header?.Username ?? string.Empty;
        ulong revision = r.Header?.AuthRevision ?? 0;
        switch (r)
        {
            case { Put: not null }:
                CheckPermitted(user, revision, r.Put.Key, ByteString.Empty, Permission.Types.Type.Write);
                if (r.Put.PrevKv)
                {
                    CheckPermitted(user, revision, r.Put.Key, ByteString.Empty, Permission.Types.Type.Read);
                }

                break;
            case { DeleteRange: not null }:
                CheckPermitted(user, revision, r.DeleteRange.Key, r.DeleteRange.RangeEnd, Permission.Types.Type.Write);
                if (r.DeleteRange.PrevKv)
                {
                    CheckPermitted(user, revision, r.DeleteRange.Key, r.DeleteRange.RangeEnd, Permission.Types.Type.Read);
                }

                break;
            case { Txn: not null }:
                CheckTxnPermitted(user, revision, r.Txn);
                break;
            case { Range: not null }:
                CheckPermitted(user, revision, r.Range.Key, r.Range.RangeEnd, Permission.Types.Type.Read);
                break;
            default:
                break;
        }
    }

    public void CheckTxnPermitted(string user, ulong revision, TxnRequest txn)
    {
        foreach (Compare c in txn.Compare)
        {
            CheckPermitted(user, revision, c.Key, c.RangeEnd, Permission.Types.Type.Read);
        }

        foreach (RequestOp op in txn.Success.Concat(txn.Failure))
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    CheckPermitted(user, revision, op.RequestRange.Key, op.RequestRange.RangeEnd, Permission.Types.Type.Read);
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    CheckPermitted(user, revision, op.RequestPut.Key, ByteString.Empty, Permission.Types.Type.Write);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    CheckPermitted(user, revision, op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd, Permission.Types.Type.Write);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    CheckTxnPermitted(user, revision, op.RequestTxn);
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>etcd's isOpPermitted: may <paramref name="user"/> (as of auth revision <paramref name="revision"/>) access [key, rangeEnd)?</summary>
    public void CheckPermitted(string user, ulong revision, ByteString key, ByteString rangeEnd, Permission.Types.Type type)
    {
        lock (_lock)
        {
            if (!_enabled)
            {
                return;
            }

            if (revision == 0)
            {
                throw EtcdErrors.UserEmpty;
            }

            if (revision < _revision)
            {
                throw EtcdErrors.AuthOldRevision;
            }

            if (!_users.TryGetValue(user, out User? u))
            {
                throw EtcdErrors.PermissionDenied;
            }

            if (u.Roles.Contains(RootRole))
            {
                return;
            }

            if (!IsRangePermitted(u, key, rangeEnd, type))
            {
                throw EtcdErrors.PermissionDenied;
            }
        }
    }

    /// <summary>Auth management, member changes and maintenance need the root role (etcd's IsAdminPermitted).</summary>
    public void CheckAdmin(string user, ulong revision)
    {
        lock (_lock)
        {
            if (!_enabled)
            {
                return;
            }

            if (revision == 0 && user.Length == 0)
            {
                throw EtcdErrors.UserEmpty;
            }

            if (!_users.TryGetValue(user, out User? u) || !u.Roles.Contains(RootRole))
            {
                throw EtcdErrors.PermissionDenied;
            }
        }
    }

    /// <summary>Applies an auth request; null when <paramref name="r"/> is not one. Sets <paramref name="dirty"/> when state changed.</summary>
    public IMessage? Apply(InternalRaftRequest r, ref bool dirty)
    {
        lock (_lock)
        {
            IMessage? response = ApplyLocked(r, out bool changed);
            if (changed)
            {
                _revision++;
                dirty = true;
            }

            return response;
        }
    }

    private IMessage? ApplyLocked(InternalRaftRequest r, out bool changed)
    {
        changed = false;
        switch (r)
        {
            case { AuthEnable: not null }:
                if (_enabled)
                {
                    return new AuthEnableResponse();
                }

                if (!_users.TryGetValue(RootUser, out User? root))
                {
                    throw EtcdErrors.RootUserNotExist;
                }

                if (!root.Roles.Contains(RootRole))
                {
                    throw EtcdErrors.RootRoleNotExist;
                }

                _enabled = changed = true;
                _tokens.Clear();
                return new AuthEnableResponse();
            case { AuthDisable: not null }:
                changed = _enabled;
                _enabled = false;
                _tokens.Clear();
                return new AuthDisableResponse();
            case { Authenticate: not null }:
                if (!_enabled)
                {
                    throw EtcdErrors.AuthNotEnabled;
                }

                if (!_users.ContainsKey(r.Authenticate.Name))
                {
                    throw EtcdErrors.AuthFailed;
                }

                _tokens[r.Authenticate.SimpleToken] = (r.Authenticate.Name, time.GetUtcNow() + options.SimpleTokenTtl);
                return new AuthenticateResponse { Token = r.Authenticate.SimpleToken };
            case { AuthUserAdd: not null }:
                AuthUserAddRequest add = r.AuthUserAdd;
                if (add.Name.Length == 0)
                {
                    throw EtcdErrors.UserEmpty;
                }

                if (_users.ContainsKey(add.Name))
                {
                    throw EtcdErrors.UserAlreadyExist;
                }

                var user = new User { Name = ByteString.CopyFromUtf8(add.Name), Options = add.Options?.Clone() ?? new UserAddOptions() };
                if (!user.Options.NoPassword)
                {
                    user.Password = ByteString.CopyFromUtf8(add.HashedPassword);
                }

                _users[add.Name] = user;
                changed = true;
                return new AuthUserAddResponse();
            case { AuthUserDelete: not null }:
                string deleted = r.AuthUserDelete.Name;
                if (_enabled && deleted == RootUser)
                {
                    throw EtcdErrors.InvalidAuthMgmt;
                }

                if (!_users.Remove(deleted))
                {
                    throw EtcdErrors.UserNotFound;
                }

                InvalidateTokens(deleted);
                changed = true;
                return new AuthUserDeleteResponse();
            case { AuthUserChangePassword: not null }:
                AuthUserChangePasswordRequest change = r.AuthUserChangePassword;
                if (!_users.TryGetValue(change.Name, out User? changing))
                {
                    throw EtcdErrors.UserNotFound;
                }

                changing.Password = ByteString.CopyFromUtf8(change.HashedPassword);
                InvalidateTokens(change.Name);
                changed = true;
                return new AuthUserChangePasswordResponse();
            case { AuthUserGrantRole: not null }:
                AuthUserGrantRoleRequest grant = r.AuthUserGrantRole;
                if (!_users.TryGetValue(grant.User, out User? grantee))
                {
                    throw EtcdErrors.UserNotFound;
                }

                if (grant.Role != RootRole && !_roles.ContainsKey(grant.Role))
                {
                    throw EtcdErrors.RoleNotFound;
                }

                if (!grantee.Roles.Contains(grant.Role))
                {
                    var roles = grantee.Roles.Append(grant.Role).Order(StringComparer.Ordinal).ToList();
                    grantee.Roles.Clear();
                    grantee.Roles.AddRange(roles);
                    changed = true;
                }

                return new AuthUserGrantRoleResponse();
            case { AuthUserGet: not null }:
                if (!_users.TryGetValue(r.AuthUserGet.Name, out User? got))
                {
                    throw EtcdErrors.UserNotFound;
                }

                var userGet = new AuthUserGetResponse();
                userGet.Roles.AddRange(got.Roles);
                return userGet;
            case { AuthUserList: not null }:
                var userList = new AuthUserListResponse();
                userList.Users.AddRange(_users.Keys);
                return userList;
            case { AuthUserRevokeRole: not null }:
                AuthUserRevokeRoleRequest revoke = r.AuthUserRevokeRole;
                if (_enabled && revoke.Name == RootUser && revoke.Role == RootRole)
                {
                    throw EtcdErrors.InvalidAuthMgmt;
                }

                if (!_users.TryGetValue(revoke.Name, out User? revokee))
                {
                    throw EtcdErrors.UserNotFound;
                }

                if (!revokee.Roles.Remove(revoke.Role))
                {
                    throw EtcdErrors.RoleNotGranted;
                }

                changed = true;
                return new AuthUserRevokeRoleResponse();
            case { AuthRoleAdd: not null }:
                string roleName = r.AuthRoleAdd.Name;
                if (roleName.Length == 0)
                {
                    throw EtcdErrors.RoleEmpty;
                }

                if (_roles.ContainsKey(roleName))
                {
                    throw EtcdErrors.RoleAlreadyExist;
                }

                _roles[roleName] = new Role { Name = ByteString.CopyFromUtf8(roleName) };
                changed = true;
                return new AuthRoleAddResponse();
            case { AuthRoleGet: not null }:
                if (!_roles.TryGetValue(r.AuthRoleGet.Role, out Role? role))
                {
                    if (r.AuthRoleGet.Role == RootRole)
                    {
                        return new AuthRoleGetResponse();
                    }

                    throw EtcdErrors.RoleNotFound;
                }

                var roleGet = new AuthRoleGetResponse();
                roleGet.Perm.AddRange(role.KeyPermission.Select(p => p.Clone()));
                return roleGet;
            case { AuthRoleList: not null }:
                var roleList = new AuthRoleListResponse();
                roleList.Roles.AddRange(_roles.Keys);
                return roleList;
            case { AuthRoleDelete: not null }:
                string deleting = r.AuthRoleDelete.Role;
                if (_enabled && deleting == RootRole)
                {
                    throw EtcdErrors.InvalidAuthMgmt;
                }

                if (!_roles.Remove(deleting))
                {
                    throw EtcdErrors.RoleNotFound;
                }

                foreach (User u in _users.Values)
                {
                    u.Roles.Remove(deleting);
                }

                changed = true;
                return new AuthRoleDeleteResponse();
            case { AuthRoleGrantPermission: not null }:
                AuthRoleGrantPermissionRequest perm = r.AuthRoleGrantPermission;
                if (!_roles.TryGetValue(perm.Name, out Role? target))
                {
                    throw EtcdErrors.RoleNotFound;
                }

                Permission p = perm.Perm ?? new Permission();
                int existing = target.KeyPermission.ToList().FindIndex(x => x.Key.Equals(p.Key) && x.RangeEnd.Equals(p.RangeEnd));
                if (existing >= 0)
                {
                    target.KeyPermission[existing].PermType = p.PermType;
                }
                else
                {
                    var perms = target.KeyPermission.Append(p.Clone())
                        .OrderBy(x => x.Key, Server.Apply.ByteStringOrder.Instance).ToList();
                    target.KeyPermission.Clear();
                    target.KeyPermission.AddRange(perms);
                }

                changed = true;
                return new AuthRoleGrantPermissionResponse();
            case { AuthRoleRevokePermission: not null }:
                AuthRoleRevokePermissionRequest rp = r.AuthRoleRevokePermission;
                if (!_roles.TryGetValue(rp.Role, out Role? from))
                {
                    throw EtcdErrors.RoleNotFound;
                }

                Permission? found = from.KeyPermission.FirstOrDefault(x => x.Key.Equals(rp.Key) && x.RangeEnd.Equals(rp.RangeEnd));
                if (found is null)
                {
                    throw EtcdErrors.PermissionNotGranted;
                }

                from.KeyPermission.Remove(found);
                changed = true;
                return new AuthRoleRevokePermissionResponse();
            default:
                return null;
        }
    }

    public void SaveTo(PersistedServerState state)
    {
        lock (_lock)
        {
            state.AuthEnabled = _enabled;
            state.AuthRevision = _revision;
            state.Users.AddRange(_users.Values.Select(u => u.Clone()));
            state.Roles.AddRange(_roles.Values.Select(r => r.Clone()));
        }
    }

    public void Restore(PersistedServerState state)
    {
        lock (_lock)
        {
            _enabled = state.AuthEnabled;
            _revision = state.AuthRevision == 0 ? 1 : state.AuthRevision;
            _users.Clear();
            _roles.Clear();
            foreach (User u in state.Users)
            {
                _users[u.Name.ToStringUtf8()] = u.Clone();
            }

            foreach (Role r in state.Roles)
            {
                _roles[r.Name.ToStringUtf8()] = r.Clone();
            }
        }
    }

    private void InvalidateTokens(string user)
    {
        foreach (string token in _tokens.Where(t => t.Value.User == user).Select(t => t.Key).ToList())
        {
            _tokens.Remove(token);
        }
    }

    private static bool Grants(Permission p, Permission.Types.Type wanted) =>
        p.PermType == Permission.Types.Type.Readwrite || p.PermType == wanted;

    /// <summary>
    /// etcd's range permission check (auth/range_perm_cache.go): the user's permissions of the
    /// wanted type from all its roles are merged into one set of intervals. A single key is
    /// permitted when an interval contains it; a range when the intervals overlapping it cover it
    /// without a gap (so [a, c) is granted by [a, b) in one role and [b, c) in another). A
    /// permission without range end is the point [key, key+"\0"); a range end "\0" is unbounded.
    /// </summary>
    private bool IsRangePermitted(User user, ByteString key, ByteString rangeEnd, Permission.Types.Type type)
    {
        var intervals = new List<(byte[] Begin, byte[] End)>();
        foreach (string roleName in user.Roles)
        {
            if (!_roles.TryGetValue(roleName, out Role? role))
            {
                continue;
            }

            foreach (Permission p in role.KeyPermission)
            {
                if (Grants(p, type))
                {
                    intervals.Add(ToInterval(p.Key, p.RangeEnd));
                }
            }
        }

        (byte[] Begin, byte[] End) wanted = ToInterval(key, rangeEnd);
        if (rangeEnd.IsEmpty)
        {
            return intervals.Any(iv => Overlaps(wanted, iv));
        }

        // adt.IntervalTree.Contains: the overlapping intervals in begin order must be contiguous
        // and reach from the wanted begin to the wanted end.
        byte[]? minBegin = null;
        byte[] maxEnd = [];
        foreach ((byte[] begin, byte[] end) in intervals.Where(iv => Overlaps(iv, wanted)).OrderBy(iv => iv.Begin, AffineComparer.Instance))
        {
            if (minBegin is null)
            {
                minBegin = begin;
                maxEnd = end;
                continue;
            }

            if (Affine(maxEnd, begin) < 0)
            {
                return false;
            }

            if (Affine(end, maxEnd) > 0)
            {
                maxEnd = end;
            }
        }

        return minBegin is not null && Affine(maxEnd, wanted.End) >= 0 && Affine(minBegin, wanted.Begin) <= 0;
    }

    /// <summary>etcd's interval of a permission or request: a point without range end, unbounded ("" = +∞) for "\0".</summary>
    private static (byte[] Begin, byte[] End) ToInterval(ByteString key, ByteString rangeEnd)
    {
        byte[] begin = key.ToByteArray();
        if (rangeEnd.IsEmpty)
        {
            return (begin, [.. begin, 0]);
        }

        return (begin, rangeEnd.Span is [0] ? [] : rangeEnd.ToByteArray());
    }

    /// <summary>adt.Interval.Compare == 0: the half-open intervals overlap.</summary>
    private static bool Overlaps((byte[] Begin, byte[] End) a, (byte[] Begin, byte[] End) b) =>
        !(Affine(a.Begin, b.Begin) < 0 && Affine(a.End, b.Begin) <= 0) && Affine(a.Begin, b.End) < 0;

    /// <summary>adt's BytesAffineComparable: bytewise, with the empty string as +∞.</summary>
    private static int Affine(byte[] a, byte[] b)
    {
        if (a.Length == 0)
        {
            return b.Length == 0 ? 0 : 1;
        }

        return b.Length == 0 ? -1 : a.AsSpan().SequenceCompareTo(b);
    }

    private sealed class AffineComparer : IComparer<byte[]>
    {
        public static readonly AffineComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => Affine(x ?? [], y ?? []);
    }
}
