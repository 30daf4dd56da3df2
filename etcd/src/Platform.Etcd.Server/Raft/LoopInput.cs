using Google.Protobuf;
using Platform.Raft;

namespace Platform.Etcd.Server.Raft;

/// <summary>Work for the raft loop; everything that touches the RawNode arrives as one of these.</summary>
internal abstract record LoopInput;

/// <summary>A serialized InternalRaftRequest to propose; batched with its neighbours into one MsgProp.</summary>
internal sealed record ProposeInput(ByteString Data, ulong RequestId) : LoopInput;

/// <summary>A conf change to propose; the waiter registered under <paramref name="RequestId"/> hears the outcome.</summary>
internal sealed record ConfChangeInput(ConfChange Change, ulong RequestId) : LoopInput;

internal sealed record TickInput : LoopInput
{
    public static TickInput Instance { get; } = new();
}

/// <summary>A linearizable read wants a read index (the batcher decides whether one is in flight).</summary>
internal sealed record ReadIndexInput : LoopInput
{
    public static ReadIndexInput Instance { get; } = new();
}

internal sealed record StepInput(Message Message) : LoopInput;

internal sealed record UnreachableInput(ulong MemberId) : LoopInput;

/// <summary>Runs <paramref name="Action"/> on the loop thread (status queries, leader transfer).</summary>
internal sealed record ActionInput(Action<RawNode> Action) : LoopInput;
