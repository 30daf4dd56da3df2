using System.Globalization;
using System.Text;
using Platform.Raft.ConfChanges;
using Platform.Raft.Tracker;
using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.ConfChanges;

/// <summary>
/// Runs testdata/confchange/*.txt against one tracker per file (inflight window 10). Commands,
/// with the changes as an input line in the compact form <c>v1 l2 r3 u4</c>:
/// <code>
/// simple                    one-step change
/// enter-joint [autoleave=true]
/// leave-joint               (no input)
/// restore voters=(1,2) [learners=(3)] [outgoing=(1,4)] [learners_next=(4)] [autoleave=true]
/// </code>
/// <c>restore</c> replaces the tracker with one rebuilt from that ConfState, as installing a
/// snapshot does. The leader's last index starts at 0 and grows by one per command, so a
/// progress's <c>next</c> tells which command created it. Output: the configuration and the
/// progress map, or the error. Each successful result is cross-checked (printed only on
/// failure): the tracker passed in is unchanged, and restoring the result's ConfState on an
/// empty tracker gives the same configuration.
/// </summary>
public class ConfChangeScenarioTests
{
    private const int MaxInflight = 10;

    public static IEnumerable<object[]> Files() => ScenarioRunner.Files("testdata/confchange");

    [Theory]
    [MemberData(nameof(Files))]
    public void Run_ConfChangeScenarios_MatchGoldenOutput(string file)
    {
        var tracker = new ProgressTracker(MaxInflight, 0);
        ulong lastIndex = 0;
        ScenarioRunner.Run(
            Path.Combine(ScenarioRunner.SourceDirectory("testdata/confchange"), file),
            cmd =>
            {
                try
                {
                    return Execute(cmd, ref tracker, lastIndex);
                }
                finally
                {
                    lastIndex++;
                }
            });
    }

    private static string Execute(ScenarioCommand cmd, ref ProgressTracker tracker, ulong lastIndex)
    {
        IReadOnlyList<ConfChangeSingle> changes = ConfChangeExtensions.ParseConfChanges(cmd.Input);
        var changer = new Changer(tracker, lastIndex);
        string before = Describe(tracker.Config, tracker.Progress);
        TrackerConfig cfg;
        ProgressMap progress;
        try
        {
            (cfg, progress) = cmd.Name switch
            {
                "simple" => changer.Simple(changes),
                "enter-joint" => changer.EnterJoint(cmd.GetBool("autoleave", false), changes),
                "leave-joint" when changes.Count == 0 => changer.LeaveJoint(),
                "leave-joint" => throw new ScenarioException($"{cmd.Position}: leave-joint takes no input"),
                "restore" => ConfChangeRestore.Restore(new Changer(new ProgressTracker(MaxInflight, 0), lastIndex), ParseConfState(cmd)),
                _ => throw new ScenarioException($"{cmd.Position}: unknown command {cmd.Name}"),
            };
        }
        catch (ConfChangeException e)
        {
            return e.Message;
        }

        var sb = new StringBuilder();
        if (Describe(tracker.Config, tracker.Progress) != before)
        {
            sb.Append("<-- the changer mutated the tracker it was given\n");
        }

        var next = new ProgressTracker(MaxInflight, 0) { Config = cfg, Progress = progress };
        (TrackerConfig restored, _) = ConfChangeRestore.Restore(new Changer(new ProgressTracker(MaxInflight, 0), lastIndex), next.ConfState());
        if (restored.ToString() != cfg.ToString())
        {
            sb.Append(CultureInfo.InvariantCulture, $"<-- restoring the ConfState gives {restored}\n");
        }

        tracker = next;
        return sb.Append(Describe(cfg, progress)).ToString();
    }

    private static string Describe(TrackerConfig cfg, ProgressMap progress) => $"{cfg}\n{progress}";

    private static ConfState ParseConfState(ScenarioCommand cmd)
    {
        var cs = new ConfState { AutoLeave = cmd.GetBool("autoleave", false) };
        cs.Voters.AddRange(Ids(cmd, "voters"));
        cs.Learners.AddRange(Ids(cmd, "learners"));
        cs.VotersOutgoing.AddRange(Ids(cmd, "outgoing"));
        cs.LearnersNext.AddRange(Ids(cmd, "learners_next"));
        return cs;
    }

    private static IEnumerable<ulong> Ids(ScenarioCommand cmd, string key) =>
        cmd.GetAll(key).Select(v => ulong.Parse(v, CultureInfo.InvariantCulture));
}
