using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.CloudInit.Validation;

/// <summary>
/// The entries of a validation in rule order (not line order), as coreos-cloudinit emits them.
/// </summary>
public sealed class ValidationReport
{
    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly List<ReportEntry> _entries = [];

    public IReadOnlyList<ReportEntry> Entries => _entries;

    /// <summary>coreos-cloudinit's <c>--validate</c> exit code: 1 when there is any entry, even info.</summary>
    public int ExitCode => _entries.Count == 0 ? 0 : 1;

    public bool HasErrors => _entries.Any(e => e.Kind == EntryKind.Error);

    internal void Error(int line, string message) => _entries.Add(new ReportEntry(EntryKind.Error, line, message));

    internal void Warning(int line, string message) => _entries.Add(new ReportEntry(EntryKind.Warning, line, message));

    internal void Info(int line, string message) => _entries.Add(new ReportEntry(EntryKind.Info, line, message));

    /// <summary>The text form: one <c>line N: kind: message</c> per entry, each ending in a newline.</summary>
    public override string ToString() => string.Concat(_entries.Select(e => e + "\n"));

    /// <summary>
    /// The JSON form the online validator consumed: an array of <c>{"kind","line","message"}</c>
    /// objects (keys in that order, as Go's encoding of a map sorts them).
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, s_jsonOptions))
        {
            writer.WriteStartArray();
            foreach (ReportEntry entry in _entries)
            {
                writer.WriteStartObject();
                writer.WriteString("kind", entry.KindName);
                writer.WriteNumber("line", entry.Line);
                writer.WriteString("message", entry.Message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
