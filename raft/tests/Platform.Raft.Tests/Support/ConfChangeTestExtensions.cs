using Platform.Raft.ConfChanges;

namespace Platform.Raft.Tests;

internal static class ConfChangeTestExtensions
{
    public static ConfChangeV2 AsV2Change(this ConfChange change) => change.AsV2();

    public static ConfChangeV2 V2(string changes, ConfChangeTransition transition = ConfChangeTransition.Auto)
    {
        var v2 = new ConfChangeV2 { Transition = transition };
        v2.Changes.AddRange(ConfChangeExtensions.ParseConfChanges(changes));
        return v2;
    }
}
