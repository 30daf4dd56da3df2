using System.Globalization;
using System.Text;

namespace Platform.Etcd.Robustness.Linearizability;

/// <summary>What a comparison in a transaction looks at (always compared with "equal").</summary>
public enum CompareTarget
{
    /// <summary>The key's value; <see cref="KvCompare.Value"/> null means "the key does not exist".</summary>
    Value,

    /// <summary>The key's mod revision (0: does not exist). Needs revision checking.</summary>
    ModRevision,

    /// <summary>The key's version (0: does not exist).</summary>
    Version,
}

/// <summary>One transaction guard: <c>target(key) == operand</c>.</summary>
public sealed record KvCompare(string Key, CompareTarget Target, string? Value = null, long Number = 0)
{
    public override string ToString() => Target switch
    {
        CompareTarget.Value => Value is null ? $"{Key} absent" : $"value({Key})=={Value}",
        CompareTarget.ModRevision => $"mod({Key})=={Number}",
        _ => $"version({Key})=={Number}",
    };
}

/// <summary>
/// A client request of the KV model. Keys and values are strings (UTF-8 on the wire). Every put in
/// a workload writes a value no other put writes, which is what lets reads be traced to writes.
/// </summary>
public abstract record KvOp
{
    private protected KvOp()
    {
    }

    /// <summary>Whether the request can change the store (reads never do, so they may be dropped from a history).</summary>
    public abstract bool CanWrite { get; }

    /// <summary>Every key the request names (for prefix requests: the prefix itself).</summary>
    public abstract IEnumerable<string> Keys { get; }

    /// <summary>Whether the request reaches beyond the keys it names (prefix ranges and deletes, lease revokes).</summary>
    public abstract bool SpansKeys { get; }
}

/// <summary>A linearizable range of one key, or of every key starting with <see cref="Key"/>.</summary>
public sealed record RangeOp(string Key, bool Prefix = false) : KvOp
{
    public override bool CanWrite => false;

    public override IEnumerable<string> Keys => [Key];

    public override bool SpansKeys => Prefix;

    public override string ToString() => Prefix ? $"range {Key}*" : $"get {Key}";
}

/// <summary>A put, attached to <see cref="Lease"/> when not 0.</summary>
public sealed record PutOp(string Key, string Value, long Lease = 0) : KvOp
{
    public override bool CanWrite => true;

    public override IEnumerable<string> Keys => [Key];

    public override bool SpansKeys => Lease != 0;

    public override string ToString() => Lease == 0 ? $"put {Key}={Value}" : $"put {Key}={Value} lease {Lease:x}";
}

/// <summary>A delete of one key or of every key starting with <see cref="Key"/>.</summary>
public sealed record DeleteOp(string Key, bool Prefix = false) : KvOp
{
    public override bool CanWrite => true;

    public override IEnumerable<string> Keys => [Key];

    public override bool SpansKeys => Prefix;

    public override string ToString() => Prefix ? $"delete {Key}*" : $"delete {Key}";
}

/// <summary>A transaction: every compare holds → <see cref="Then"/>, else <see cref="Else"/>; ops are ranges, puts and deletes.</summary>
public sealed record TxnOp(IReadOnlyList<KvCompare> Compares, IReadOnlyList<KvOp> Then, IReadOnlyList<KvOp> Else) : KvOp
{
    public override bool CanWrite => Then.Any(op => op.CanWrite) || Else.Any(op => op.CanWrite);

    public override IEnumerable<string> Keys => Compares.Select(c => c.Key).Concat(Then.SelectMany(o => o.Keys)).Concat(Else.SelectMany(o => o.Keys));

    public override bool SpansKeys => Then.Any(o => o.SpansKeys) || Else.Any(o => o.SpansKeys);

    public override string ToString() =>
        $"txn if({string.Join(", ", Compares)}) then({string.Join("; ", Then)}) else({string.Join("; ", Else)})";
}

