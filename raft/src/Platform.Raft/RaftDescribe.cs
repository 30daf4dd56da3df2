using System.Globalization;
using System.Text;
using Google.Protobuf;

namespace Platform.Raft;

/// <summary>
/// Stable one-line text forms of raft's types, in the style of etcd-io/raft's util.go, for logs,
/// traces and golden scenario files. The format is part of the contract of those files: change
/// it only together with them.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><description>Message: <c>from->to Type Term:t Log:logTerm/index</c>, then, when set,
/// <c> Rejected (Hint: h)</c>, <c> Commit:c</c>, <c> Vote:v</c>, <c> Entries:[...]</c> (one entry
/// inline, several one per indented line), a snapshot on its own indented line
/// (<c>Snapshot: Index:i Term:t ConfState:...</c>) and <c> Responses:[...]</c> (nested messages,
/// indented). Node ids are hexadecimal as in etcd; 0 prints as <c>None</c>, the local threads as
/// <c>AppendThread</c> and <c>ApplyThread</c>. Example:
/// <c>1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal "foo"]</c>.</description></item>
/// <item><description>Entry: <c>term/index Type data</c>; normal data is double-quoted with Go's
/// escapes (printable ASCII as is, <c>\" \\ \n \t \r</c>, other bytes <c>\xNN</c>); config changes print
/// as their changes, e.g. <c>v2 l3 r4 u5</c> (voter, learner, remove, update); an empty payload
/// prints nothing after the type.</description></item>
/// <item><description>HardState: <c>Term:t Vote:v Commit:c</c> (Vote omitted when 0). SoftState:
/// <c>Lead:l State:StateFollower</c>. ConfState:
/// <c>Voters:[1 2] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false</c>.</description></item>
/// <item><description>Ready: <c>Ready MustSync=b:</c> followed by one section per non-empty
/// field, in the order SoftState, HardState, ReadStates, Entries, Snapshot, CommittedEntries,
/// Messages; <c>&lt;empty Ready&gt;</c> when there is nothing.</description></item>
/// </list>
/// </remarks>
public static class RaftDescribe
{
    /// <summary>Formats entry payloads; null uses the quoted default.</summary>
    public delegate string EntryFormatter(ByteString data);

