using System.Text;
using System.Text.Json;
using Platform.Common.Flags;
using Platform.Rkt.Pods;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt list [--full] [--no-legend] [--format=json|json-pretty]</c>: every pod and its apps.</summary>
internal sealed class ListCommand : ICommand
{
    private Flag<bool> _full = null!;
    private Flag<bool> _noLegend = null!;
    private Flag<string> _format = null!;

    public string Name => "list";

    public string Usage => "[--full] [--no-legend] [--format=json]";

    public string Summary => "List pods";

    public void DefineFlags(FlagSet flags)
    {
        _full = flags.Bool("full", false, "use long output format");
        _noLegend = flags.Bool("no-legend", false, "suppress a legend with the list");
        _format = flags.String("format", string.Empty, "choose the output format: json, json-pretty");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        IReadOnlyList<PodEntry> pods = PodCommandSupport.Store(context).List().OrderBy(p => p.CreatedAt ?? DateTimeOffset.MinValue).ToList();
        if (_format.Value is "json" or "json-pretty")
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = _format.Value == "json-pretty" }))
            {
                json.WriteStartArray();
                foreach (PodEntry pod in pods)
                {
                    PodListing.WriteJson(json, pod);
                }

                json.WriteEndArray();
            }

            context.Stdout.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
            return Task.FromResult(CommandLine.ExitOk);
        }

        if (_format.Value.Length > 0)
        {
            throw new CommandException($"invalid --format \"{_format.Value}\": json or json-pretty");
        }

        DateTimeOffset now = context.Time.GetUtcNow();
        var rows = new List<string[]>();
        if (!_noLegend.Value)
        {
            rows.Add(["UUID", "APP", "IMAGE NAME", "STATE", "CREATED", "STARTED", "NETWORKS"]);
        }

        foreach (PodEntry pod in pods)
        {
            PodManifest? manifest = pod.TryReadManifest();
            string uuid = _full.Value ? pod.Uuid : pod.Uuid[..8];
            string created = pod.CreatedAt is { } c ? (_full.Value ? PodListing.GoTime(c) : PodListing.Ago(c, now)) : string.Empty;
            string started = pod.StartedAt is { } s ? (_full.Value ? PodListing.GoTime(s) : PodListing.Ago(s, now)) : string.Empty;
            string networks = string.Join(',', PodListing.Networks(pod).Select(n => $"{n.Name}:ip4={n.Ip}"));
            List<RuntimeApp> apps = manifest?.Apps ?? [];
            if (apps.Count == 0)
            {
                rows.Add([uuid, "-", "-", pod.State, created, started, networks]);
            }

            for (int i = 0; i < apps.Count; i++)
            {
                string image = apps[i].Image.Name ?? apps[i].Image.Id;
                if (apps[i].Image.Labels?.FirstOrDefault(l => l.Name == "version")?.Value is { } version)
                {
                    image += ":" + version;
                }

                rows.Add(i == 0 ? [uuid, apps[i].Name, image, pod.State, created, started, networks] : [string.Empty, apps[i].Name, image, string.Empty, string.Empty, string.Empty, string.Empty]);
            }
        }

        WriteTable(context.Stdout, rows);
        return Task.FromResult(CommandLine.ExitOk);
    }

    /// <summary>Go tabwriter style: columns padded to their widest cell plus one tab stop.</summary>
    internal static void WriteTable(TextWriter output, List<string[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        int columns = rows[0].Length;
        int[] widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (string[] row in rows)
        {
            var line = new StringBuilder();
            for (int c = 0; c < columns; c++)
            {
                line.Append(c == columns - 1 ? row[c] : row[c].PadRight(widths[c] + 1));
            }

            output.WriteLine(line.ToString().TrimEnd());
        }
    }
}
