namespace Platform.Etcd.Server;

/// <summary>etcd's client-visible errors (rpctypes/error.go), with their texts and gRPC codes.</summary>
internal static class EtcdErrors
{
    public static EtcdException EmptyKey => new(EtcdErrorCode.InvalidArgument, "etcdserver: key is not provided");

    public static EtcdException KeyNotFound => new(EtcdErrorCode.InvalidArgument, "etcdserver: key not found");

    public static EtcdException ValueProvided => new(EtcdErrorCode.InvalidArgument, "etcdserver: value is provided");

    public static EtcdException LeaseProvided => new(EtcdErrorCode.InvalidArgument, "etcdserver: lease is provided");

    public static EtcdException TooManyOps => new(EtcdErrorCode.InvalidArgument, "etcdserver: too many operations in txn request");

    public static EtcdException DuplicateKey => new(EtcdErrorCode.InvalidArgument, "etcdserver: duplicate key given in txn request");

    public static EtcdException Compacted => new(EtcdErrorCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");

    public static EtcdException FutureRev => new(EtcdErrorCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");

    public static EtcdException NoSpace => new(EtcdErrorCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");

    public static EtcdException LeaseNotFound => new(EtcdErrorCode.NotFound, "etcdserver: requested lease not found");

    public static EtcdException LeaseExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: lease already exists");

    public static EtcdException LeaseTtlTooLarge => new(EtcdErrorCode.OutOfRange, "etcdserver: too large lease TTL");

    public static EtcdException MemberExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: member ID already exist");

    public static EtcdException PeerUrlExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: Peer URLs already exists");

    public static EtcdException MemberBadUrls => new(EtcdErrorCode.InvalidArgument, "etcdserver: given member URLs are invalid");

    public static EtcdException MemberNotFound => new(EtcdErrorCode.NotFound, "etcdserver: member not found");

    public static EtcdException MemberNotLearner => new(EtcdErrorCode.FailedPrecondition, "etcdserver: can only promote a learner member");

    public static EtcdException LearnerNotReady => new(EtcdErrorCode.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader");

    public static EtcdException TooManyLearners => new(EtcdErrorCode.FailedPrecondition, "etcdserver: too many learner members in cluster");

    public static EtcdException IdRemoved => new(EtcdErrorCode.Unknown, "membership: ID removed");

    public static EtcdException RequestTooLarge => new(EtcdErrorCode.InvalidArgument, "etcdserver: request is too large");

    public static EtcdException RootUserNotExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: root user does not exist");

    public static EtcdException RootRoleNotExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: root user does not have root role");

    public static EtcdException UserAlreadyExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: user name already exists");

    public static EtcdException UserEmpty => new(EtcdErrorCode.InvalidArgument, "etcdserver: user name is empty");

    public static EtcdException UserNotFound => new(EtcdErrorCode.FailedPrecondition, "etcdserver: user name not found");

    public static EtcdException RoleAlreadyExist => new(EtcdErrorCode.FailedPrecondition, "etcdserver: role name already exists");

    public static EtcdException RoleNotFound => new(EtcdErrorCode.FailedPrecondition, "etcdserver: role name not found");

    public static EtcdException RoleEmpty => new(EtcdErrorCode.InvalidArgument, "etcdserver: role name is empty");

    public static EtcdException AuthFailed => new(EtcdErrorCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");

    public static EtcdException PermissionDenied => new(EtcdErrorCode.PermissionDenied, "etcdserver: permission denied");

    public static EtcdException RoleNotGranted => new(EtcdErrorCode.FailedPrecondition, "etcdserver: role is not granted to the user");

    public static EtcdException PermissionNotGranted => new(EtcdErrorCode.FailedPrecondition, "etcdserver: permission is not granted to the role");

    public static EtcdException AuthNotEnabled => new(EtcdErrorCode.FailedPrecondition, "etcdserver: authentication is not enabled");

    public static EtcdException InvalidAuthToken => new(EtcdErrorCode.Unauthenticated, "etcdserver: invalid auth token");

    public static EtcdException InvalidAuthMgmt => new(EtcdErrorCode.InvalidArgument, "etcdserver: invalid auth management");

    public static EtcdException AuthOldRevision => new(EtcdErrorCode.InvalidArgument, "etcdserver: revision of auth store is old");

    public static EtcdException NoLeader => new(EtcdErrorCode.Unavailable, "etcdserver: no leader");

    public static EtcdException NotLeader => new(EtcdErrorCode.FailedPrecondition, "etcdserver: not leader");

    public static EtcdException Stopped => new(EtcdErrorCode.Unavailable, "etcdserver: server stopped");

    public static EtcdException Timeout => new(EtcdErrorCode.Unavailable, "etcdserver: request timed out");

    public static EtcdException TimeoutDueToLeaderFail => new(EtcdErrorCode.Unavailable, "etcdserver: request timed out, possibly due to previous leader failure");

    public static EtcdException LeaderChanged => new(EtcdErrorCode.Unavailable, "etcdserver: leader changed");

    public static EtcdException MemberRemoved => new(EtcdErrorCode.Unavailable, "etcdserver: the member has been permanently removed from the cluster");

    public static EtcdException UnhealthyCluster => new(EtcdErrorCode.Unavailable, "etcdserver: unhealthy cluster");

    public static EtcdException BadLeaderTransferee => new(EtcdErrorCode.FailedPrecondition, "etcdserver: bad leader transferee");

    public static EtcdException NotSupportedForLearner => new(EtcdErrorCode.Unavailable, "etcdserver: rpc not supported for learner");

    public static EtcdException Unimplemented(string what) => new(EtcdErrorCode.Unimplemented, $"etcdserver: {what} not implemented yet");
}
