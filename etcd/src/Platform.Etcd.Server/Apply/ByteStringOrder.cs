using Google.Protobuf;

namespace Platform.Etcd.Server.Apply;

/// <summary>Orders byte strings bytewise (etcd's key order).</summary>
internal sealed class ByteStringOrder : IComparer<ByteString>
{
    public static ByteStringOrder Instance { get; } = new();

    public int Compare(ByteString? x, ByteString? y)
    {
        ReadOnlySpan<byte> a = x is null ? default : x.Span;
        ReadOnlySpan<byte> b = y is null ? default : y.Span;
        return a.SequenceCompareTo(b);
    }
}
