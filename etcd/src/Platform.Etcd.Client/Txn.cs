using Google.Protobuf;

namespace Platform.Etcd.Client;

public enum CmpResult
{
    Equal,
    Greater,
    Less,
    NotEqual,
}

public enum CmpTarget
{
    Version,
    CreateRevision,
    ModRevision,
    Value,
    Lease,
}

/// <summary>
/// One transaction guard: <c>target(key) result operand</c>, e.g. <c>Cmp.Version("k", CmpResult.Equal, 0)</c>
/// (the key does not exist) or <c>Cmp.Value("k", CmpResult.Equal, "v")</c>. Over a range
/// (<see cref="WithRange"/>) every key in it must satisfy the comparison.
/// </summary>
public sealed record Cmp
{
    private Cmp(KeyRange range, CmpTarget target, CmpResult result, long number, byte[]? value)
    {
        Range = range;
        Target = target;
        Result = result;
        Number = number;
        Bytes = value;
    }

    public KeyRange Range { get; init; }

    public CmpTarget Target { get; }

    public CmpResult Result { get; }

    /// <summary>The operand of a version, revision or lease comparison.</summary>
    public long Number { get; }

    /// <summary>The operand of a value comparison.</summary>
#pragma warning disable CA1819 // Raw bytes, as on the wire.
    public byte[]? Bytes { get; }
#pragma warning restore CA1819

    public static Cmp Value(byte[] key, CmpResult result, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new Cmp(KeyRange.Single(key), CmpTarget.Value, result, 0, value);
    }

    public static Cmp Value(string key, CmpResult result, string value) => Value(KeyRange.Utf8(key), result, KeyRange.Utf8(value));

    /// <summary>Version 0 means the key does not exist.</summary>
    public static Cmp Version(byte[] key, CmpResult result, long version) => new(KeyRange.Single(key), CmpTarget.Version, result, version, null);

    public static Cmp Version(string key, CmpResult result, long version) => Version(KeyRange.Utf8(key), result, version);

    public static Cmp CreateRevision(byte[] key, CmpResult result, long revision) => new(KeyRange.Single(key), CmpTarget.CreateRevision, result, revision, null);

    public static Cmp CreateRevision(string key, CmpResult result, long revision) => CreateRevision(KeyRange.Utf8(key), result, revision);

    public static Cmp ModRevision(byte[] key, CmpResult result, long revision) => new(KeyRange.Single(key), CmpTarget.ModRevision, result, revision, null);

    public static Cmp ModRevision(string key, CmpResult result, long revision) => ModRevision(KeyRange.Utf8(key), result, revision);

    public static Cmp Lease(byte[] key, CmpResult result, long leaseId) => new(KeyRange.Single(key), CmpTarget.Lease, result, leaseId, null);

    public static Cmp Lease(string key, CmpResult result, long leaseId) => Lease(KeyRange.Utf8(key), result, leaseId);

    /// <summary>The same comparison applied to every key of <paramref name="range"/>.</summary>
    public Cmp WithRange(KeyRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return this with { Range = range };
    }

    internal Api.Compare ToProto()
    {
        var compare = new Api.Compare
        {
            Key = ByteString.CopyFrom(Range.Key),
            RangeEnd = ByteString.CopyFrom(Range.RangeEnd),
            Result = (Api.Compare.Types.CompareResult)Result,
            Target = (Api.Compare.Types.CompareTarget)Target,
        };
        switch (Target)
        {
            case CmpTarget.Version:
                compare.Version = Number;
                break;
            case CmpTarget.CreateRevision:
                compare.CreateRevision = Number;
                break;
            case CmpTarget.ModRevision:
                compare.ModRevision = Number;
                break;
            case CmpTarget.Value:
                compare.Value = ByteString.CopyFrom(Bytes);
                break;
            case CmpTarget.Lease:
                compare.Lease = Number;
                break;
            default:
                throw new InvalidOperationException($"unknown compare target {Target}");
        }

        return compare;
    }
}

/// <summary>One operation inside a transaction: a range, put, delete or nested transaction.</summary>
public abstract record Op
{
    private protected Op()
    {
    }

    public static Op Get(KeyRange range, RangeOptions? options = null) => new GetOp(range, options ?? new RangeOptions());

    public static Op Get(string key) => Get(KeyRange.Single(key));

    public static Op Put(byte[] key, byte[] value, long lease = 0, bool prevKv = false) => new PutOp(key, value, lease, prevKv);

    public static Op Put(string key, string value, long lease = 0, bool prevKv = false) => Put(KeyRange.Utf8(key), KeyRange.Utf8(value), lease, prevKv);

    public static Op Delete(KeyRange range, bool prevKv = false) => new DeleteOp(range, prevKv);

    public static Op Delete(string key, bool prevKv = false) => Delete(KeyRange.Single(key), prevKv);

    public static Op Txn(Txn txn) => new TxnOp(txn);

    internal abstract Api.RequestOp ToProto();

    private sealed record GetOp(KeyRange Range, RangeOptions Options) : Op
    {
        internal override Api.RequestOp ToProto() => new() { RequestRange = Internal.Proto.Range(Range, Options) };
    }

    private sealed record PutOp(byte[] Key, byte[] Value, long Lease, bool PrevKv) : Op
    {
        internal override Api.RequestOp ToProto() => new() { RequestPut = Internal.Proto.Put(Key, Value, Lease, PrevKv) };
    }

    private sealed record DeleteOp(KeyRange Range, bool PrevKv) : Op
    {
        internal override Api.RequestOp ToProto() => new() { RequestDeleteRange = Internal.Proto.Delete(Range, PrevKv) };
    }

    private sealed record TxnOp(Txn Nested) : Op
    {
        internal override Api.RequestOp ToProto() => new() { RequestTxn = Nested.ToProto() };
    }
}

/// <summary>
/// An immutable transaction: <c>Txn.If(cmp…).Then(op…).Else(op…)</c>. etcd evaluates every
/// comparison atomically, then runs the Then operations (all comparisons held) or the Else
/// operations, in order, as one revision. etcd 3.4 allows 128 operations per branch
/// (<c>--max-txn-ops</c>) and refuses two writes to the same key.
/// </summary>
public sealed class Txn
{
    private Txn(IReadOnlyList<Cmp> compares, IReadOnlyList<Op> success, IReadOnlyList<Op> failure)
    {
        Compares = compares;
        Success = success;
        Failure = failure;
    }

    public IReadOnlyList<Cmp> Compares { get; }

    public IReadOnlyList<Op> Success { get; }

    public IReadOnlyList<Op> Failure { get; }

    /// <summary>Starts a transaction guarded by <paramref name="compares"/> (none: Then always runs).</summary>
    public static Txn If(params Cmp[] compares)
    {
        ArgumentNullException.ThrowIfNull(compares);
        return new Txn([.. compares], [], []);
    }

    /// <summary>Appends operations to the branch that runs when every comparison holds.</summary>
    public Txn Then(params Op[] ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        return new Txn(Compares, [.. Success, .. ops], Failure);
    }

    /// <summary>Appends operations to the branch that runs when some comparison fails.</summary>
    public Txn Else(params Op[] ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        return new Txn(Compares, Success, [.. Failure, .. ops]);
    }

    internal Api.TxnRequest ToProto()
    {
        var request = new Api.TxnRequest();
        foreach (Cmp compare in Compares)
        {
            request.Compare.Add(compare.ToProto());
        }

        foreach (Op op in Success)
        {
            request.Success.Add(op.ToProto());
        }

        foreach (Op op in Failure)
        {
            request.Failure.Add(op.ToProto());
        }

        return request;
    }
}
