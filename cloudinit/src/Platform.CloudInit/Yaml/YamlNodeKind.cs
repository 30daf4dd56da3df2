namespace Platform.CloudInit.Yaml;

/// <summary>
/// The kind a YAML value resolves to under YAML 1.1 rules, as the Go yaml library coreos-cloudinit
/// used resolves it (<c>off</c> is a bool, <c>0644</c> an int, <c>0999</c> a float).
/// </summary>
internal enum YamlNodeKind
{
    /// <summary>No value (<c>key:</c>, <c>~</c>, <c>null</c>). Compatible with nothing.</summary>
    Null,
    String,
    Int,
    Float,
    Bool,
    Map,
    Sequence,
}
