namespace Platform.Etcd.Server.Raft;

/// <summary>
/// etcd's idutil.Generator: unique request ids across members and restarts. The top 16 bits are
/// the low 16 bits of the member id; the low 48 bits start at the current time in milliseconds
/// (low 40 bits, shifted left by 8) and count up, so a restart more than a millisecond later
/// never reuses an id.
/// </summary>
internal sealed class RequestIdGenerator
{
    private const int SuffixBits = 48;
    private const ulong SuffixMask = (1UL << SuffixBits) - 1;
    private readonly ulong _prefix;
    private long _suffix;

    public RequestIdGenerator(ulong memberId, DateTimeOffset now)
    {
        _prefix = (memberId & 0xFFFF) << SuffixBits;
        ulong millis = (ulong)now.ToUnixTimeMilliseconds() & ((1UL << 40) - 1);
        _suffix = (long)(millis << 8);
    }

    public ulong Next()
    {
        ulong suffix = (ulong)Interlocked.Increment(ref _suffix);
        return _prefix | (suffix & SuffixMask);
    }
}
