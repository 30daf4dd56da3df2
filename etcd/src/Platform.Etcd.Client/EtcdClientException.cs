using Grpc.Core;

namespace Platform.Etcd.Client;

/// <summary>
/// An etcd request failed: <see cref="StatusCode"/> is the gRPC status, <see cref="EtcdMessage"/>
/// etcd's own text (e.g. <c>etcdserver: requested lease not found</c>). Request timeouts carry
/// <see cref="StatusCode.DeadlineExceeded"/>; unreachable clusters <see cref="StatusCode.Unavailable"/>.
/// The common etcd errors have subclasses.
/// </summary>
public class EtcdClientException : Exception
{
    public EtcdClientException()
        : this(StatusCode.Unknown, "etcd request failed")
    {
    }

    public EtcdClientException(string message)
        : this(StatusCode.Unknown, message)
    {
    }

    public EtcdClientException(string message, Exception? innerException)
        : this(StatusCode.Unknown, message, innerException)
    {
    }

    public EtcdClientException(StatusCode statusCode, string etcdMessage, Exception? innerException = null)
        : base($"{etcdMessage} (gRPC {statusCode})", innerException)
    {
        StatusCode = statusCode;
        EtcdMessage = etcdMessage;
    }

    public StatusCode StatusCode { get; }

    public string EtcdMessage { get; }
}

/// <summary>
/// The revision asked for has been compacted (<c>etcdserver: mvcc: required revision has been compacted</c>).
/// <see cref="CompactRevision"/> is the compacted revision when etcd tells it (watches), else 0.
/// </summary>
public sealed class EtcdCompactedException : EtcdClientException
{
    public const string Text = "etcdserver: mvcc: required revision has been compacted";

    public EtcdCompactedException()
        : this(0)
    {
    }

    public EtcdCompactedException(string message)
        : base(StatusCode.OutOfRange, message)
    {
    }

    public EtcdCompactedException(string message, Exception? innerException)
        : base(StatusCode.OutOfRange, message, innerException)
    {
    }

    public EtcdCompactedException(long compactRevision, Exception? innerException = null)
        : base(StatusCode.OutOfRange, compactRevision > 0 ? $"{Text} (compact revision {compactRevision})" : Text, innerException)
    {
        CompactRevision = compactRevision;
    }

    public long CompactRevision { get; }
}

/// <summary><c>etcdserver: mvcc: required revision is a future revision</c>.</summary>
public sealed class EtcdFutureRevisionException : EtcdClientException
{
    public const string Text = "etcdserver: mvcc: required revision is a future revision";

    public EtcdFutureRevisionException()
        : this(Text)
    {
    }

    public EtcdFutureRevisionException(string message)
        : base(StatusCode.OutOfRange, message)
    {
    }

    public EtcdFutureRevisionException(string message, Exception? innerException)
        : base(StatusCode.OutOfRange, message, innerException)
    {
    }
}

/// <summary><c>etcdserver: requested lease not found</c>: expired, revoked or never granted.</summary>
public sealed class EtcdLeaseNotFoundException : EtcdClientException
{
    public const string Text = "etcdserver: requested lease not found";

    public EtcdLeaseNotFoundException()
        : this(Text)
    {
    }

    public EtcdLeaseNotFoundException(string message)
        : base(StatusCode.NotFound, message)
    {
    }

    public EtcdLeaseNotFoundException(string message, Exception? innerException)
        : base(StatusCode.NotFound, message, innerException)
    {
    }
}

/// <summary><c>etcdserver: mvcc: database space exceeded</c>: the NOSPACE alarm is raised.</summary>
public sealed class EtcdNoSpaceException : EtcdClientException
{
    public const string Text = "etcdserver: mvcc: database space exceeded";

    public EtcdNoSpaceException()
        : this(Text)
    {
    }

    public EtcdNoSpaceException(string message)
        : base(StatusCode.ResourceExhausted, message)
    {
    }

    public EtcdNoSpaceException(string message, Exception? innerException)
        : base(StatusCode.ResourceExhausted, message, innerException)
    {
    }
}

/// <summary><c>etcdserver: permission denied</c>.</summary>
public sealed class EtcdPermissionDeniedException : EtcdClientException
{
    public const string Text = "etcdserver: permission denied";

    public EtcdPermissionDeniedException()
        : this(Text)
    {
    }

    public EtcdPermissionDeniedException(string message)
        : base(StatusCode.PermissionDenied, message)
    {
    }

    public EtcdPermissionDeniedException(string message, Exception? innerException)
        : base(StatusCode.PermissionDenied, message, innerException)
    {
    }
}

/// <summary>
/// <c>etcdserver: invalid auth token</c>. The client re-authenticates once by itself; this surfaces
/// only when that did not help (or the client has no credentials).
/// </summary>
public sealed class EtcdInvalidAuthTokenException : EtcdClientException
{
    public const string Text = "etcdserver: invalid auth token";

    public EtcdInvalidAuthTokenException()
        : this(Text)
    {
    }

    public EtcdInvalidAuthTokenException(string message)
        : base(StatusCode.Unauthenticated, message)
    {
    }

    public EtcdInvalidAuthTokenException(string message, Exception? innerException)
        : base(StatusCode.Unauthenticated, message, innerException)
    {
    }
}

/// <summary><c>etcdserver: authentication failed, invalid user ID or password</c>.</summary>
public sealed class EtcdAuthenticationFailedException : EtcdClientException
{
    public const string Text = "etcdserver: authentication failed, invalid user ID or password";

    public EtcdAuthenticationFailedException()
        : this(Text)
    {
    }

    public EtcdAuthenticationFailedException(string message)
        : base(StatusCode.InvalidArgument, message)
    {
    }

    public EtcdAuthenticationFailedException(string message, Exception? innerException)
        : base(StatusCode.InvalidArgument, message, innerException)
    {
    }
}
