using Grpc.Core;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>
/// etcd's gRPC errors (etcdserver/api/v3rpc/rpctypes): status code and message text exactly as
/// etcd sends them, because clients match on the text (clientv3's rpctypes.Error, python-etcd3).
/// </summary>
internal static class RpcErrors
{
    public static RpcException EmptyKey { get; } = New(StatusCode.InvalidArgument, "etcdserver: key is not provided");

    public static RpcException KeyNotFound { get; } = New(StatusCode.InvalidArgument, "etcdserver: key not found");

    public static RpcException ValueProvided { get; } = New(StatusCode.InvalidArgument, "etcdserver: value is provided");

    public static RpcException LeaseProvided { get; } = New(StatusCode.InvalidArgument, "etcdserver: lease is provided");

    public static RpcException TooManyOps { get; } = New(StatusCode.InvalidArgument, "etcdserver: too many operations in txn request");

    public static RpcException DuplicateKey { get; } = New(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");

    public static RpcException RequestTooLarge { get; } = New(StatusCode.InvalidArgument, "etcdserver: request is too large");

    public static RpcException NoLeader { get; } = New(StatusCode.Unavailable, "etcdserver: no leader");

    public static RpcException MemberBadUrls { get; } = New(StatusCode.InvalidArgument, "etcdserver: given member URLs are invalid");

    public static RpcException New(StatusCode code, string message) => new(new Status(code, message), message);

    /// <summary>
    /// The gRPC form of an error thrown while serving: <see cref="EtcdException"/> keeps its code and
    /// text; validation errors (already <see cref="RpcException"/>) pass through; cancellation by
    /// the client becomes Canceled; anything else is Unknown with its message, as etcd's togRPCError.
    /// </summary>
    public static RpcException From(Exception exception) => exception switch
    {
        RpcException rpc => rpc,
        EtcdException etcd => New((StatusCode)(int)etcd.Code, etcd.Message),
        OperationCanceledException => New(StatusCode.Cancelled, "context canceled"),
        _ => New(StatusCode.Unknown, exception.Message),
    };
}