    public static string DescribeHardState(HardState hardState)
    {
        ArgumentNullException.ThrowIfNull(hardState);
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"Term:{hardState.Term}");
        if (hardState.Vote != 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $" Vote:{hardState.Vote}");
        }

        builder.Append(CultureInfo.InvariantCulture, $" Commit:{hardState.Commit}");
        return builder.ToString();
    }

    public static string DescribeSoftState(SoftState softState)
    {
        ArgumentNullException.ThrowIfNull(softState);
        return string.Create(CultureInfo.InvariantCulture, $"Lead:{softState.Lead} State:{DescribeStateType(softState.RaftState)}");
    }

    /// <summary>etcd's names: StateFollower, StateCandidate, StateLeader, StatePreCandidate.</summary>
    public static string DescribeStateType(StateType state) => "State" + state.ToString();

    public static string DescribeConfState(ConfState confState)
    {
        ArgumentNullException.ThrowIfNull(confState);
        return $"Voters:{Ids(confState.Voters)} VotersOutgoing:{Ids(confState.VotersOutgoing)} Learners:{Ids(confState.Learners)} LearnersNext:{Ids(confState.LearnersNext)} AutoLeave:{Bool(confState.AutoLeave)}";
    }

    public static string DescribeSnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        SnapshotMetadata metadata = snapshot.Metadata ?? new SnapshotMetadata();
        return string.Create(CultureInfo.InvariantCulture, $"Index:{metadata.Index} Term:{metadata.Term} ConfState:{DescribeConfState(metadata.ConfState ?? new ConfState())}");
    }

    public static string DescribeReadState(ReadState readState)
    {
        ArgumentNullException.ThrowIfNull(readState);
        return string.Create(CultureInfo.InvariantCulture, $"{{Index:{readState.Index} RequestContext:{Quote(readState.RequestContext)}}}");
    }

    public static string DescribeReady(Ready ready, EntryFormatter? formatter = null)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var builder = new StringBuilder();
        if (ready.SoftState is not null)
        {
            builder.Append(DescribeSoftState(ready.SoftState)).Append('\n');
        }

        if (ready.HardState is not null)
        {
            builder.Append("HardState ").Append(DescribeHardState(ready.HardState)).Append('\n');
        }

        if (ready.ReadStates.Count > 0)
        {
            builder.Append("ReadStates [");
            for (int i = 0; i < ready.ReadStates.Count; i++)
            {
                if (i > 0)
                {
                    builder.Append(' ');
                }

                builder.Append(DescribeReadState(ready.ReadStates[i]));
            }

            builder.Append("]\n");
        }

        if (ready.Entries.Count > 0)
        {
            builder.Append("Entries:\n").Append(DescribeEntries(ready.Entries, formatter));
        }

        if (ready.Snapshot is not null)
        {
            builder.Append("Snapshot ").Append(DescribeSnapshot(ready.Snapshot)).Append('\n');
        }

        if (ready.CommittedEntries.Count > 0)
        {
            builder.Append("CommittedEntries:\n").Append(DescribeEntries(ready.CommittedEntries, formatter));
        }

        if (ready.Messages.Count > 0)
        {
            builder.Append("Messages:\n");
            foreach (Message message in ready.Messages)
            {
                builder.Append(DescribeMessage(message, formatter)).Append('\n');
            }
        }

        return builder.Length > 0 ? $"Ready MustSync={Bool(ready.MustSync)}:\n{builder}" : "<empty Ready>";
    }

    public static string DescribeMessage(Message message, EntryFormatter? formatter = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var builder = new StringBuilder();
        AppendMessage(builder, string.Empty, message, formatter);
        return builder.ToString();
    }

    public static string DescribeTarget(ulong id) => id switch
    {
        RaftConstants.None => "None",
        RaftConstants.LocalAppendThread => "AppendThread",
        RaftConstants.LocalApplyThread => "ApplyThread",
        _ => id.ToString("x", CultureInfo.InvariantCulture),
    };

    public static string DescribeEntry(Entry entry, EntryFormatter? formatter = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string formatted = entry.Type switch
        {
            EntryType.EntryNormal => formatter is null ? Quote(entry.Data) : formatter(entry.Data),
            EntryType.EntryConfChange => TryParse(ConfChange.Parser, entry.Data, out ConfChange? cc, out string error) ? DescribeConfChanges(cc!) : error,
            EntryType.EntryConfChangeV2 => TryParse(ConfChangeV2.Parser, entry.Data, out ConfChangeV2? cc2, out string error2) ? DescribeConfChanges(cc2!) : error2,
            _ => string.Empty,
        };
        if (formatted.Length > 0)
        {
            formatted = " " + formatted;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{entry.Term}/{entry.Index} {entry.Type}{formatted}");
    }

    /// <summary>One <see cref="DescribeEntry"/> per line, each line ending with a newline.</summary>
    public static string DescribeEntries(IReadOnlyList<Entry> entries, EntryFormatter? formatter = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var builder = new StringBuilder();
        foreach (Entry entry in entries)
        {
            builder.Append(DescribeEntry(entry, formatter)).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>A V1 change as its single step, e.g. <c>v2</c>.</summary>
    public static string DescribeConfChanges(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return DescribeChange(change.Type, change.NodeId);
    }

    /// <summary>The steps of a V2 change separated by spaces, e.g. <c>v2 l3 r4</c>; empty for a leave-joint change.</summary>
    public static string DescribeConfChanges(ConfChangeV2 change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var builder = new StringBuilder();
        foreach (ConfChangeSingle single in change.Changes)
        {
            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            builder.Append(DescribeChange(single.Type, single.NodeId));
        }

        return builder.ToString();
    }

    /// <summary>Go's %q for bytes: printable ASCII as is, common escapes, other bytes as \xNN.</summary>
    public static string Quote(ByteString data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var builder = new StringBuilder(data.Length + 2);
        builder.Append('"');
        foreach (byte b in data.Span)
        {
            switch (b)
            {
                case (byte)'"':
                    builder.Append("\\\"");
                    break;
                case (byte)'\\':
                    builder.Append("\\\\");
                    break;
                case (byte)'\n':
                    builder.Append("\\n");
                    break;
                case (byte)'\t':
                    builder.Append("\\t");
                    break;
                case (byte)'\r':
                    builder.Append("\\r");
                    break;
                case >= 0x20 and < 0x7f:
                    builder.Append((char)b);
                    break;
                default:
                    builder.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
                    break;
            }
        }

        builder.Append('"');
        return builder.ToString();
    }

    private static void AppendMessage(StringBuilder builder, string indent, Message m, EntryFormatter? formatter)
    {
        builder.Append(CultureInfo.InvariantCulture, $"{indent}{DescribeTarget(m.From)}->{DescribeTarget(m.To)} {m.Type} Term:{m.Term} Log:{m.LogTerm}/{m.Index}");
        if (m.Reject)
        {
            builder.Append(CultureInfo.InvariantCulture, $" Rejected (Hint: {m.RejectHint})");
        }

        if (m.Commit != 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $" Commit:{m.Commit}");
        }

        if (m.Vote != 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $" Vote:{m.Vote}");
        }

        if (m.Entries.Count == 1)
        {
            builder.Append(" Entries:[").Append(DescribeEntry(m.Entries[0], formatter)).Append(']');
        }
        else if (m.Entries.Count > 1)
        {
            builder.Append(" Entries:[");
            foreach (Entry entry in m.Entries)
            {
                builder.Append('\n').Append(indent).Append("  ").Append(DescribeEntry(entry, formatter));
            }

            builder.Append('\n').Append(indent).Append(']');
        }

        if (m.Snapshot is not null && !RaftHelpers.IsEmptySnapshot(m.Snapshot))
        {
            builder.Append('\n').Append(indent).Append("  Snapshot: ").Append(DescribeSnapshot(m.Snapshot));
        }

        if (m.Responses.Count > 0)
        {
            builder.Append(" Responses:[");
            foreach (Message response in m.Responses)
            {
                builder.Append('\n');
                AppendMessage(builder, indent + "  ", response, formatter);
            }

            builder.Append('\n').Append(indent).Append(']');
        }
    }

    private static string DescribeChange(ConfChangeType type, ulong nodeId)
    {
        char prefix = type switch
        {
            ConfChangeType.ConfChangeAddNode => 'v',
            ConfChangeType.ConfChangeAddLearnerNode => 'l',
            ConfChangeType.ConfChangeRemoveNode => 'r',
            ConfChangeType.ConfChangeUpdateNode => 'u',
            _ => '?',
        };
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}{nodeId}");
    }

    private static bool TryParse<T>(MessageParser<T> parser, ByteString data, out T? value, out string error)
        where T : IMessage<T>
    {
        try
        {
            value = parser.ParseFrom(data);
            error = string.Empty;
            return true;
        }
        catch (InvalidProtocolBufferException e)
        {
            value = default;
            error = e.Message;
            return false;
        }
    }

    private static string Ids(IEnumerable<ulong> ids) => "[" + string.Join(' ', ids) + "]";

    private static string Bool(bool value) => value ? "true" : "false";
}