/// <summary>Grants lease <see cref="Lease"/> (the client picks the id, so an unanswered grant is still traceable).</summary>
public sealed record LeaseGrantOp(long Lease) : KvOp
{
    public override bool CanWrite => true;

    public override IEnumerable<string> Keys => [];

    public override bool SpansKeys => true;

    public override string ToString() => $"grant {Lease:x}";
}

/// <summary>Revokes lease <see cref="Lease"/>, deleting every key attached to it.</summary>
public sealed record LeaseRevokeOp(long Lease) : KvOp
{
    public override bool CanWrite => true;

    public override IEnumerable<string> Keys => [];

    public override bool SpansKeys => true;

    public override string ToString() => $"revoke {Lease:x}";
}

/// <summary>One key-value as a range returns it.</summary>
public sealed record KvItem(string Key, string Value, long ModRevision, long CreateRevision, long Version, long Lease)
{
    public override string ToString() => Lease == 0 ? $"{Key}={Value}@{ModRevision}" : $"{Key}={Value}@{ModRevision}(lease {Lease:x})";
}

/// <summary>The result of one request; a transaction's holds one result per operation of the branch that ran.</summary>
public abstract record KvReply
{
    private protected KvReply()
    {
    }
}

public sealed record RangeReply(IReadOnlyList<KvItem> Kvs) : KvReply
{
    public override string ToString() => Kvs.Count == 0 ? "[]" : $"[{string.Join(", ", Kvs)}]";
}

public sealed record PutReply : KvReply
{
    public static PutReply Instance { get; } = new();

    public override string ToString() => "ok";
}

public sealed record DeleteReply(long Deleted) : KvReply
{
    public override string ToString() => $"deleted {Deleted}";
}

public sealed record TxnReply(bool Succeeded, IReadOnlyList<KvReply> Results) : KvReply
{
    public override string ToString() => $"{(Succeeded ? "then" : "else")}({string.Join("; ", Results)})";
}

public sealed record LeaseReply : KvReply
{
    public static LeaseReply Instance { get; } = new();

    public override string ToString() => "ok";
}

/// <summary>A request refused by the model (e.g. a put with a lease that does not exist); never observed as success.</summary>
public sealed record ErrorReply(string Message) : KvReply
{
    public override string ToString() => $"error: {Message}";
}

/// <summary>
/// A successful response: the header revision (0 when not known, e.g. a history without headers)
/// and the reply.
/// </summary>
public sealed record KvResponse(long Revision, KvReply Reply)
{
    public override string ToString() => Revision == 0 ? Reply.ToString()! : $"rev {Revision} {Reply}";
}

/// <summary>
/// One client operation as observed: the time it was called and returned (any monotonic unit,
/// comparable across clients), the request and the response. A null <see cref="Response"/> means
/// the outcome is unknown (error or timeout after sending): the operation may have taken effect at
/// any point after its call, or never; <see cref="ReturnTime"/> is then ignored.
/// </summary>
public sealed record Operation(int Id, int ClientId, long CallTime, long ReturnTime, KvOp Request, KvResponse? Response)
{
    public bool IsUnknown => Response is null;

    /// <summary>
    /// For an unknown outcome learnt elsewhere (a watch delivered its write): the revision the
    /// operation created, which it must then take; 0 when not known.
    /// </summary>
    public long AppliedRevision { get; init; }

    /// <summary>One line: <c>#12 c3 [call, return] request → response</c>, times in <paramref name="ticksPerMs"/> units as milliseconds.</summary>
    public string Describe(double ticksPerMs = 1)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"#{Id} c{ClientId} [{CallTime / ticksPerMs:0.###}, ");
        text.Append(IsUnknown ? "?" : (ReturnTime / ticksPerMs).ToString("0.###", CultureInfo.InvariantCulture));
        text.Append(CultureInfo.InvariantCulture, $"] {Request} -> {(Response is not null ? Response.ToString() : AppliedRevision != 0 ? $"unknown, applied at rev {AppliedRevision}" : "unknown")}");
        return text.ToString();
    }

    public override string ToString() => Describe();
}
