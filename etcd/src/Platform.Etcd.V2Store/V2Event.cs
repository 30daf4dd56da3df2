namespace Platform.Etcd.V2Store;

/// <summary>The <c>action</c> strings of v2 events, as etcd spells them.</summary>
public static class V2Actions
{
    public const string Get = "get";
    public const string Create = "create";
    public const string Set = "set";
    public const string Update = "update";
    public const string Delete = "delete";
    public const string CompareAndSwap = "compareAndSwap";
    public const string CompareAndDelete = "compareAndDelete";
    public const string Expire = "expire";
}

/// <summary>
/// What an operation did, or what a watcher saw: etcd's v2 event. Instances handed out by the
/// store are never mutated afterwards and may be shared between watchers and threads.
/// </summary>
public sealed class V2Event
{
    public V2Event(string action, V2Node node, V2Node? prevNode, ulong etcdIndex, bool refresh = false)
    {
        Action = action;
        Node = node;
        PrevNode = prevNode;
        EtcdIndex = etcdIndex;
        Refresh = refresh;
    }

    /// <summary>One of <see cref="V2Actions"/>.</summary>
    public string Action { get; }

    public V2Node Node { get; }

    /// <summary>The node as it was before a write; null for gets and for writes that created it.</summary>
    public V2Node? PrevNode { get; }

    /// <summary>The store index to report in <c>X-Etcd-Index</c>; not part of the JSON body.</summary>
    public ulong EtcdIndex { get; }

    /// <summary>
    /// A TTL refresh: recorded in the history but not delivered to waiting watchers. Not part of
    /// the JSON body (etcd drops it before answering).
    /// </summary>
    public bool Refresh { get; }

    /// <summary>The event's index, which is its node's modified index.</summary>
    public ulong Index => Node.ModifiedIndex;

    /// <summary>Whether the HTTP answer is 201 Created: a create, or a set of a key that did not exist.</summary>
    public bool IsCreated => Action == V2Actions.Create || (Action == V2Actions.Set && PrevNode is null);

    /// <summary>The same event reporting another store index (watchers served from history).</summary>
    public V2Event WithEtcdIndex(ulong etcdIndex) => new(Action, Node, PrevNode, etcdIndex, Refresh);
}

/// <summary>
/// A node as the API shows it. Files have a <see cref="Value"/> (possibly empty), directories
/// have <see cref="Dir"/> and, when listed, <see cref="Nodes"/>.
/// </summary>
public sealed class V2Node
{
    /// <summary>The absolute, cleaned key, e.g. <c>/queue/00000000000000000005</c>.</summary>
    public required string Key { get; init; }

    /// <summary>The value of a file; null for directories and for delete/expire event nodes.</summary>
    public string? Value { get; init; }

    public bool Dir { get; init; }

    /// <summary>When the node expires (UTC); null for permanent nodes.</summary>
    public DateTimeOffset? Expiration { get; init; }

    /// <summary>Whole seconds until <see cref="Expiration"/>, rounded up; 0 when permanent.</summary>
    public long Ttl { get; init; }

    /// <summary>Children of a listed directory, hidden (<c>_name</c>) ones left out; null when not listed.</summary>
    public IReadOnlyList<V2Node>? Nodes { get; init; }

    public ulong ModifiedIndex { get; init; }

    public ulong CreatedIndex { get; init; }
}

/// <summary>
/// The TTL part of a write. <paramref name="Ttl"/> null means permanent (and removes an existing
/// TTL on update); otherwise the node expires at the operation's <c>now</c> plus the TTL.
/// <paramref name="Refresh"/> keeps the current value and only moves the expiration, without
/// waking watchers.
/// </summary>
public readonly record struct V2TtlOptions(TimeSpan? Ttl = null, bool Refresh = false)
{
    /// <summary>No TTL, no refresh.</summary>
    public static V2TtlOptions Permanent => default;
}
