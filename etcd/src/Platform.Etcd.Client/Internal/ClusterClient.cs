
namespace Platform.Etcd.Client.Internal;

internal sealed class ClusterClient(Connection connection) : IClusterClient
{
    public async Task<MemberListResult> MemberListAsync(CancellationToken cancellationToken = default)
    {
        Api.MemberListResponse response = await connection.CallAsync(
            (e, o) => e.Cluster.MemberListAsync(new Api.MemberListRequest(), o).ResponseAsync, Retry.Read, cancellationToken).ConfigureAwait(false);
        return new MemberListResult(Proto.Header(response.Header), Proto.Members(response.Members));
    }

    public async Task<MemberAddResult> MemberAddAsync(IReadOnlyList<string> peerUrls, bool isLearner = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peerUrls);
        var request = new Api.MemberAddRequest { IsLearner = isLearner };
        request.PeerURLs.AddRange(peerUrls);
        Api.MemberAddResponse response = await connection.CallAsync(
            (e, o) => e.Cluster.MemberAddAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return new MemberAddResult(Proto.Header(response.Header), Proto.Member(response.Member), Proto.Members(response.Members));
    }

    public async Task<MemberListResult> MemberRemoveAsync(ulong id, CancellationToken cancellationToken = default)
    {
        var request = new Api.MemberRemoveRequest { ID = id };
        Api.MemberRemoveResponse response = await connection.CallAsync(
            (e, o) => e.Cluster.MemberRemoveAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return new MemberListResult(Proto.Header(response.Header), Proto.Members(response.Members));
    }

    public async Task<MemberListResult> MemberUpdateAsync(ulong id, IReadOnlyList<string> peerUrls, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peerUrls);
        var request = new Api.MemberUpdateRequest { ID = id };
        request.PeerURLs.AddRange(peerUrls);
        Api.MemberUpdateResponse response = await connection.CallAsync(
            (e, o) => e.Cluster.MemberUpdateAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return new MemberListResult(Proto.Header(response.Header), Proto.Members(response.Members));
    }

    public async Task<MemberListResult> MemberPromoteAsync(ulong id, CancellationToken cancellationToken = default)
    {
        var request = new Api.MemberPromoteRequest { ID = id };
        Api.MemberPromoteResponse response = await connection.CallAsync(
            (e, o) => e.Cluster.MemberPromoteAsync(request, o).ResponseAsync, Retry.Write, cancellationToken).ConfigureAwait(false);
        return new MemberListResult(Proto.Header(response.Header), Proto.Members(response.Members));
    }
}
