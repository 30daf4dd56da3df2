using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.Testing;
using Xunit.Abstractions;

namespace Platform.Kola.Netns.IntegrationTests;

/// <summary>
/// The published <c>kola</c> as CI and users run it: every registered test on the netns platform
/// (the CI run of the whole list), <c>kola up</c> twice and <c>kola down</c>, <c>kola list</c>.
/// </summary>
public sealed partial class KolaCommandTests
{
    private static readonly string[] s_registered =
        ["cloudinit.basic", "etcd.discovery", "etcd.member-loss", "flannel.hostgw", "flannel.vxlan", "flannel.udp", "rkt.run", "platform.smoke"];

    private readonly ITestOutputHelper _output;

    public KolaCommandTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task List_Json_NamesEveryRegisteredTest()
    {
        Assert.Null(NetnsFixture.Missing());
        (int code, string stdout) = await KolaAsync(["list", "--json"], TimeSpan.FromMinutes(1));
        Assert.Equal(0, code);
        using JsonDocument tests = JsonDocument.Parse(stdout);
        Assert.Equal(s_registered, tests.RootElement.EnumerateArray().Select(t => t.GetProperty("Name").GetString()).ToArray());
        Assert.All(tests.RootElement.EnumerateArray(), t => Assert.InRange(t.GetProperty("ClusterSize").GetInt32(), 1, 3));
    }

    [RootFact("kola boots network-namespace machines")]
    public async Task Run_EveryRegisteredTest_PassesOnNetns_AndLeavesNothingBehind()
    {
        Assert.Null(NetnsFixture.Missing());
        string stateRoot = NetnsFixture.NewStateRoot();
        using var output = TestDirectory.Create("kola-run");
        string[] namespacesBefore = RunFlightNamespaces();
        try
        {
            (int code, string stdout) = await KolaAsync(["run", "-j", "2", "-o", output.Path, "--state-root", stateRoot], TimeSpan.FromMinutes(9));
            // kola's own link to the run it just made.
            string report = Path.Combine(output.Path, "netns-latest", "report.json");
            using JsonDocument run = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var results = run.RootElement.GetProperty("tests").EnumerateArray()
                .ToDictionary(t => t.GetProperty("name").GetString()!, t => (Result: t.GetProperty("result").GetString(), Output: t.GetProperty("output").GetString()));
            foreach ((string name, (string? result, string? log)) in results.Where(r => r.Value.Result != "PASS"))
            {
                _output.WriteLine($"--- {name}: {result}\n{log}");
                string machines = Path.Combine(output.Path, "netns-latest", name);
                foreach (string journal in Directory.Exists(machines) ? Directory.GetFiles(machines, "journal.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [])
                {
                    string[] lines = await File.ReadAllLinesAsync(journal);
                    _output.WriteLine($"--- {Path.GetRelativePath(output.Path, journal)} (last {Math.Min(60, lines.Length)} of {lines.Length} lines)\n{string.Join('\n', lines[^Math.Min(60, lines.Length)..])}");
                }
            }

            Assert.Equal(s_registered.Order(), results.Keys.Order());
            Assert.All(results, r => Assert.True(r.Value.Result == "PASS", $"{r.Key}: {r.Value.Result}\n{r.Value.Output}"));
            Assert.Equal(0, code);
            Assert.Contains("PASS, output in", stdout);
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(report)!, "test.tap")));
        }
        finally
        {
            if (Directory.Exists(stateRoot))
            {
                foreach (string flight in Directory.GetDirectories(stateRoot))
                {
                    NetnsPlatform.Destroy(Path.GetFileName(flight), stateRoot);
                }

                Directory.Delete(stateRoot, recursive: true);
            }
        }

        // Other tests of this assembly boot flights of their own meanwhile: compare only kola run's.
        Assert.Equal(namespacesBefore, RunFlightNamespaces());
    }

    /// <summary>The namespaces of flights named as <c>kola run</c> names them (six random hex digits).</summary>
    private static string[] RunFlightNamespaces() =>
        [.. NetnsFixture.KolaNamespaces(string.Empty).Where(n => RunFlightNamespace().IsMatch(n)).Order(StringComparer.Ordinal)];

    [GeneratedRegex("^kola-[0-9a-f]{6}(-m[0-9]+)?$")]
    private static partial Regex RunFlightNamespace();

    [RootFact("kola up boots network-namespace machines")]
    public async Task Up_Twice_ThenDown_LeavesNothingBehind()
    {
        Assert.Null(NetnsFixture.Missing());
        string stateRoot = NetnsFixture.NewStateRoot();
        string flight = "u" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            for (int i = 0; i < 2; i++)
            {
                (int code, string stdout) = await KolaAsync(["up", "--name", flight, "--state-root", stateRoot], TimeSpan.FromMinutes(4));
                Assert.True(code == 0, stdout);
                Assert.Contains("cluster ready in", stdout);
                Assert.Contains("pods reach each other across machines", stdout);
                Assert.Contains($"ip netns exec kola-{flight}-m1 etcdctl --endpoints=http://10.200.1.1:2379 member list", stdout);
                Assert.Equal([$"kola-{flight}", $"kola-{flight}-m1", $"kola-{flight}-m2", $"kola-{flight}-m3"], NetnsFixture.KolaNamespaces(flight).Order());
            }

            (int down, string removed) = await KolaAsync(["down", flight, "--state-root", stateRoot], TimeSpan.FromMinutes(1));
            Assert.Equal(0, down);
            Assert.Contains($"flight {flight} removed", removed);
        }
        finally
        {
            NetnsPlatform.Destroy(flight, stateRoot);
            if (Directory.Exists(stateRoot))
            {
                Directory.Delete(stateRoot, recursive: true);
            }
        }

        Assert.Empty(NetnsFixture.KolaNamespaces(flight));
        Assert.DoesNotContain(Directory.GetDirectories("/proc"), p => SafeRead(Path.Combine(p, "cmdline")).Contains($"/{flight}/", StringComparison.Ordinal));
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    private async Task<(int Code, string Stdout)> KolaAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(NetnsFixture.Kola) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kola {string.Join(' ', arguments)} did not finish within {timeout}: {await stdout}");
        }

        string text = await stdout;
        _output.WriteLine($"$ kola {string.Join(' ', arguments)}\n{text}{await stderr}");
        return (process.ExitCode, text);
    }
}
