namespace Platform.Etcd.Client;

/// <summary>
/// The key space (etcd's KV service). Reads are linearizable unless <see cref="RangeOptions.Serializable"/>;
/// each write creates one revision. Retries: ranges fail over to the next endpoint on <c>Unavailable</c>;
/// puts, deletes, transactions and compactions are retried only when the connection could not be
/// established, so a write is never applied twice by the client. String overloads (UTF-8) are in
/// <see cref="EtcdClientExtensions"/>.
/// </summary>
public interface IKvClient
{
    /// <summary>The single key <paramref name="key"/>: <see cref="RangeResult.Kv"/> is null when it does not exist.</summary>
    public Task<RangeResult> GetAsync(byte[] key, CancellationToken cancellationToken = default);

    /// <summary>Every key starting with <paramref name="prefix"/>, in key order.</summary>
    public Task<RangeResult> GetPrefixAsync(byte[] prefix, CancellationToken cancellationToken = default);

    /// <summary>The keys of <paramref name="range"/> as <paramref name="options"/> say (default: all, latest, key order).</summary>
    /// <exception cref="EtcdCompactedException">The revision asked for has been compacted.</exception>
    /// <exception cref="EtcdFutureRevisionException">The revision asked for is newer than the store's.</exception>
    public Task<RangeResult> RangeAsync(KeyRange range, RangeOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>, attached to <paramref name="lease"/> (0: none).</summary>
    /// <remarks>With <paramref name="prevKv"/> the key's previous value comes back in <see cref="PutResult.PrevKv"/>.</remarks>
    /// <exception cref="EtcdLeaseNotFoundException">The lease does not exist.</exception>
    /// <exception cref="EtcdNoSpaceException">The backend quota is exhausted (NOSPACE alarm).</exception>
    public Task<PutResult> PutAsync(byte[] key, byte[] value, long lease = 0, bool prevKv = false, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key of <paramref name="range"/>.</summary>
    public Task<DeleteResult> DeleteAsync(KeyRange range, bool prevKv = false, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="txn"/> atomically.</summary>
    public Task<TxnResult> TxnAsync(Txn txn, CancellationToken cancellationToken = default);

    /// <summary>
    /// Discards history before <paramref name="revision"/>; reads and watches below it then fail with
    /// <see cref="EtcdCompactedException"/>. <paramref name="physical"/>: return only once the space is freed.
    /// </summary>
    public Task<ResponseHeader> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default);
}
