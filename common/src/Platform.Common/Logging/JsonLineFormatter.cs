using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Platform.Common.Logging;

/// <summary>
/// One JSON object per line, shaped like the zap logs of etcd 3.4+:
/// <c>{"level":"info","ts":"2026-11-26T09:00:00.000Z","logger":"etcd.raft","msg":"became leader","term":2}</c>.
/// Structured-logging placeholders become top-level fields, so <c>jq</c> and log shippers can use them.
/// </summary>
internal sealed class JsonLineFormatter : ConsoleFormatter
{
    public const string FormatterName = "platform-json";

    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private readonly TimeProvider _timeProvider;

    public JsonLineFormatter(TimeProvider timeProvider)
        : base(FormatterName)
    {
        _timeProvider = timeProvider;
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && message.Length == 0)
        {
            return;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("level", LevelName(logEntry.LogLevel));
            writer.WriteString("ts", _timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("logger", logEntry.Category);
            writer.WriteString("msg", message);
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                foreach (KeyValuePair<string, object?> field in fields)
                {
                    if (field.Key == "{OriginalFormat}")
                    {
                        continue;
                    }

                    WriteField(writer, ToFieldName(field.Key), field.Value);
                }
            }

            scopeProvider?.ForEachScope(
                static (scope, w) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (KeyValuePair<string, object?> pair in pairs)
                        {
                            if (pair.Key != "{OriginalFormat}")
                            {
                                WriteField(w, ToFieldName(pair.Key), pair.Value);
                            }
                        }
                    }
                },
                writer);

            if (logEntry.Exception is not null)
            {
                writer.WriteString("error", logEntry.Exception.Message);
                writer.WriteString("stacktrace", logEntry.Exception.ToString());
            }

            writer.WriteEndObject();
        }

        textWriter.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    internal static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "fatal",
        _ => "info",
    };

    // "MemberId" -> "member-id", matching zap field names such as "local-member-id".
    internal static string ToFieldName(string key)
    {
        var sb = new System.Text.StringBuilder(key.Length + 4);
        for (int i = 0; i < key.Length; i++)
        {
            char c = key[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(key[i - 1]) || (i + 1 < key.Length && char.IsLower(key[i + 1]) && char.IsUpper(key[i - 1]))))
                {
                    sb.Append('-');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static void WriteField(Utf8JsonWriter writer, string name, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(name);
                break;
            case bool b:
                writer.WriteBoolean(name, b);
                break;
            case int or long or short or byte or sbyte or ushort or uint:
                writer.WriteNumber(name, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case ulong ul:
                writer.WriteNumber(name, ul);
                break;
            case double or float or decimal:
                writer.WriteNumber(name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case TimeSpan ts:
                writer.WriteString(name, Flags.GoDuration.Format(ts));
                break;
            case IEnumerable<string> strings:
                writer.WriteStartArray(name);
                foreach (string s in strings)
                {
                    writer.WriteStringValue(s);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}

/// <summary>Wires Platform's structured log format into Microsoft.Extensions.Logging.</summary>
public static class PlatformLogging
{
    /// <summary>
    /// Parses a log level the way etcd and flannel spell it (<c>debug</c>, <c>info</c>, <c>warn</c>,
    /// <c>error</c>, <c>panic</c>, <c>fatal</c>); returns null for anything else.
    /// </summary>
    public static LogLevel? ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "panic" or "fatal" or "dpanic" => LogLevel.Critical,
        _ => null,
    };

    /// <summary>Replaces the providers on <paramref name="builder"/> with JSON lines on standard error.</summary>
    public static ILoggingBuilder AddPlatformJson(this ILoggingBuilder builder, LogLevel minimumLevel)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ClearProviders();
        builder.SetMinimumLevel(minimumLevel);
        // ASP.NET Core's own chatter is useful at debug, noise at info.
        builder.AddFilter("Microsoft", minimumLevel > LogLevel.Warning ? minimumLevel : LogLevel.Warning);
        builder.AddConsole(o =>
        {
            o.FormatterName = JsonLineFormatter.FormatterName;
            o.LogToStandardErrorThreshold = LogLevel.Trace;
        });
        builder.AddConsoleFormatter<JsonLineFormatter, ConsoleFormatterOptions>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>A logger factory for command-line tools that do not use a host.</summary>
    public static ILoggerFactory CreateFactory(LogLevel minimumLevel) =>
        LoggerFactory.Create(b => b.AddPlatformJson(minimumLevel));
}
