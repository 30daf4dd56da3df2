namespace Platform.CloudInit.Yaml;

/// <summary>
/// One value of a parsed document with the line it starts on. Map entries are children named by
/// their key (hyphens already turned into underscores when normalised); sequence items are children
/// named <c>parent[i]</c>, as coreos-cloudinit names them in its messages.
/// </summary>
internal sealed class YamlNode
{
    public YamlNode(string name, YamlNodeKind kind, int line)
    {
        Name = name;
        Kind = kind;
        Line = line;
    }

    /// <summary>The key, or <c>parent[i]</c> for a sequence item; empty for the document root.</summary>
    public string Name { get; set; }

    public YamlNodeKind Kind { get; }

    /// <summary>1-based line of the key (map entries) or of the item (sequence items); 0 when unknown.</summary>
    public int Line { get; set; }

    /// <summary>The scalar exactly as written (after escapes); null for maps, sequences and null.</summary>
    public string? Text { get; init; }

    /// <summary>The decoded bytes of a <c>!!binary</c> scalar; null otherwise.</summary>
    public byte[]? Binary { get; init; }

    /// <summary>The resolved scalar value: string, long, double or bool; null for collections and null.</summary>
    public object? Value { get; init; }

    public List<YamlNode> Children { get; } = [];

    public bool IsScalar => Kind is YamlNodeKind.String or YamlNodeKind.Int or YamlNodeKind.Float or YamlNodeKind.Bool;

    /// <summary>The first child named <paramref name="name"/>, or null.</summary>
    public YamlNode? Child(string name)
    {
        foreach (YamlNode child in Children)
        {
            if (child.Name == name)
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>A copy under another name (an alias used at a second place).</summary>
    public YamlNode CloneAs(string name, int line)
    {
        var copy = new YamlNode(name, Kind, line) { Text = Text, Binary = Binary, Value = Value };
        copy.Children.AddRange(Children);
        return copy;
    }
}
