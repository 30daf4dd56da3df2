using Google.Protobuf;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Storage.Mvcc;

namespace Platform.Etcd.Server.State;

/// <summary>
/// Where the server keeps the state that lives outside the MVCC key space (leases, auth, alarms).
/// The contract the apply path relies on: <see cref="Save"/> is called inside the apply batch
/// (<see cref="IKvStore.BeginBatch"/>) and becomes durable atomically with that batch's key-space
/// changes and consistent index, so after a crash the state matches the backend's consistent index
/// and the WAL replay above it redoes both together.
/// </summary>
internal interface IServerStateStore
{
    /// <summary>The state as of the backend's last commit (empty in a new backend).</summary>
    public PersistedServerState Load();

    /// <summary>Writes what changed since the last <see cref="Load"/>/<see cref="Save"/>; inside the apply batch.</summary>
    public void Save(PersistedServerState state);
}

/// <summary>
/// <see cref="IServerStateStore"/> on the backend's server tables (etcd's buckets): <c>lease</c>
/// (8-byte big-endian id → LeaseRecord), <c>authUsers</c>, <c>authRoles</c>, <c>auth</c>
/// (authEnabled, authRevision) and <c>alarm</c> (member id + type → AlarmMember). Only entries that
/// changed are written, so a grant costs one table put, not a rewrite of every lease.
/// </summary>
internal sealed class TablesServerStateStore(IKvStore kv) : IServerStateStore
{
    private const string AlarmTable = "alarm";
    private static readonly byte[] s_enabledKey = "authEnabled"u8.ToArray();
    private static readonly byte[] s_revisionKey = "authRevision"u8.ToArray();

    // What the tables hold, per table: key (hex) → value, to write only the differences.
    private readonly Dictionary<string, Dictionary<string, byte[]>> _written = [];

    public PersistedServerState Load()
    {
        var state = new PersistedServerState();
        foreach (TableEntry e in Scan(ServerTables.Lease))
        {
            state.Leases.Add(LeaseRecord.Parser.ParseFrom(e.Value));
        }

        foreach (TableEntry e in Scan(ServerTables.AuthUsers))
        {
            state.Users.Add(Api.Authpb.User.Parser.ParseFrom(e.Value));
        }

        foreach (TableEntry e in Scan(ServerTables.AuthRoles))
        {
            state.Roles.Add(Api.Authpb.Role.Parser.ParseFrom(e.Value));
        }

        foreach (TableEntry e in Scan(ServerTables.Auth))
        {
            if (e.Key.AsSpan().SequenceEqual(s_enabledKey))
            {
                state.AuthEnabled = e.Value is [1];
            }
            else if (e.Key.AsSpan().SequenceEqual(s_revisionKey))
            {
                state.AuthRevision = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(e.Value);
            }
        }

        foreach (TableEntry e in Scan(AlarmTable))
        {
            state.Alarms.Add(Api.AlarmMember.Parser.ParseFrom(e.Value));
        }

        return state;
    }

    public void Save(PersistedServerState state)
    {
        Sync(ServerTables.Lease, state.Leases.Select(l => (IdKey(l.ID), l.ToByteArray())));
        Sync(ServerTables.AuthUsers, state.Users.Select(u => (u.Name.ToByteArray(), u.ToByteArray())));
        Sync(ServerTables.AuthRoles, state.Roles.Select(r => (r.Name.ToByteArray(), r.ToByteArray())));
        byte[] revision = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(revision, state.AuthRevision);
        Sync(ServerTables.Auth, [(s_enabledKey, [(byte)(state.AuthEnabled ? 1 : 0)]), (s_revisionKey, revision)]);
        Sync(AlarmTable, state.Alarms.Select(a => (IdKey((long)a.MemberID).Append((byte)a.Alarm).ToArray(), a.ToByteArray())));
    }

    private List<TableEntry> Scan(string table)
    {
        var entries = kv.Tables.Scan(table).ToList();
        _written[table] = entries.ToDictionary(e => Convert.ToHexString(e.Key), e => e.Value);
        return entries;
    }

    private void Sync(string table, IEnumerable<(byte[] Key, byte[] Value)> wanted)
    {
        if (!_written.TryGetValue(table, out Dictionary<string, byte[]>? current))
        {
            _written[table] = current = [];
        }

        var seen = new HashSet<string>();
        foreach ((byte[] key, byte[] value) in wanted)
        {
            string hex = Convert.ToHexString(key);
            seen.Add(hex);
            if (!current.TryGetValue(hex, out byte[]? old) || !old.AsSpan().SequenceEqual(value))
            {
                // Server tables are exempt from the backend quota (as etcd's buckets), so this never
                // fails with NoSpace: the NOSPACE alarm itself is always saved.
                kv.Tables.Put(table, key, value);
                current[hex] = value;
            }
        }

        foreach (string gone in current.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            kv.Tables.Delete(table, Convert.FromHexString(gone));
            current.Remove(gone);
        }
    }

    private static byte[] IdKey(long id)
    {
        byte[] key = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(key, id);
        return key;
    }
}
