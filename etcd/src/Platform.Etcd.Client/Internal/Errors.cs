using System.Net.Sockets;
using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

/// <summary>Classifies gRPC failures: etcd's error texts (rpctypes/error.go) and whether a request can have reached a server.</summary>
internal static class Errors
{
    /// <summary>etcd 3.4 answers a request without a token this way once auth is enabled.</summary>
    public const string UserEmpty = "etcdserver: user name is empty";

    /// <summary>etcd answers Authenticate this way when auth is disabled; the client then sends no token.</summary>
    public const string AuthNotEnabled = "etcdserver: authentication is not enabled";

    public static EtcdClientException FromRpc(RpcException exception) => FromStatus(exception.StatusCode, exception.Status.Detail, exception);

    public static EtcdClientException FromStatus(StatusCode code, string message, Exception? inner = null) => message switch
    {
        EtcdCompactedException.Text => new EtcdCompactedException(0, inner),
        EtcdFutureRevisionException.Text => new EtcdFutureRevisionException(message, inner),
        EtcdLeaseNotFoundException.Text => new EtcdLeaseNotFoundException(message, inner),
        EtcdNoSpaceException.Text => new EtcdNoSpaceException(message, inner),
        EtcdPermissionDeniedException.Text => new EtcdPermissionDeniedException(message, inner),
        EtcdInvalidAuthTokenException.Text => new EtcdInvalidAuthTokenException(message, inner),
        EtcdAuthenticationFailedException.Text => new EtcdAuthenticationFailedException(message, inner),
        _ => new EtcdClientException(code, message, inner),
    };

    /// <summary>The token was refused (stale, or missing since auth got enabled): worth one re-authentication.</summary>
    public static bool IsTokenProblem(RpcException exception) =>
        exception.Status.Detail is EtcdInvalidAuthTokenException.Text or UserEmpty;

    /// <summary>
    /// True when the failure proves the request never left this process: the TCP (or TLS) connection
    /// could not be established, or the name did not resolve. Only then may a write be sent again.
    /// </summary>
    public static bool NeverReachedServer(Exception exception)
    {
        for (Exception? e = exception is RpcException rpc ? rpc.Status.DebugException ?? rpc.InnerException : exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }:
                    return true;
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound or SocketError.TimedOut }:
                    return true;
                default:
                    break;
            }
        }

        return false;
    }

    /// <summary>A stream (watch, keep-alive) broke in a way a new stream on some endpoint may fix.</summary>
    public static bool IsTransientStreamFailure(RpcException exception) =>
        exception.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Aborted
        && !IsTokenProblem(exception);
}
