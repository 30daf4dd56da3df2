using Google.Protobuf;
using Platform.Raft.ConfChanges;

namespace Platform.Raft.Tests.ConfChanges;

public class ConfChangeExtensionsTests
{
    private static ConfChangeV2 V2(ConfChangeTransition transition, string changes)
    {
        var cc = new ConfChangeV2 { Transition = transition };
        cc.Changes.AddRange(ConfChangeExtensions.ParseConfChanges(changes));
        return cc;
    }

    [Fact]
    public void AsV2_V1Change_OneChangeAutoTransitionSameContext()
    {
        var v1 = new ConfChange { Type = ConfChangeType.ConfChangeAddLearnerNode, NodeId = 7, Id = 3, Context = ByteString.CopyFromUtf8("ctx") };

        ConfChangeV2 v2 = v1.AsV2();

        Assert.Equal(ConfChangeTransition.Auto, v2.Transition);
        Assert.Equal("l7", v2.Changes.FormatConfChanges());
        Assert.Equal("ctx", v2.Context.ToStringUtf8());
        Assert.False(v2.TryEnterJoint(out _));
        Assert.False(v2.LeavesJoint());
    }

    [Theory]
    [InlineData(ConfChangeTransition.Auto, "", false, false)]
    [InlineData(ConfChangeTransition.Auto, "v1", false, false)]
    [InlineData(ConfChangeTransition.Auto, "v1 v2", true, true)]
    [InlineData(ConfChangeTransition.JointImplicit, "", true, true)]
    [InlineData(ConfChangeTransition.JointImplicit, "v1", true, true)]
    [InlineData(ConfChangeTransition.JointExplicit, "v1", true, false)]
    [InlineData(ConfChangeTransition.JointExplicit, "v1 r2", true, false)]
    public void TryEnterJoint_ByTransitionAndCount_JointUnlessSimple(ConfChangeTransition transition, string changes, bool expectedJoint, bool expectedAutoLeave)
    {
        bool joint = V2(transition, changes).TryEnterJoint(out bool autoLeave);

        Assert.Equal(expectedJoint, joint);
        Assert.Equal(expectedAutoLeave, autoLeave);
    }

    [Theory]
    [InlineData(ConfChangeTransition.Auto, "", true)]
    [InlineData(ConfChangeTransition.Auto, "v1", false)]
    [InlineData(ConfChangeTransition.JointImplicit, "", false)]
    [InlineData(ConfChangeTransition.JointExplicit, "", false)]
    public void LeavesJoint_ByTransitionAndCount_OnlyEmptyAuto(ConfChangeTransition transition, string changes, bool expected) =>
        Assert.Equal(expected, V2(transition, changes).LeavesJoint());

    [Fact]
    public void LeavesJoint_EmptyWithContext_StillLeaves()
    {
        ConfChangeV2 cc = V2(ConfChangeTransition.Auto, "");
        cc.Context = ByteString.CopyFromUtf8("x");

        Assert.True(cc.LeavesJoint());
    }

    [Fact]
    public void ParseConfChanges_AllKinds_TypesAndIds()
    {
        IReadOnlyList<ConfChangeSingle> changes = ConfChangeExtensions.ParseConfChanges("  v1 l2\tr3 u4 v18446744073709551615 ");

        Assert.Equal(
            [
                (ConfChangeType.ConfChangeAddNode, 1UL),
                (ConfChangeType.ConfChangeAddLearnerNode, 2UL),
                (ConfChangeType.ConfChangeRemoveNode, 3UL),
                (ConfChangeType.ConfChangeUpdateNode, 4UL),
                (ConfChangeType.ConfChangeAddNode, ulong.MaxValue),
            ],
            changes.Select(c => (c.Type, c.NodeId)));
        Assert.Equal("v1 l2 r3 u4 v18446744073709551615", changes.FormatConfChanges());
    }

    [Fact]
    public void ParseConfChanges_Blank_Empty() => Assert.Empty(ConfChangeExtensions.ParseConfChanges("  \n"));

    [Theory]
    [InlineData("x1")]
    [InlineData("v")]
    [InlineData("v-1")]
    [InlineData("vv1")]
    [InlineData("v1,l2")]
    public void ParseConfChanges_Malformed_Throws(string text) =>
        Assert.Throws<FormatException>(() => ConfChangeExtensions.ParseConfChanges(text));
}
