using Google.Protobuf;

namespace Platform.Raft.Tests.Wire;

/// <summary>
/// Our messages decode what etcd's raftpb (gogoproto, proto2, non-nullable fields always written,
/// repeated scalars unpacked) writes into its WAL and snapshots, and etcd decodes ours. The bytes
/// below are derived by hand from etcd's raft.proto field numbers, not produced by our code.
/// </summary>
public sealed class RaftpbWireFormatTests
{
    [Fact]
    public void Entry_EtcdBytes_Decode()
    {
        // Type=1 (EntryConfChange) field 1, Term=5 field 2, Index=7 field 3, Data="x" field 4.
        byte[] etcd = [0x08, 0x01, 0x10, 0x05, 0x18, 0x07, 0x22, 0x01, 0x78];

        Entry entry = Entry.Parser.ParseFrom(etcd);

        Assert.Equal(EntryType.EntryConfChange, entry.Type);
        Assert.Equal(5UL, entry.Term);
        Assert.Equal(7UL, entry.Index);
        Assert.Equal("x", entry.Data.ToStringUtf8());
        Assert.Equal(etcd, entry.ToByteArray());
    }

    [Fact]
    public void Entry_EtcdZeroFieldsWritten_DecodeToZero()
    {
        // gogoproto writes Type=0 and an empty Data too; proto3 parsing takes them as defaults.
        byte[] etcd = [0x10, 0x02, 0x18, 0x09, 0x08, 0x00, 0x22, 0x00];

        Entry entry = Entry.Parser.ParseFrom(etcd);

        Assert.Equal(new Entry { Term = 2, Index = 9 }, entry);
    }

    [Fact]
    public void HardState_And_ConfChange_UseEtcdNumbers()
    {
        // HardState: term 1, vote 2, commit 3.
        Assert.Equal(new HardState { Term = 3, Vote = 2, Commit = 10 }, HardState.Parser.ParseFrom([0x08, 0x03, 0x10, 0x02, 0x18, 0x0a]));

        // ConfChange: ID 1, Type 2 (ConfChangeRemoveNode = 1), NodeID 3, Context 4.
        ConfChange change = ConfChange.Parser.ParseFrom([0x08, 0x2a, 0x10, 0x01, 0x18, 0x04, 0x22, 0x01, 0x63]);
        Assert.Equal(42UL, change.Id);
        Assert.Equal(ConfChangeType.ConfChangeRemoveNode, change.Type);
        Assert.Equal(4UL, change.NodeId);
        Assert.Equal("c", change.Context.ToStringUtf8());
    }

    [Fact]
    public void Message_UsesEtcdNumbers_AndUnpackedVotersDecode()
    {
        // Message: type 1 (MsgSnap = 7), to 2, from 3, term 4, snapshot 9 { metadata 2 { conf_state 1
        // { voters 1 unpacked: 1, 2 }, index 2, term 3 } }, reject 10, rejectHint 11, context 12.
        byte[] confState = [0x08, 0x01, 0x08, 0x02];
        byte[] metadata = [0x0a, (byte)confState.Length, .. confState, 0x10, 0x64, 0x18, 0x04];
        byte[] snapshot = [0x12, (byte)metadata.Length, .. metadata];
        byte[] etcd = [0x08, 0x07, 0x10, 0x02, 0x18, 0x01, 0x20, 0x04, 0x4a, (byte)snapshot.Length, .. snapshot, 0x50, 0x01, 0x58, 0x05, 0x62, 0x01, 0x71];

        Message message = Message.Parser.ParseFrom(etcd);

        Assert.Equal(MessageType.MsgSnap, message.Type);
        Assert.Equal(2UL, message.To);
        Assert.Equal(1UL, message.From);
        Assert.Equal(4UL, message.Term);
        Assert.Equal([1UL, 2UL], message.Snapshot.Metadata.ConfState.Voters);
        Assert.Equal(100UL, message.Snapshot.Metadata.Index);
        Assert.Equal(4UL, message.Snapshot.Metadata.Term);
        Assert.True(message.Reject);
        Assert.Equal(5UL, message.RejectHint);
        Assert.Equal("q", message.Context.ToStringUtf8());
    }
}
