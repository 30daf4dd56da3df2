using System.Text;

namespace Platform.Etcd.Client;

/// <summary>etcd's response header: the store revision the response reflects and who answered.</summary>
public sealed record ResponseHeader(ulong ClusterId, ulong MemberId, long Revision, ulong RaftTerm);

/// <summary>
/// One key's value at one revision (mvccpb.KeyValue). <see cref="Version"/> counts puts since the key
/// was (re)created; <see cref="Lease"/> is 0 without a lease. Byte arrays are owned by the record.
/// </summary>
#pragma warning disable CA1819 // Keys and values are raw bytes, as on the wire.
public sealed record KeyValue(byte[] Key, byte[] Value, long CreateRevision, long ModRevision, long Version, long Lease)
{
    /// <summary><see cref="Key"/> decoded as UTF-8.</summary>
    public string KeyString => Encoding.UTF8.GetString(Key);

    /// <summary><see cref="Value"/> decoded as UTF-8.</summary>
    public string ValueString => Encoding.UTF8.GetString(Value);
}
#pragma warning restore CA1819

public enum SortOrder
{
    None,
    Ascend,
    Descend,
}

public enum SortTarget
{
    Key,
    Version,
    CreateRevision,
    ModRevision,
    Value,
}

/// <summary>
/// Range options (etcd's RangeRequest fields besides the keys). Defaults: unlimited, latest revision,
/// linearizable, keys and values, key order.
/// </summary>
public sealed record RangeOptions
{
    /// <summary>At most this many keys; 0 is unlimited. <see cref="RangeResult.More"/> tells whether some were left out.</summary>
    public long Limit { get; init; }

    /// <summary>Read at this revision; ≤ 0 is the latest. Compacted → <see cref="EtcdCompactedException"/>, future → <see cref="EtcdFutureRevisionException"/>.</summary>
    public long Revision { get; init; }

    public SortOrder SortOrder { get; init; }

    public SortTarget SortTarget { get; init; }

    /// <summary>Answer from the local member without a quorum round (may be stale); the default is linearizable.</summary>
    public bool Serializable { get; init; }

    public bool KeysOnly { get; init; }

    /// <summary>Only <see cref="RangeResult.Count"/>; no key-values.</summary>
    public bool CountOnly { get; init; }

    public long MinModRevision { get; init; }

    public long MaxModRevision { get; init; }

    public long MinCreateRevision { get; init; }

    public long MaxCreateRevision { get; init; }
}

/// <summary>The result of one operation in a transaction; every KV result is one.</summary>
public abstract record OpResult(ResponseHeader Header);

/// <summary>
/// A range's answer: key-values in the requested order, <see cref="Count"/> = every key in the range
/// (not only those returned), <see cref="More"/> = the limit left some out.
/// </summary>
public sealed record RangeResult(ResponseHeader Header, IReadOnlyList<KeyValue> Kvs, bool More, long Count) : OpResult(Header)
{
    /// <summary>The first key-value, or null when none was returned (the answer of a single-key Get).</summary>
    public KeyValue? Kv => Kvs.Count > 0 ? Kvs[0] : null;
}

/// <summary>A put's answer; <see cref="PrevKv"/> only when asked for and the key existed.</summary>
public sealed record PutResult(ResponseHeader Header, KeyValue? PrevKv) : OpResult(Header);

/// <summary>A delete's answer: how many keys were deleted, and their last values when asked for.</summary>
public sealed record DeleteResult(ResponseHeader Header, long Deleted, IReadOnlyList<KeyValue> PrevKvs) : OpResult(Header);

/// <summary>
/// A transaction's answer: <see cref="Succeeded"/> = every comparison held (the Then branch ran),
/// and one result per operation of the branch that ran, in order.
/// </summary>
public sealed record TxnResult(ResponseHeader Header, bool Succeeded, IReadOnlyList<OpResult> Responses) : OpResult(Header);
