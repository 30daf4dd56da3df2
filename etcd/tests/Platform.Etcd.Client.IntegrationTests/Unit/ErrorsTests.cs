using System.Net.Sockets;
using Grpc.Core;
using Platform.Etcd.Client.Internal;

namespace Platform.Etcd.Client.IntegrationTests.Unit;

/// <summary>Which failures let a write be sent again, and which etcd texts become which exception.</summary>
public sealed class ErrorsTests
{
    [Fact]
    public void NeverReachedServer_ConnectionRefused_IsTrue()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));

        Assert.True(Errors.NeverReachedServer(new RpcException(new Status(StatusCode.Unavailable, "Error starting gRPC call", refused))));
    }

    [Fact]
    public void NeverReachedServer_ConnectionDroppedMidRequest_IsFalse()
    {
        var dropped = new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely", new IOException("reset"));

        Assert.False(Errors.NeverReachedServer(new RpcException(new Status(StatusCode.Unavailable, "Error reading next message", dropped))));
        Assert.False(Errors.NeverReachedServer(new RpcException(new Status(StatusCode.Unavailable, "etcdserver: leader changed"))));
    }

    [Theory]
    [InlineData("etcdserver: mvcc: required revision has been compacted", typeof(EtcdCompactedException))]
    [InlineData("etcdserver: mvcc: required revision is a future revision", typeof(EtcdFutureRevisionException))]
    [InlineData("etcdserver: requested lease not found", typeof(EtcdLeaseNotFoundException))]
    [InlineData("etcdserver: mvcc: database space exceeded", typeof(EtcdNoSpaceException))]
    [InlineData("etcdserver: permission denied", typeof(EtcdPermissionDeniedException))]
    [InlineData("etcdserver: invalid auth token", typeof(EtcdInvalidAuthTokenException))]
    [InlineData("etcdserver: authentication failed, invalid user ID or password", typeof(EtcdAuthenticationFailedException))]
    [InlineData("etcdserver: too many operations in txn request", typeof(EtcdClientException))]
    public void FromRpc_EtcdText_MapsToTypedException(string text, Type expected)
    {
        EtcdClientException mapped = Errors.FromRpc(new RpcException(new Status(StatusCode.InvalidArgument, text)));

        Assert.IsType(expected, mapped);
        Assert.Equal(text, mapped.EtcdMessage);
    }
}
