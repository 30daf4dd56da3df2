namespace Platform.CloudInit.Schema;

/// <summary>The Go kinds coreos-cloudinit's config structs are made of.</summary>
public enum SchemaKind
{
    String,
    Int,
    Float,
    Bool,
    Struct,
    Slice,
}
