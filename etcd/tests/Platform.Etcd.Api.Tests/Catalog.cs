using Google.Protobuf.Reflection;

namespace Platform.Etcd.Api.Tests;

/// <summary>
/// Both sides of the comparison: our generated descriptors and dotnet-etcd's, indexed by proto
/// full name, plus the differences that are deliberate.
/// </summary>
internal static class Catalog
{
    /// <summary>Our files, in dependency order.</summary>
    public static readonly FileDescriptor[] OurFiles =
    [
        Mvcc.KvReflection.Descriptor,
        Authpb.AuthReflection.Descriptor,
        RpcReflection.Descriptor,
        Lock.V3LockReflection.Descriptor,
        Election.V3ElectionReflection.Descriptor,
    ];

    /// <summary>dotnet-etcd 10.0.0's files (generated from etcd's main branch, i.e. 3.6+).</summary>
    public static readonly FileDescriptor[] TheirFiles =
    [
        global::Mvccpb.KvReflection.Descriptor,
        global::Authpb.AuthReflection.Descriptor,
        global::Etcdserverpb.RpcReflection.Descriptor,
        global::V3Lockpb.LockReflection.Descriptor,
        global::V3Electionpb.ElectionReflection.Descriptor,
    ];

    /// <summary>
    /// Messages dotnet-etcd has and we do not: all added after etcd 3.5 (3.6's downgrade info and
    /// test request; RangeStream's response from etcd main). Our protos target 3.4/3.5.
    /// </summary>
    public static readonly HashSet<string> TheirNewerMessages =
    [
        "etcdserverpb.DowngradeInfo",
        "etcdserverpb.DowngradeVersionTestRequest",
        "etcdserverpb.RangeStreamResponse",
    ];

    /// <summary>Fields dotnet-etcd has and we do not, all marked 3.6 upstream.</summary>
    public static readonly HashSet<string> TheirNewerFields =
    [
        "etcdserverpb.HashKVResponse.hash_revision",
        "etcdserverpb.SnapshotResponse.version",
        "etcdserverpb.StatusResponse.storageVersion",
        "etcdserverpb.StatusResponse.dbSizeQuota",
        "etcdserverpb.StatusResponse.downgradeInfo",
    ];

    /// <summary>Methods dotnet-etcd has and we do not: KV.RangeStream exists only on etcd main.</summary>
    public static readonly HashSet<string> TheirNewerMethods =
    [
        "etcdserverpb.KV.RangeStream",
    ];

    public static readonly IReadOnlyDictionary<string, MessageDescriptor> OurMessages = Index(OurFiles);

    public static readonly IReadOnlyDictionary<string, MessageDescriptor> TheirMessages = Index(TheirFiles);

    public static readonly IReadOnlyDictionary<string, EnumDescriptor> OurEnums = IndexEnums(OurFiles);

    public static readonly IReadOnlyDictionary<string, EnumDescriptor> TheirEnums = IndexEnums(TheirFiles);

    /// <summary>Every message full name of ours, for theories.</summary>
    public static TheoryData<string> OurMessageNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in OurMessages.Keys.Order(StringComparer.Ordinal))
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>The request and response types of every method of every service of ours.</summary>
    public static IEnumerable<MessageDescriptor> ServiceMessageTypes() =>
        OurFiles.SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .SelectMany(m => new[] { m.InputType, m.OutputType })
            .DistinctBy(d => d.FullName);

    private static Dictionary<string, MessageDescriptor> Index(FileDescriptor[] files)
    {
        var result = new Dictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        foreach (FileDescriptor file in files)
        {
            foreach (MessageDescriptor message in file.MessageTypes)
            {
                Add(result, message);
            }
        }

        return result;

        static void Add(Dictionary<string, MessageDescriptor> result, MessageDescriptor message)
        {
            result.Add(message.FullName, message);
            foreach (MessageDescriptor nested in message.NestedTypes)
            {
                Add(result, nested);
            }
        }
    }

    private static Dictionary<string, EnumDescriptor> IndexEnums(FileDescriptor[] files)
    {
        var result = new Dictionary<string, EnumDescriptor>(StringComparer.Ordinal);
        foreach (FileDescriptor file in files)
        {
            foreach (EnumDescriptor e in file.EnumTypes)
            {
                result.Add(e.FullName, e);
            }

            foreach (MessageDescriptor message in Index([file]).Values)
            {
                foreach (EnumDescriptor e in message.EnumTypes)
                {
                    result.Add(e.FullName, e);
                }
            }
        }

        return result;
    }
}
