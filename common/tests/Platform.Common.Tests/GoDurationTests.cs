using Platform.Common.Flags;

namespace Platform.Common.Tests;

public class GoDurationTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("100ms", 100 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1h30m", 90 * TimeSpan.TicksPerMinute)]
    [InlineData("1.5s", 1500 * TimeSpan.TicksPerMillisecond)]
    [InlineData("-2us", -20)]
    [InlineData("3µs", 30)]
    [InlineData("300ns", 3)]
    [InlineData("2h45m10s", (2 * 3600 + 45 * 60 + 10) * TimeSpan.TicksPerSecond)]
    public void TryParse_ValidDurations_Parse(string text, long ticks)
    {
        Assert.True(GoDuration.TryParse(text, out TimeSpan value, out string? error), error);
        Assert.Equal(TimeSpan.FromTicks(ticks), value);
    }

    [Theory]
    [InlineData("", "time: invalid duration \"\"")]
    [InlineData("10", "time: missing unit in duration \"10\"")]
    [InlineData("10y", "time: unknown unit \"y\" in duration \"10y\"")]
    [InlineData("ms", "time: invalid duration \"ms\"")]
    public void TryParse_Invalid_ReportsGoMessage(string text, string message)
    {
        Assert.False(GoDuration.TryParse(text, out _, out string? error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(90 * TimeSpan.TicksPerMinute, "1h30m0s")]
    [InlineData(250 * TimeSpan.TicksPerMillisecond, "250ms")]
    [InlineData(1500 * TimeSpan.TicksPerMillisecond, "1.5s")]
    [InlineData(-5 * TimeSpan.TicksPerSecond, "-5s")]
    public void Format_MatchesGoString(long ticks, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromTicks(ticks)));
    }
}
