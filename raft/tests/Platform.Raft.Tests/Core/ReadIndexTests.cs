using Google.Protobuf;
using static Platform.Raft.Tests.TestRafts;

namespace Platform.Raft.Tests.Core;

/// <summary>ReadIndex under both options (etcd's TestReadOnlyOption*, TestMsgReadIndexResp, TestReadOnlyForNewLeader).</summary>
public class ReadIndexTests
{
    private static Network NewCluster(ReadOnlyOption option) =>
        Network.CreateWithConfig((id, s) => Config(id, 10, 1, s, checkQuorum: true, readOnly: option), null, null, null);

    private static Message ReadIndexRequest(ulong from, ulong to, string context)
    {
        var m = new Message { From = from, To = to, Type = MessageType.MsgReadIndex };
        m.Entries.Add(new Entry { Data = ByteString.CopyFromUtf8(context) });
        return m;
    }

    [Theory]
    [InlineData(ReadOnlyOption.Safe)]
    [InlineData(ReadOnlyOption.LeaseBased)]
    public void ReadIndex_OnLeaderAndFollowers_ReturnsCommitIndexWithContext(ReadOnlyOption option)
    {
        Network network = NewCluster(option);
        network.Send(Hup(1));
        int proposals = 0;
        foreach ((ulong id, string context) in new[] { (1UL, "ctx1"), (2UL, "ctx2"), (3UL, "ctx3"), (1UL, "ctx4") })
        {
            network.Send(Proposal(1, 1));
            proposals++;
            network.Send(ReadIndexRequest(id, id, context));
            ReadState readState = Assert.Single(network[id].TakeReadStates());
            Assert.Equal(context, readState.RequestContext.ToStringUtf8());
            Assert.Equal(1UL + (ulong)proposals, readState.Index);
        }
    }

    [Fact]
    public void ReadIndex_Safe_WaitsForQuorumHeartbeatAcks()
    {
        Network network = NewCluster(ReadOnlyOption.Safe);
        network.Send(Hup(1));
        network.Ignore(MessageType.MsgHeartbeatResp);
        network.Send(ReadIndexRequest(1, 1, "ctx"));
        Assert.Empty(network[1].ReadStates);

        network.Recover();
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        Assert.Equal("ctx", Assert.Single(network[1].TakeReadStates()).RequestContext.ToStringUtf8());
    }

    [Fact]
    public void ReadIndex_LeaseBased_AnswersWithoutRoundTrip()
    {
        Network network = NewCluster(ReadOnlyOption.LeaseBased);
        network.Send(Hup(1));
        network.Isolate(1);
        network[1].Step(ReadIndexRequest(1, 1, "ctx"));
        Assert.Single(network[1].ReadStates);
    }

    [Fact]
    public void ReadIndex_FollowerWithoutLeader_IsDropped()
    {
        Raft r = NewRaft(2, 10, 1, NewStorage(1, 2, 3));
        r.Step(ReadIndexRequest(2, 2, "ctx"));
        Assert.Empty(r.ReadMessages());
        Assert.Empty(r.ReadStates);
    }

    [Fact]
    public void ReadIndexResponse_OnFollower_BecomesReadState()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1, 2, 3));
        r.BecomeFollower(2, 2);
        var response = new Message { From = 2, To = 1, Type = MessageType.MsgReadIndexResp, Term = 2, Index = 5 };
        response.Entries.Add(new Entry { Data = ByteString.CopyFromUtf8("ctx") });
        r.Step(response);
        ReadState readState = Assert.Single(r.ReadStates);
        Assert.Equal(5UL, readState.Index);
        Assert.Equal("ctx", readState.RequestContext.ToStringUtf8());
    }

    [Fact]
    public void ReadIndex_SingleVoter_AnsweredImmediately()
    {
        Raft r = NewRaft(1, 10, 1, NewStorage(1));
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Step(ReadIndexRequest(1, 1, "ctx"));
        Assert.Single(r.ReadStates);
    }

    [Fact]
    public void ReadIndex_RetriedWithSameContext_EachRequestConfirmedByItsOwnRound()
    {
        Network network = NewCluster(ReadOnlyOption.Safe);
        network.Send(Hup(1));
        Raft leader = network[1];
        network.Ignore(MessageType.MsgHeartbeatResp);
        network.Send(ReadIndexRequest(1, 1, "same"));
        network.Send(Proposal(1, 1));
        network.Send(ReadIndexRequest(1, 1, "same"));
        Assert.Empty(leader.ReadStates);
        network.Recover();
        network.Send(new Message { From = 1, To = 1, Type = MessageType.MsgBeat });
        List<ReadState> readStates = leader.TakeReadStates();
        Assert.Equal(2, readStates.Count);
        Assert.Equal(new ulong[] { 1, 2 }, readStates.Select(s => s.Index));
    }
}
