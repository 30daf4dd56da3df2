using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.Kola.Harness;

/// <summary>
/// The files kola leaves in a run directory: <c>report.json</c> (mantle's JSON reporter shape:
/// tests with name, result, duration in nanoseconds as Go prints a time.Duration, output; the
/// run's result and platform) and <c>test.tap</c> (TAP 13, failure output as diagnostics).
/// </summary>
internal static class KolaReports
{
    public static async Task WriteAsync(RunResult run, CancellationToken cancellationToken)
    {
        await WriteAtomicallyAsync(Path.Combine(run.OutputDirectory, "report.json"), Json(run), cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(Path.Combine(run.OutputDirectory, "test.tap"), Tap(run), cancellationToken).ConfigureAwait(false);
    }

    internal static string Json(RunResult run)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("tests");
            foreach (TestResult test in run.Tests)
            {
                json.WriteStartObject();
                json.WriteString("name", test.Name);
                json.WriteString("result", Word(test.Status));
                json.WriteNumber("duration", test.Duration.Ticks * 100);
                json.WriteString("output", test.Output);
                json.WriteStartObject("phases");
                foreach ((string phase, TimeSpan took) in test.Phases)
                {
                    json.WriteNumber(phase, took.Ticks * 100);
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("result", run.Passed ? "PASS" : "FAIL");
            json.WriteString("platform", run.Platform);
            json.WriteString("version", typeof(KolaReports).Assembly.GetName().Version?.ToString() ?? "0");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    internal static string Tap(RunResult run)
    {
        var tap = new StringBuilder();
        tap.Append("TAP version 13\n");
        tap.Append(CultureInfo.InvariantCulture, $"1..{run.Tests.Count}\n");
        for (int i = 0; i < run.Tests.Count; i++)
        {
            TestResult test = run.Tests[i];
            string line = test.Status switch
            {
                TestStatus.Pass => $"ok {i + 1} - {test.Name}",
                TestStatus.Skip => $"ok {i + 1} - {test.Name} # SKIP {FirstLine(test.Output)}",
                _ => $"not ok {i + 1} - {test.Name}",
            };
            tap.Append(line).Append('\n');
            if (test.Status == TestStatus.Fail)
            {
                foreach (string output in test.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    tap.Append("# ").Append(output).Append('\n');
                }
            }
        }

        return tap.ToString();
    }

    private static string Word(TestStatus status) => status switch
    {
        TestStatus.Pass => "PASS",
        TestStatus.Skip => "SKIP",
        _ => "FAIL",
    };

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text[..newline];
    }

    private static async Task WriteAtomicallyAsync(string path, string content, CancellationToken cancellationToken)
    {
        string temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, content, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
