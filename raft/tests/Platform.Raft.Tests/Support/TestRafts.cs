using Google.Protobuf;

namespace Platform.Raft.Tests;

/// <summary>Builders for rafts, storages and entries, after etcd's raft_test.go helpers.</summary>
internal static class TestRafts
{
    /// <summary>Seed of every test Random: runs are reproducible.</summary>
    public const int Seed = 42;

    public static ulong[] Ids(int size)
    {
        var ids = new ulong[size];
        for (int i = 0; i < size; i++)
        {
            ids[i] = (ulong)i + 1;
        }

        return ids;
    }

    /// <summary>A storage whose snapshot holds the configuration: <paramref name="voters"/> and <paramref name="learners"/>.</summary>
    public static MemoryStorage NewStorage(ulong[] voters, ulong[]? learners = null)
    {
        var storage = new MemoryStorage();
        var confState = new ConfState();
        confState.Voters.AddRange(voters);
        if (learners is not null)
        {
            confState.Learners.AddRange(learners);
        }

        storage.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { ConfState = confState } });
        return storage;
    }

    public static MemoryStorage NewStorage(params ulong[] voters) => NewStorage(voters, null);

    public static RaftConfig Config(
        ulong id,
        int election,
        int heartbeat,
        IRaftStorage storage,
        bool preVote = false,
        bool checkQuorum = false,
        ReadOnlyOption readOnly = ReadOnlyOption.Safe,
        ulong maxMessageBytes = ulong.MaxValue,
        int maxInflight = 256,
        ulong maxInflightBytes = 0,
        ulong maxUncommittedBytes = 0,
        ulong maxCommittedBytesPerReady = 0,
        bool asyncStorageWrites = false,
        bool disableProposalForwarding = false,
        bool stepDownOnRemoval = false,
        bool disableConfChangeValidation = false,
        ulong applied = 0) => new()
        {
            Id = id,
            ElectionTicks = election,
            HeartbeatTicks = heartbeat,
            Storage = storage,
            PreVote = preVote,
            CheckQuorum = checkQuorum,
            ReadOnlyOption = readOnly,
            MaxMessageBytes = maxMessageBytes,
            MaxInflightMessages = maxInflight,
            MaxInflightBytes = maxInflightBytes,
            MaxUncommittedEntriesBytes = maxUncommittedBytes,
            MaxCommittedBytesPerReady = maxCommittedBytesPerReady,
            AsyncStorageWrites = asyncStorageWrites,
            DisableProposalForwarding = disableProposalForwarding,
            StepDownOnRemoval = stepDownOnRemoval,
            DisableConfChangeValidation = disableConfChangeValidation,
            Applied = applied,
            Random = new Random(Seed + (int)id),
        };

    public static Raft NewRaft(ulong id, int election, int heartbeat, IRaftStorage storage) => new(Config(id, election, heartbeat, storage));

    /// <summary>Entries with consecutive indexes from <paramref name="firstIndex"/> and the given terms.</summary>
    public static Entry[] EntriesFrom(ulong firstIndex, params ulong[] terms)
    {
        var entries = new Entry[terms.Length];
        for (int i = 0; i < terms.Length; i++)
        {
            entries[i] = new Entry { Index = firstIndex + (ulong)i, Term = terms[i] };
        }

        return entries;
    }

    public static Entry Entry(ulong index, ulong term, string? data = null) =>
        new() { Index = index, Term = term, Data = data is null ? ByteString.Empty : ByteString.CopyFromUtf8(data) };

    /// <summary>A raft whose log holds entries of the given terms (index 1..n) and whose term is the last one.</summary>
    public static Raft WithLog(ulong id, ulong[] peers, params ulong[] terms)
    {
        MemoryStorage storage = NewStorage(peers);
        storage.Append(EntriesFrom(1, terms));
        var raft = NewRaft(id, 5, 1, storage);
        raft.ResetForTest(terms.Length == 0 ? 0 : terms[^1]);
        return raft;
    }

    /// <summary>A raft that voted for <paramref name="vote"/> in <paramref name="term"/>.</summary>
    public static Raft Voted(ulong id, ulong[] peers, ulong vote, ulong term)
    {
        MemoryStorage storage = NewStorage(peers);
        storage.SetHardState(new HardState { Vote = vote, Term = term });
        var raft = NewRaft(id, 5, 1, storage);
        raft.ResetForTest(term);
        return raft;
    }

    public static Message Msg(MessageType type, ulong from = 0, ulong to = 0, ulong term = 0) => new() { Type = type, From = from, To = to, Term = term };

    public static Message Proposal(ulong from, ulong to, string data = "somedata")
    {
        var m = new Message { Type = MessageType.MsgProp, From = from, To = to };
        m.Entries.Add(new Entry { Data = ByteString.CopyFromUtf8(data) });
        return m;
    }

    public static Message Hup(ulong id) => new() { Type = MessageType.MsgHup, From = id, To = id };

    /// <summary>The MsgAppResp accepting <paramref name="m"/> (a MsgApp).</summary>
    public static Message AcceptAndReply(Message m)
    {
        Assert.Equal(MessageType.MsgApp, m.Type);
        return new Message { From = m.To, To = m.From, Term = m.Term, Type = MessageType.MsgAppResp, Index = m.Index + (ulong)m.Entries.Count };
    }

    /// <summary>As a new leader: replicate the empty entry of its term to everyone and commit it.</summary>
    public static void CommitNoopEntry(Raft r, MemoryStorage storage)
    {
        Assert.Equal(StateType.Leader, r.State);
        r.BroadcastAppendForTest();
        foreach (Message m in r.ReadMessages())
        {
            Assert.True(m.Type == MessageType.MsgApp && m.Entries.Count == 1 && m.Entries[0].Data.IsEmpty, "not a message to append noop entry");
            r.Step(AcceptAndReply(m));
        }

        r.ReadMessages();
        storage.Append(r.Log.NextUnstableEntries());
        r.Log.AppliedTo(r.Log.Committed, 0);
        (ulong index, ulong term) = r.Log.LastEntryId();
        r.Log.StableTo(index, term);
    }
}
