using System.Text.Json;
using Microsoft.Extensions.Logging;
using Platform.Common.Logging;

namespace Platform.Common.Tests;

public class JsonLineFormatterTests
{
    [Fact]
    public void Log_StructuredMessage_WritesOneJsonLineWithFields()
    {
        var output = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(output);
        try
        {
            using (ILoggerFactory factory = PlatformLogging.CreateFactory(LogLevel.Debug))
            {
                ILogger logger = factory.CreateLogger("etcd.raft");
                logger.LogInformation("became leader at term {Term} as {LocalMemberId}", 7, "8e9e05c52164694d");
                logger.LogDebug("dropped {Count} messages", 3UL);
            }
        }
        finally
        {
            Console.SetError(original);
        }

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using JsonDocument first = JsonDocument.Parse(lines[0]);
        JsonElement root = first.RootElement;
        Assert.Equal("info", root.GetProperty("level").GetString());
        Assert.Equal("etcd.raft", root.GetProperty("logger").GetString());
        Assert.Equal("became leader at term 7 as 8e9e05c52164694d", root.GetProperty("msg").GetString());
        Assert.Equal(7, root.GetProperty("term").GetInt32());
        Assert.Equal("8e9e05c52164694d", root.GetProperty("local-member-id").GetString());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("ts").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        using JsonDocument second = JsonDocument.Parse(lines[1]);
        Assert.Equal("debug", second.RootElement.GetProperty("level").GetString());
        Assert.Equal(3, second.RootElement.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("INFO", LogLevel.Information)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData("fatal", LogLevel.Critical)]
    [InlineData("loud", null)]
    public void ParseLevel_EtcdSpellings_Map(string text, LogLevel? expected)
    {
        Assert.Equal(expected, PlatformLogging.ParseLevel(text));
    }

    [Theory]
    [InlineData("Term", "term")]
    [InlineData("LocalMemberId", "local-member-id")]
    [InlineData("HTTPStatus", "http-status")]
    [InlineData("already-dashed", "already-dashed")]
    public void ToFieldName_PascalCase_BecomesKebabCase(string key, string expected)
    {
        Assert.Equal(expected, JsonLineFormatter.ToFieldName(key));
    }
}
