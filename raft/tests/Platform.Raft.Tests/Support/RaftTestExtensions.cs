namespace Platform.Raft.Tests;

/// <summary>Driving a bare <see cref="Raft"/> in tests, as etcd's raft_test.go does.</summary>
internal static class RaftTestExtensions
{
    /// <summary>Delivers self-addressed after-append messages (as if the unstable state were durable), queues the rest.</summary>
    public static void AdvanceMessagesAfterAppend(this Raft r)
    {
        while (true)
        {
            List<Message> messages = r.TakeMessagesAfterAppend();
            if (messages.Count == 0)
            {
                return;
            }

            foreach (Message m in messages)
            {
                if (m.To == r.Id)
                {
                    r.Step(m);
                }
                else
                {
                    r.Messages.Add(m);
                }
            }
        }
    }

    /// <summary>All outgoing messages, after delivering self-acknowledgements.</summary>
    public static List<Message> ReadMessages(this Raft r)
    {
        r.AdvanceMessagesAfterAppend();
        return r.TakeMessages();
    }

    /// <summary>Persists the unstable entries into <paramref name="storage"/>, then returns and applies the committed entries.</summary>
    public static List<Entry> NextEntries(this Raft r, MemoryStorage storage)
    {
        storage.Append(r.Log.NextUnstableEntries());
        (ulong index, ulong term) = r.Log.LastEntryId();
        r.Log.StableTo(index, term);
        r.AdvanceMessagesAfterAppend();
        var entries = r.Log.NextCommittedEntries(true).ToList();
        r.Log.AppliedTo(r.Log.Committed, 0);
        return entries;
    }

    public static void TickTimes(this Raft r, int ticks)
    {
        for (int i = 0; i < ticks; i++)
        {
            r.Tick();
        }
    }
}
