using System.Globalization;
using System.Text.Json;
using Platform.Common.Flags;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image list</c>: rkt's table (ID, NAME, SIZE, IMPORT TIME, LAST USED; tab-aligned, IDs
/// shortened and times relative unless <c>--full</c>) or <c>--format=json|json-pretty</c>: an array of
/// <c>{"id","name","import_time","last_used_time","size"}</c> with times in Unix nanoseconds.
/// </summary>
internal sealed class ImageListCommand : ICommand
{
    private static readonly string[] s_allFields = ["id", "name", "size", "importtime", "lastused", "latest"];

    private Flag<IReadOnlyList<string>> _fields = null!;
    private Flag<bool> _full = null!;
    private Flag<bool> _noLegend = null!;
    private Flag<string> _order = null!;
    private Flag<IReadOnlyList<string>> _sort = null!;
    private Flag<string> _format = null!;

    public string Name => "image list";

    public string Usage => "[--fields=...] [--full] [--no-legend] [--order=asc|desc] [--sort=importtime] [--format=json|json-pretty]";

    public string Summary => "List images in the local store";

    public void DefineFlags(FlagSet flags)
    {
        _fields = flags.StringList("fields", ["id", "name", "size", "importtime", "lastused"], "comma-separated list of fields to display. Accepted values: " + string.Join(", ", s_allFields));
        _full = flags.Bool("full", false, "use long output format");
        _noLegend = flags.Bool("no-legend", false, "suppress a legend with the list");
        _order = flags.String("order", "asc", "choose the sorting order if at least one sort field is provided (--sort). Accepted values: asc, desc");
        _sort = flags.StringList("sort", ["importtime"], "sort the output according to the provided comma-separated list of fields. Accepted values: id, name, size, importtime, lastused");
        _format = flags.String("format", string.Empty, "choose the output format. Allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        foreach (string field in _fields.Value.Concat(_sort.Value))
        {
            if (!s_allFields.Contains(field))
            {
                throw new CommandException($"unknown field \"{field}\"; accepted values: {string.Join(", ", s_allFields)}");
            }
        }

        IEnumerable<ImageInfo> images = context.Store.List();
        IOrderedEnumerable<ImageInfo>? sorted = null;
        foreach (string field in _sort.Value)
        {
            Func<ImageInfo, IComparable> key = field switch
            {
                "id" => i => i.Id,
                "name" => i => i.DisplayName,
                "size" => i => i.Size,
                "lastused" => i => i.LastUsed,
                _ => i => i.ImportTime,
            };
            sorted = sorted is null
                ? (_order.Value == "desc" ? images.OrderByDescending(key) : images.OrderBy(key))
                : (_order.Value == "desc" ? sorted.ThenByDescending(key) : sorted.ThenBy(key));
        }

        List<ImageInfo> list = (sorted ?? images).ToList();
        if (_format.Value is "json" or "json-pretty")
        {
            WriteJson(context.Stdout, list, _format.Value == "json-pretty");
            return Task.FromResult(CommandLine.ExitOk);
        }

        if (_format.Value.Length > 0)
        {
            throw new CommandException($"unknown --format \"{_format.Value}\"; allowed: json, json-pretty");
        }

        var latest = list.GroupBy(i => i.Name).ToDictionary(g => g.Key, g => g.Max(i => i.ImportTime), StringComparer.Ordinal);
        DateTimeOffset now = context.Time.GetUtcNow();
        var rows = new List<string[]>();
        if (!_noLegend.Value)
        {
            rows.Add(_fields.Value.Select(f => f switch
            {
                "id" => "ID",
                "name" => "NAME",
                "size" => "SIZE",
                "importtime" => "IMPORT TIME",
                "lastused" => "LAST USED",
                _ => "LATEST",
            }).ToArray());
        }

        foreach (ImageInfo image in list)
        {
            rows.Add(_fields.Value.Select(f => f switch
            {
                "id" => _full.Value ? image.Id : (image.Id.Length > 19 ? image.Id[..19] : image.Id),
                "name" => image.DisplayName,
                "size" => _full.Value ? image.Size.ToString(CultureInfo.InvariantCulture) : IecBytes(image.Size),
                "importtime" => _full.Value ? image.ImportTime.ToString("O", CultureInfo.InvariantCulture) : Relative(now, image.ImportTime),
                "lastused" => _full.Value ? image.LastUsed.ToString("O", CultureInfo.InvariantCulture) : Relative(now, image.LastUsed),
                _ => latest[image.Name] == image.ImportTime ? "true" : "false",
            }).ToArray());
        }

        WriteTable(context.Stdout, rows);
        return Task.FromResult(CommandLine.ExitOk);
    }

    private static void WriteJson(TextWriter output, List<ImageInfo> images, bool pretty)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = pretty }))
        {
            json.WriteStartArray();
            foreach (ImageInfo image in images)
            {
                json.WriteStartObject();
                json.WriteString("id", image.Id);
                json.WriteString("name", image.DisplayName);
                json.WriteNumber("import_time", UnixNanoseconds(image.ImportTime));
                json.WriteNumber("last_used_time", UnixNanoseconds(image.LastUsed));
                json.WriteNumber("size", image.Size);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static long UnixNanoseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    /// <summary>Go's tabwriter as rkt configures it (tab padding, 8-column tab stops).</summary>
    internal static void WriteTable(TextWriter output, List<string[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        int columns = rows.Max(r => r.Length);
        int[] widths = new int[columns];
        foreach (string[] row in rows)
        {
            for (int c = 0; c < row.Length - 1; c++)
            {
                widths[c] = Math.Max(widths[c], ((row[c].Length / 8) + 1) * 8);
            }
        }

        var line = new System.Text.StringBuilder();
        foreach (string[] row in rows)
        {
            line.Clear();
            for (int c = 0; c < row.Length; c++)
            {
                line.Append(row[c]);
                if (c < row.Length - 1)
                {
                    int tabs = (widths[c] - row[c].Length + 7) / 8;
                    line.Append('\t', Math.Max(1, tabs));
                }
            }

            output.WriteLine(line.ToString());
        }
    }

    /// <summary>go-humanize's IBytes without the space, as rkt's image list shows sizes ("7.4MiB").</summary>
    internal static string IecBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes}B" : string.Create(CultureInfo.InvariantCulture, $"{(value < 10 ? Math.Round(value, 1) : Math.Round(value)):0.#}{units[unit]}");
    }

    /// <summary>go-humanize's Time ("3 days ago").</summary>
    internal static string Relative(DateTimeOffset now, DateTimeOffset then)
    {
        TimeSpan age = now - then;
        if (age < TimeSpan.FromSeconds(1))
        {
            return "now";
        }

        (double amount, string unit) = age.TotalSeconds switch
        {
            < 60 => (age.TotalSeconds, "second"),
            < 3600 => (age.TotalMinutes, "minute"),
            < 86400 => (age.TotalHours, "hour"),
            < 7 * 86400 => (age.TotalDays, "day"),
            < 30 * 86400 => (age.TotalDays / 7, "week"),
            < 365 * 86400 => (age.TotalDays / 30, "month"),
            _ => (age.TotalDays / 365, "year"),
        };
        int n = (int)Math.Floor(amount);
        return n == 1 ? $"1 {unit} ago" : $"{n} {unit}s ago";
    }
}
