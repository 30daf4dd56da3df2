using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.Interaction;

/// <summary>
/// Runs each testdata/interaction/*.txt scenario through a fresh <see cref="InteractionEnv"/>:
/// commands in, the exact trace (Readys, messages, raft's log lines) out. Regenerate with
/// <c>PLATFORM_REWRITE=1</c> and commit only diffs you understand.
/// </summary>
public class InteractionTests
{
    public static IEnumerable<object[]> Files() => ScenarioRunner.Files("testdata/interaction");

    [Theory]
    [MemberData(nameof(Files))]
    public void Run_InteractionScenario_MatchesGoldenTrace(string file)
    {
        var env = new InteractionEnv();
        ScenarioRunner.Run(Path.Combine(ScenarioRunner.SourceDirectory("testdata/interaction"), file), env.Handle);
    }
}
