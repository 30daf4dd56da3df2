using System.Text.RegularExpressions;

namespace Platform.CloudInit.Schema;

/// <summary>
/// One field of the cloud-config schema: its key (underscore form), kind, and the tags
/// coreos-cloudinit carries on the Go struct field (<c>valid</c>, <c>deprecated</c>, <c>env</c>).
/// Immutable once <see cref="CloudConfigSchema"/> is built.
/// </summary>
public sealed class SchemaNode
{
    private readonly Dictionary<string, SchemaNode> _byName = new(StringComparer.Ordinal);
    private readonly List<SchemaNode> _children = [];

    internal SchemaNode(string name, SchemaKind kind, SchemaNode? element = null)
    {
        Name = name;
        Kind = kind;
        Element = element;
    }

    /// <summary>The YAML key in underscore form (<c>advertise_client_urls</c>).</summary>
    public string Name { get; }

    public SchemaKind Kind { get; }

    /// <summary>The element type of a <see cref="SchemaKind.Slice"/>; null otherwise.</summary>
    public SchemaNode? Element { get; }

    /// <summary>The <c>valid:</c> pattern a non-zero value must match, or null.</summary>
    public Regex? Valid { get; private init; }

    /// <summary>The <c>deprecated:</c> explanation, or null.</summary>
    public string? Deprecated { get; private init; }

    /// <summary>The environment variable the value is written to (<c>ETCD_NAME</c>), or null.</summary>
    public string? Env { get; private init; }

    /// <summary>Fields of a struct in declaration order (the order drop-ins list them in).</summary>
    public IReadOnlyList<SchemaNode> Children => _children;

    /// <summary>The field named <paramref name="name"/>, or null.</summary>
    public SchemaNode? Child(string name) => _byName.GetValueOrDefault(name);

    /// <summary>coreos-cloudinit's human type: <c>string</c>, <c>int</c>, <c>float64</c>, <c>bool</c>, <c>struct</c>, <c>[]T</c>.</summary>
    public string HumanType => Kind switch
    {
        SchemaKind.String => "string",
        SchemaKind.Int => "int",
        SchemaKind.Float => "float64",
        SchemaKind.Bool => "bool",
        SchemaKind.Struct => "struct",
        SchemaKind.Slice => "[]" + Element!.HumanType,
        _ => throw new InvalidOperationException(),
    };

    internal SchemaNode Add(SchemaNode child)
    {
        _children.Add(child);
        _byName.Add(child.Name, child);
        return this;
    }

    internal static SchemaNode Struct(string name, params SchemaNode[] fields)
    {
        var node = new SchemaNode(name, SchemaKind.Struct);
        foreach (SchemaNode field in fields)
        {
            node.Add(field);
        }

        return node;
    }

    internal static SchemaNode Field(string name, SchemaKind kind, string? env = null, string? valid = null, string? deprecated = null) =>
        new(name, kind)
        {
            Env = env,
            Valid = valid is null ? null : new Regex(valid, RegexOptions.CultureInvariant),
            Deprecated = deprecated,
        };

    internal static SchemaNode SliceOf(string name, SchemaNode element, string? deprecated = null) =>
        new(name, SchemaKind.Slice, element) { Deprecated = deprecated };

    internal SchemaNode WithDeprecated(string message)
    {
        var copy = new SchemaNode(Name, Kind, Element) { Valid = Valid, Env = Env, Deprecated = message };
        foreach (SchemaNode child in _children)
        {
            copy.Add(child);
        }

        return copy;
    }
}
