namespace Platform.Kola.Units.Tests;

public class ParsingTests
{
    [Fact]
    public void Parse_ContinuationCommentsAndRepeatedKeys_KeepsOrder()
    {
        var warnings = new List<string>();
        List<UnitEntry> entries = UnitFile.Parse(
            "# comment\n[Unit]\nDescription=My \\\n  # skipped comment\n  service\n; other comment\nAfter=a.service\nAfter=b.service\nbroken line\n[Service]\nExecStart=/bin/echo \\\n one \\\n two\n",
            "x.service",
            warnings);

        Assert.Equal(
            [("Unit", "Description", "My  service"), ("Unit", "After", "a.service"), ("Unit", "After", "b.service"), ("Service", "ExecStart", "/bin/echo  one  two")],
            entries.Select(e => (e.Section, e.Key, e.Value)));
        Assert.Equal(["x.service:9: Missing '=', ignoring line."], warnings);
    }

    [Fact]
    public void Specifiers_AllKnown_Resolve()
    {
        var specifiers = new Specifiers("flanneld@eth0.service", "node1", () => "abc123");
        var warnings = new List<string>();
        var where = new UnitEntry("Service", "ExecStart", string.Empty, "f", 1);
        Assert.Equal("flanneld@eth0.service flanneld@eth0 flanneld eth0 node1 abc123 100% /run",
            specifiers.Resolve("%n %N %p %i %H %m 100%% %t", warnings, where));
        Assert.Empty(warnings);
        Assert.Equal("%z", specifiers.Resolve("%z", warnings, where));
        Assert.Single(warnings);
    }

    [Fact]
    public void ExecCommand_PrefixesQuotesAndVariables_AsSystemd()
    {
        ExecCommand command = Assert.Single(ExecCommand.Parse("-@/bin/sh shell -c \"echo ${A} $$B\" $LIST ${UNSET}x 'a b'"));
        Assert.True(command.IgnoreFailure);
        Assert.True(command.ArgvZeroOverride);
        var env = new Dictionary<string, string> { ["A"] = "1 2", ["LIST"] = "x  y" };
        (string executable, List<string> argv) = command.Expand(env);
        Assert.Equal("/bin/sh", executable);
        Assert.Equal(["shell", "-c", "echo 1 2 $B", "x", "y", "x", "a b"], argv);

        List<ExecCommand> two = ExecCommand.Parse("/bin/a 1 ; /bin/b \\; 2");
        Assert.Equal(2, two.Count);
        Assert.Equal(["/bin/b", ";", "2"], two[1].Words);
        Assert.Throws<FormatException>(() => ExecCommand.Parse("/bin/echo \"unbalanced"));
    }

    [Fact]
    public void Environment_QuotedForms_Parse()
    {
        var warnings = new List<string>();
        List<KeyValuePair<string, string>> parsed = EnvironmentSyntax.ParseAssignments("\"A=b c\" D=e 'F=g h' I=\"j k\" bad", warnings, "w");
        Assert.Equal([new("A", "b c"), new("D", "e"), new("F", "g h"), new("I", "j k")], parsed);
        Assert.Single(warnings);

        List<KeyValuePair<string, string>> file = EnvironmentSyntax.ParseFile(
            "# comment\n; other\nA=1\nB = \"two words\"\nC='lit $x'\nexport D=4\nE=long \\\nline\nnot an assignment\n");
        Assert.Equal([new("A", "1"), new("B", "two words"), new("C", "lit $x"), new("D", "4"), new("E", "long line")], file);
    }

