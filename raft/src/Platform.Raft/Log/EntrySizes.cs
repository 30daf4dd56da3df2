namespace Platform.Raft;

/// <summary>
/// Entry size accounting, in etcd's two units: the encoded size (what an entry costs on the wire
/// and on disk; used for message and Ready limits) and the payload size (just the data; used
/// for the uncommitted-tail limit, so an empty entry costs 0 and can never be refused).
/// </summary>
internal static class EntrySizes
{
    /// <summary>Limit meaning "unbounded" (etcd's noLimit).</summary>
    public const ulong NoLimit = ulong.MaxValue;

    public static ulong EncodedBytes(Entry entry) => (ulong)entry.CalculateSize();

    public static ulong EncodedBytes(IReadOnlyList<Entry> entries)
    {
        ulong bytes = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            bytes += (ulong)entries[i].CalculateSize();
        }

        return bytes;
    }

    public static ulong PayloadBytes(Entry entry) => (ulong)entry.Data.Length;

    public static ulong PayloadBytes(IReadOnlyList<Entry> entries)
    {
        ulong bytes = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            bytes += (ulong)entries[i].Data.Length;
        }

        return bytes;
    }

    /// <summary>
    /// The length of the longest prefix of <paramref name="entries"/> whose encoded size does not
    /// exceed <paramref name="maxBytes"/>; at least 1 when the list is not empty, even if the first
    /// entry alone exceeds the limit.
    /// </summary>
    public static int LimitCount(IReadOnlyList<Entry> entries, ulong maxBytes)
    {
        int count = entries.Count;
        if (count == 0)
        {
            return 0;
        }

        ulong bytes = EncodedBytes(entries[0]);
        for (int limit = 1; limit < count; limit++)
        {
            bytes += EncodedBytes(entries[limit]);
            if (bytes > maxBytes)
            {
                return limit;
            }
        }

        return count;
    }

    /// <summary><see cref="LimitCount"/> applied to an array segment, without copying.</summary>
    public static ArraySegment<Entry> Limit(ArraySegment<Entry> entries, ulong maxBytes)
    {
        if (entries.Count <= 1 || maxBytes == NoLimit)
        {
            return entries;
        }

        ReadOnlySpan<Entry> span = entries;
        ulong bytes = EncodedBytes(span[0]);
        for (int limit = 1; limit < span.Length; limit++)
        {
            bytes += EncodedBytes(span[limit]);
            if (bytes > maxBytes)
            {
                return entries.Slice(0, limit);
            }
        }

        return entries;
    }
}
