using System.Globalization;

namespace Platform.CloudInit.Validation;

/// <summary>How serious a report entry is. Any entry at all makes <c>--validate</c> exit 1.</summary>
public enum EntryKind
{
    Error,
    Warning,
    Info,
}

/// <summary>One finding: <c>line 3: warning: unrecognized key "runcmd"</c>.</summary>
/// <param name="Kind">error, warning or info.</param>
/// <param name="Line">1-based line; 0 when the finding has no place (coreos-cloudinit prints 0 too).</param>
/// <param name="Message">coreos-cloudinit's wording for its rules; our own for the Platform rules.</param>
public sealed record ReportEntry(EntryKind Kind, int Line, string Message)
{
    /// <summary><c>error</c>, <c>warning</c> or <c>info</c>.</summary>
    public string KindName => Kind switch
    {
        EntryKind.Error => "error",
        EntryKind.Warning => "warning",
        _ => "info",
    };

    /// <summary>The text coreos-cloudinit logs: <c>line %d: %s: %s</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"line {Line}: {KindName}: {Message}");
}
