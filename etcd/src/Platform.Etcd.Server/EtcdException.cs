namespace Platform.Etcd.Server;

/// <summary>
/// An error etcd clients know by its exact text (etcd's rpctypes): the API layer maps
/// <see cref="Code"/> to the gRPC status code and sends <see cref="Exception.Message"/> as the
/// status detail, so clients (etcdctl, python3-etcd3, dotnet-etcd) recognise it.
/// </summary>
public sealed class EtcdException : Exception
{
    public EtcdException()
    {
    }

    public EtcdException(string message)
        : base(message)
    {
    }

    public EtcdException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EtcdException(EtcdErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>The gRPC status code etcd uses for this error.</summary>
    public EtcdErrorCode Code { get; } = EtcdErrorCode.Unknown;
}

/// <summary>gRPC status codes, without a dependency on a gRPC package (values equal grpc's).</summary>
public enum EtcdErrorCode
{
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    OutOfRange = 11,
    Unimplemented = 12,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}
