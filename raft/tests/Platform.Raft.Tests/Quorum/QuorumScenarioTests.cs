using System.Globalization;
using System.Text;
using Platform.Raft.Quorum;
using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.Quorum;

/// <summary>
/// Runs testdata/quorum/*.txt. Commands:
/// <code>
/// committed cfg=(1,2,3) [cfgj=(2,3,4)] idx=(10,_,20,5)
/// vote      cfg=(1,2,3) [cfgj=(2,3,4)] votes=(y,n,_,y)
/// </code>
/// <c>cfg</c> is the incoming majority configuration and <c>cfgj</c>, when given, makes it joint
/// with that outgoing one (<c>cfgj=()</c>: joint with an empty half; <c>cfg=()</c>: empty).
/// <c>idx</c> and <c>votes</c> give one value per distinct voter, in order of first appearance
/// in cfg then cfgj; <c>_</c> means nothing is known of that voter. Output: for
/// <c>committed</c>, the bar chart and the committed index (∞ for the empty configuration); for
/// <c>vote</c>, the result. Results that independent computations disagree with (a naive
/// reference, the joint config with an empty or identical half, the halves swapped) are flagged
/// with <c>&lt;-- via ...</c> lines, which a correct implementation never prints.
/// </summary>
public class QuorumScenarioTests
{
    public static IEnumerable<object[]> Files() => ScenarioRunner.Files("testdata/quorum");

    [Theory]
    [MemberData(nameof(Files))]
    public void Run_QuorumScenarios_MatchGoldenOutput(string file) =>
        ScenarioRunner.Run(Path.Combine(ScenarioRunner.SourceDirectory("testdata/quorum"), file), Execute);

    private static string Execute(ScenarioCommand cmd)
    {
        List<ulong> ids = ParseIds(cmd.GetAll("cfg"));
        bool joint = cmd.Has("cfgj");
        List<ulong> idsj = ParseIds(cmd.GetAll("cfgj"));
        var incoming = new MajorityConfig(ids);
        var outgoing = new MajorityConfig(idsj);
        List<ulong> voters = [.. ids.Concat(idsj).Distinct()];

        return cmd.Name switch
        {
            "committed" => Committed(cmd, incoming, outgoing, joint, voters),
            "vote" => Vote(cmd, incoming, outgoing, joint, voters),
            _ => throw new ScenarioException($"{cmd.Position}: unknown command {cmd.Name}"),
        };
    }

    private static string Committed(ScenarioCommand cmd, MajorityConfig incoming, MajorityConfig outgoing, bool joint, List<ulong> voters)
    {
        Dictionary<ulong, ulong> acked = Assign(cmd, "idx", voters, v => ulong.Parse(v, CultureInfo.InvariantCulture));
        var l = new MapAckedIndexer(acked);
        var sb = new StringBuilder();
        ulong committed;
        if (!joint)
        {
            sb.Append(incoming.Describe(l));
            committed = incoming.CommittedIndex(l);
            Check(sb, NaiveCommitted(incoming, acked), committed, "naive computation");
            Check(sb, new JointConfig(incoming.Clone(), new MajorityConfig()).CommittedIndex(l), committed, "zero-joint quorum");
            Check(sb, new JointConfig(incoming.Clone(), incoming.Clone()).CommittedIndex(l), committed, "self-joint quorum");
        }
        else
        {
            var cfg = new JointConfig(incoming, outgoing);
            sb.Append(cfg.Describe(l));
            committed = cfg.CommittedIndex(l);
            Check(sb, new JointConfig(outgoing.Clone(), incoming.Clone()).CommittedIndex(l), committed, "symmetry");
            Check(sb, Math.Min(NaiveCommitted(incoming, acked), NaiveCommitted(outgoing, acked)), committed, "naive computation");
        }

        if (sb.Length > 0 && sb[^1] != '\n')
        {
            sb.Append('\n');
        }

        return sb.Append(FormatIndex(committed)).ToString();
    }

    private static string Vote(ScenarioCommand cmd, MajorityConfig incoming, MajorityConfig outgoing, bool joint, List<ulong> voters)
    {
        Dictionary<ulong, bool> votes = Assign(cmd, "votes", voters, v => v switch
        {
            "y" => true,
            "n" => false,
            _ => throw new ScenarioException($"{cmd.Position}: unknown vote {v}"),
        });
        var sb = new StringBuilder();
        VoteResult result;
        if (!joint)
        {
            result = incoming.VoteResult(votes);
            Check(sb, NaiveVote(incoming, votes), result, "naive count");
            Check(sb, new JointConfig(incoming.Clone(), new MajorityConfig()).VoteResult(votes), result, "zero-joint quorum");
        }
        else
        {
            result = new JointConfig(incoming, outgoing).VoteResult(votes);
            Check(sb, new JointConfig(outgoing.Clone(), incoming.Clone()).VoteResult(votes), result, "symmetry");
        }

        return sb.Append(result).ToString();
    }

    /// <summary>Maps the values of <paramref name="key"/> onto <paramref name="voters"/>, skipping <c>_</c>.</summary>
    private static Dictionary<ulong, T> Assign<T>(ScenarioCommand cmd, string key, List<ulong> voters, Func<string, T> parse)
    {
        IReadOnlyList<string> values = cmd.GetAll(key);
        if (values.Count != voters.Count)
        {
            throw new ScenarioException($"{cmd.Position}: {key} has {values.Count} values for {voters.Count} voters");
        }

        var map = new Dictionary<ulong, T>();
        for (int i = 0; i < voters.Count; i++)
        {
            if (values[i] != "_")
            {
                map[voters[i]] = parse(values[i]);
            }
        }

        return map;
    }

    /// <summary>The reference definition: the largest index that at least a majority acked.</summary>
    internal static ulong NaiveCommitted(MajorityConfig cfg, IReadOnlyDictionary<ulong, ulong> acked)
    {
        if (cfg.Count == 0)
        {
            return ulong.MaxValue;
        }

        List<ulong> indexes = [.. cfg.Select(id => acked.GetValueOrDefault(id))];
        return indexes.Where(candidate => indexes.Count(i => i >= candidate) > cfg.Count / 2).DefaultIfEmpty(0UL).Max();
    }

    /// <summary>The reference definition of a majority vote, by counting.</summary>
    internal static VoteResult NaiveVote(MajorityConfig cfg, IReadOnlyDictionary<ulong, bool> votes)
    {
        int yes = cfg.Count(id => votes.TryGetValue(id, out bool v) && v);
        int no = cfg.Count(id => votes.TryGetValue(id, out bool v) && !v);
        if (2 * yes > cfg.Count || cfg.Count == 0)
        {
            return VoteResult.Won;
        }

        return 2 * no >= cfg.Count ? VoteResult.Lost : VoteResult.Pending;
    }

    private static void Check<T>(StringBuilder sb, T alternative, T actual, string how)
    {
        if (!EqualityComparer<T>.Default.Equals(alternative, actual))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{alternative} <-- via {how}\n");
        }
    }

    private static string FormatIndex(ulong index) =>
        index == ulong.MaxValue ? "∞" : index.ToString(CultureInfo.InvariantCulture);

    private static List<ulong> ParseIds(IReadOnlyList<string> values) =>
        [.. values.Select(v => ulong.Parse(v, CultureInfo.InvariantCulture))];
}