    [Theory]
    [InlineData("90", 90_000)]
    [InlineData("5s", 5_000)]
    [InlineData("100ms", 100)]
    [InlineData("1min 30s", 90_000)]
    [InlineData("2m30s", 150_000)]
    public void TimeSpans_Forms_Parse(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), TimeSpans.Parse(text));

    [Fact]
    public void Signals_NamesAndNumbers_Parse()
    {
        Assert.Equal(15, Signals.Parse("SIGTERM"));
        Assert.Equal(2, Signals.Parse("INT"));
        Assert.Equal(9, Signals.Parse("9"));
        Assert.Throws<FormatException>(() => Signals.Parse("SIGNOPE"));
    }

    [Fact]
    public async Task Load_DropInsAcrossDirectories_MergeByFileNameWithResets()
    {
        await using Harness h = Harness.Create(nameof(Load_DropInsAcrossDirectories_MergeByFileNameWithResets));
        Harness.Write(h.Lib, "x.service", "[Unit]\nDescription=X %n\nWants=a.service\n[Service]\nEnvironment=A=1 B=1\nExecStart=/bin/true\n");
        Harness.Write(h.Lib, "x.service.d/10-a.conf", "[Service]\nEnvironment=A=lib\n");
        Harness.Write(h.Etc, "x.service.d/10-a.conf", "[Service]\nEnvironment=A=etc\n");
        Harness.Write(h.RunDir, "x.service.d/20-b.conf", "[Unit]\nWants=\nWants=b.service\n[Service]\nExecStart=\nExecStart=/bin/echo %p\n");
        var loader = new UnitLoader(h.Options);
        UnitDefinition d = loader.Load("x.service");
        Assert.Equal("loaded", d.LoadState);
        Assert.Equal("X x.service", d.Description);
        Assert.Equal(["A=1", "B=1", "A=etc"], d.Environment);
        Assert.Equal(["b.service"], d.Wants);
        Assert.Equal(["/bin/echo", "x"], Assert.Single(d.ExecStart).Words);
        Assert.Equal([h.Path("etc", "x.service.d", "10-a.conf"), System.IO.Path.Combine(h.RunDir, "x.service.d", "20-b.conf")], d.DropInPaths);
    }

    [Fact]
    public async Task Load_BadSettings_ReportedClearly()
    {
        await using Harness h = Harness.Create(nameof(Load_BadSettings_ReportedClearly));
        Harness.Write(h.Etc, "user.service", "[Service]\nUser=core\nExecStart=/bin/true\n");
        Harness.Write(h.Etc, "two.service", "[Service]\nExecStart=/bin/true\nExecStart=/bin/true\n");
        Harness.Write(h.Etc, "t.timer", "[Timer]\nOnCalendar=daily\n");
        Harness.Write(h.Etc, "odd.service", "[Unit]\nFrobnicate=yes\n[Service]\nExecStart=/bin/true\n[X-Fleet]\nConflicts=odd*\n");
        var loader = new UnitLoader(h.Options);
        UnitDefinition odd = loader.Load("odd.service");
        Assert.Equal("loaded", odd.LoadState);
        Assert.Equal([$"{h.Path("etc", "odd.service")}:2: Unknown key name 'Frobnicate' in section 'Unit', ignoring."], odd.Warnings);
        UnitDefinition user = loader.Load("user.service");
        Assert.Equal("bad-setting", user.LoadState);
        Assert.Contains("User=core", user.LoadError, StringComparison.Ordinal);
        Assert.Equal("bad-setting", loader.Load("two.service").LoadState);
        Assert.Equal("loaded", loader.Load("t.timer").LoadState);
        Assert.Equal("not-found", loader.Load("nope.service").LoadState);
        Assert.Equal("loaded", loader.Load("network-online.target").LoadState);

        UnitException e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("user", CancellationToken.None));
        Assert.StartsWith("Failed to start user.service: Unit user.service has a bad unit file setting", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<UnitException>(() => h.Manager.StartAsync("t.timer", CancellationToken.None));
        Assert.Equal("Failed to start t.timer: Unit type timer is not supported by this manager (only services and targets start).", e.Message);
        Assert.Equal("loaded", h.Manager.GetStatus("t.timer").LoadState);
    }

    [Fact]
    public async Task Load_ZeroTimeouts_MeanNoTimeout()
    {
        await using Harness h = Harness.Create(nameof(Load_ZeroTimeouts_MeanNoTimeout));
        Harness.Write(h.Etc, "z.service", "[Service]\nTimeoutStartSec=0\nTimeoutStopSec=infinity\nExecStart=/bin/true\n");
        Harness.Write(h.Etc, "s.service", "[Service]\nTimeoutSec=1min 5s\nExecStart=/bin/true\n");
        var loader = new UnitLoader(h.Options);
        UnitDefinition z = loader.Load("z.service");
        Assert.Equal((Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan), (z.TimeoutStart, z.TimeoutStop));
        UnitDefinition s = loader.Load("s.service");
        Assert.Equal((TimeSpan.FromSeconds(65), TimeSpan.FromSeconds(65)), (s.TimeoutStart, s.TimeoutStop));
    }

    [Fact]
    public async Task Journal_HostnameSource_FollowsHostnameChanges()
    {
        using var dir = Platform.Testing.TestDirectory.Create(nameof(Journal_HostnameSource_FollowsHostnameChanges));
        string hostname = "first";
        var options = new UnitManagerOptions
        {
            UnitDirectories = [dir.Path],
            BaseEnvironment = [],
            JournalPath = dir.Combine("log", "journal"),
            Hostname = "fallback",
            HostnameSource = () => hostname,
        };
        await using (IUnitManager manager = UnitManager.Create(options))
        {
            await manager.DaemonReloadAsync(CancellationToken.None);
            hostname = "second";
            await manager.DaemonReloadAsync(CancellationToken.None);
            hostname = string.Empty;
            await manager.DaemonReloadAsync(CancellationToken.None);
        }

        string[] lines = File.ReadAllLines(options.JournalPath);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^\w{3} \d\d \d\d:\d\d:\d\d first systemd\[1\]: Reloading\.$", lines[0]);
        Assert.EndsWith(" second systemd[1]: Reloading.", lines[1], StringComparison.Ordinal);
        Assert.EndsWith(" fallback systemd[1]: Reloading.", lines[2], StringComparison.Ordinal);
    }
}
