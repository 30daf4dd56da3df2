using CsCheck;
using Platform.Raft.Quorum;

namespace Platform.Raft.Tests.Quorum;

/// <summary>Quorum computations against naive reference definitions, on random configurations.</summary>
public class QuorumPropertyTests
{
    private const int MaxId = 10;

    /// <summary>Voter ids (up to <paramref name="maxVoters"/>, duplicates allowed) and, per id 1..MaxId, an acked index or -1 for unknown.</summary>
    private static Gen<(ulong[] Ids, int[] Acked)> ConfigAndAcks(int maxVoters) =>
        Gen.Select(
            Gen.Int[1, MaxId].Select(i => (ulong)i).Array[0, maxVoters],
            Gen.Int[-1, 20].Array[MaxId + 1]);

    private static Dictionary<ulong, ulong> Known(int[] acked) =>
        Enumerable.Range(0, acked.Length).Where(i => acked[i] >= 0).ToDictionary(i => (ulong)i, i => (ulong)acked[i]);

    /// <summary>Sorts the acked indexes (unknown = 0) from high to low and takes the one a majority reached.</summary>
    private static ulong ReferenceCommitted(IEnumerable<ulong> ids, Dictionary<ulong, ulong> acked)
    {
        List<ulong> indexes = [.. ids.Distinct().Select(id => acked.GetValueOrDefault(id)).OrderDescending()];
        return indexes.Count == 0 ? ulong.MaxValue : indexes[indexes.Count / 2];
    }

    [Fact]
    public void CommittedIndex_RandomMajority_EqualsReference() =>
        ConfigAndAcks(7).Sample((ids, ackedArray) =>
        {
            Dictionary<ulong, ulong> acked = Known(ackedArray);
            var cfg = new MajorityConfig(ids);
            ulong committed = cfg.CommittedIndex(new MapAckedIndexer(acked));

            Assert.Equal(ReferenceCommitted(ids, acked), committed);
            Assert.Equal(QuorumScenarioTests.NaiveCommitted(cfg, acked), committed);
        }, iter: 5000);

    [Fact]
    public void CommittedIndex_RandomJoint_IsMinOfHalves() =>
        Gen.Select(ConfigAndAcks(7), Gen.Int[1, MaxId].Select(i => (ulong)i).Array[0, 7]).Sample((t, outgoingIds) =>
        {
            Dictionary<ulong, ulong> acked = Known(t.Acked);
            var l = new MapAckedIndexer(acked);
            var joint = new JointConfig(new MajorityConfig(t.Ids), new MajorityConfig(outgoingIds));

            ulong expected = Math.Min(ReferenceCommitted(t.Ids, acked), ReferenceCommitted(outgoingIds, acked));
            Assert.Equal(expected, joint.CommittedIndex(l));
            Assert.Equal(expected, new JointConfig(new MajorityConfig(outgoingIds), new MajorityConfig(t.Ids)).CommittedIndex(l));
        }, iter: 5000);

    [Fact]
    public void VoteResult_RandomVotes_EqualsNaiveCount() =>
        Gen.Select(
            Gen.Int[1, MaxId].Select(i => (ulong)i).Array[0, 7],
            Gen.Int[1, MaxId].Select(i => (ulong)i).Array[0, 7],
            Gen.Int[-1, 1].Array[MaxId + 1]).Sample((inIds, outIds, raw) =>
        {
            // -1: rejected, 0: not voted, 1: granted.
            Dictionary<ulong, bool> votes = Enumerable.Range(0, raw.Length).Where(i => raw[i] != 0).ToDictionary(i => (ulong)i, i => raw[i] > 0);
            var incoming = new MajorityConfig(inIds);
            var outgoing = new MajorityConfig(outIds);

            VoteResult a = QuorumScenarioTests.NaiveVote(incoming, votes);
            VoteResult b = QuorumScenarioTests.NaiveVote(outgoing, votes);
            VoteResult expectedJoint = a == VoteResult.Lost || b == VoteResult.Lost ? VoteResult.Lost
                : a == VoteResult.Won && b == VoteResult.Won ? VoteResult.Won : VoteResult.Pending;

            Assert.Equal(a, incoming.VoteResult(votes));
            Assert.Equal(expectedJoint, new JointConfig(incoming, outgoing).VoteResult(votes));
        }, iter: 5000);
}
