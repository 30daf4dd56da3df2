using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Platform.Etcd.Api.Tests;

/// <summary>
/// Our etcdserverpb/mvccpb/authpb/v3lockpb/v3electionpb against dotnet-etcd's independently
/// generated classes: descriptors, gRPC method paths, and binary round trips in both directions.
/// </summary>
public sealed class WireCompatibilityTests
{
    // Compare.target_union has five cases, the most of any oneof: five variants cover them all.
    private const int Variants = 5;

    public static TheoryData<string> MessageNames => Catalog.OurMessageNames();

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Descriptor_OurMessage_MatchesDotnetEtcdFieldByField(string messageName)
    {
        MessageDescriptor ours = Catalog.OurMessages[messageName];
        Assert.True(Catalog.TheirMessages.TryGetValue(messageName, out MessageDescriptor? theirs), $"dotnet-etcd has no {messageName}");

        foreach (FieldDescriptor field in ours.Fields.InFieldNumberOrder())
        {
            FieldDescriptor? other = theirs.FindFieldByNumber(field.FieldNumber);
            Assert.True(other is not null, $"{field.FullName} = {field.FieldNumber}: dotnet-etcd has no field with that number");
            Assert.Equal(Describe(field), Describe(other));
        }

        foreach (FieldDescriptor field in theirs.Fields.InFieldNumberOrder())
        {
            if (ours.FindFieldByNumber(field.FieldNumber) is null)
            {
                Assert.True(Catalog.TheirNewerFields.Contains(field.FullName), $"we lack {field.FullName} = {field.FieldNumber}, and it is not a known post-3.5 addition");
            }
        }
    }

    [Fact]
    public void Descriptor_DotnetEtcdMessages_AreOursOrKnownNewerAdditions()
    {
        string[] missing = Catalog.TheirMessages.Keys
            .Where(name => !Catalog.OurMessages.ContainsKey(name) && !Catalog.TheirNewerMessages.Contains(name))
            .ToArray();

        Assert.Empty(missing);
        // Keep the allow-lists honest: each entry must still describe a real difference.
        Assert.All(Catalog.TheirNewerMessages, name => Assert.False(Catalog.OurMessages.ContainsKey(name), name));
        Assert.All(Catalog.TheirNewerMessages, name => Assert.True(Catalog.TheirMessages.ContainsKey(name), name));
    }

    [Fact]
    public void Descriptor_Enums_HaveTheSameNamesAndNumbersAsDotnetEtcd()
    {
        Assert.Equal(Catalog.OurEnums.Keys.Order(StringComparer.Ordinal), Catalog.TheirEnums.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, EnumDescriptor ours) in Catalog.OurEnums)
        {
            EnumDescriptor theirs = Catalog.TheirEnums[name];
            Assert.Equal(ours.Values.Select(v => $"{v.Name}={v.Number}"), theirs.Values.Select(v => $"{v.Name}={v.Number}"));
        }
    }

    [Fact]
    public void Descriptor_Services_MatchDotnetEtcdMethodByMethod()
    {
        ServiceDescriptor[] ours = Catalog.OurFiles.SelectMany(f => f.Services).ToArray();
        ServiceDescriptor[] theirs = Catalog.TheirFiles.SelectMany(f => f.Services).ToArray();

        Assert.Equal(
            ["etcdserverpb.Auth", "etcdserverpb.Cluster", "etcdserverpb.KV", "etcdserverpb.Lease", "etcdserverpb.Maintenance", "etcdserverpb.Watch", "v3electionpb.Election", "v3lockpb.Lock"],
            ours.Select(s => s.FullName).Order(StringComparer.Ordinal));
        Assert.Equal(theirs.Select(s => s.FullName).Order(StringComparer.Ordinal), ours.Select(s => s.FullName).Order(StringComparer.Ordinal));

        foreach (ServiceDescriptor service in ours)
        {
            ServiceDescriptor other = theirs.Single(s => s.FullName == service.FullName);
            string[] theirMethods = other.Methods
                .Where(m => !Catalog.TheirNewerMethods.Contains(m.FullName))
                .Select(Describe)
                .ToArray();
            Assert.Equal(theirMethods, service.Methods.Select(Describe));
        }
    }

    [Fact]
    public void GeneratedStubs_MethodPaths_MatchDotnetEtcdClient()
    {
        // Our server side: what BindService registers. Our client side: what our clients call.
        var binder = new RecordingServiceBinder();
        var ourClientCalls = new List<RecordedMethod>();
        var theirClientCalls = new List<RecordedMethod>();
        foreach (Type service in ServiceClasses(typeof(KV).Assembly))
        {
            MethodInfo bind = service.GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Single(m => m.Name == "BindService" && m.GetParameters()[0].ParameterType == typeof(ServiceBinderBase));
            bind.Invoke(null, [binder, null]);
            ourClientCalls.AddRange(RecordingCallInvoker.RecordClient(ClientOf(service)));
        }

        foreach (Type service in ServiceClasses(typeof(global::Etcdserverpb.KV).Assembly))
        {
            theirClientCalls.AddRange(RecordingCallInvoker.RecordClient(ClientOf(service)));
        }

        theirClientCalls.RemoveAll(m => Catalog.TheirNewerMethods.Contains(m.Path.TrimStart('/').Replace('/', '.')));
        Assert.Contains(new RecordedMethod("/etcdserverpb.KV/Range", MethodType.Unary, "etcdserverpb.RangeRequest", "etcdserverpb.RangeResponse"), binder.Methods);
        Assert.Contains(new RecordedMethod("/etcdserverpb.Watch/Watch", MethodType.DuplexStreaming, "etcdserverpb.WatchRequest", "etcdserverpb.WatchResponse"), binder.Methods);
        Assert.Equal(Sorted(theirClientCalls), Sorted(binder.Methods));
        Assert.Equal(Sorted(theirClientCalls), Sorted(ourClientCalls));
    }

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void RoundTrip_OursThroughDotnetEtcd_PreservesEveryField(string messageName)
    {
        MessageDescriptor ours = Catalog.OurMessages[messageName];
        MessageDescriptor theirs = Catalog.TheirMessages[messageName];
        var populator = new MessagePopulator();
        for (int variant = 0; variant < Variants; variant++)
        {
            IMessage original = populator.Create(ours, variant);
            byte[] wire = original.ToByteArray();

            IMessage parsed = theirs.Parser.ParseFrom(wire);
            // Same bytes back means no field fell into dotnet-etcd's unknown-field set (those
            // would be re-emitted after the known ones); same JSON means the same names and enums.
            Assert.Equal(Convert.ToHexString(wire), Convert.ToHexString(parsed.ToByteArray()));
            Assert.Equal(JsonFormatter.Default.Format(original), JsonFormatter.Default.Format(parsed));

            IMessage back = ours.Parser.ParseFrom(parsed.ToByteArray());
            Assert.Equal(original, back);
        }
    }

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void RoundTrip_DotnetEtcdThroughOurs_PreservesEveryField(string messageName)
    {
        MessageDescriptor ours = Catalog.OurMessages[messageName];
        MessageDescriptor theirs = Catalog.TheirMessages[messageName];
        // Fields added after 3.5 are left out here; the next test covers them.
        var populator = new MessagePopulator(f => !Catalog.TheirNewerFields.Contains(f.FullName));
        for (int variant = 0; variant < Variants; variant++)
        {
            IMessage original = populator.Create(theirs, variant);
            byte[] wire = original.ToByteArray();

            IMessage parsed = ours.Parser.ParseFrom(wire);
            Assert.Equal(Convert.ToHexString(wire), Convert.ToHexString(parsed.ToByteArray()));
            Assert.Equal(JsonFormatter.Default.Format(original), JsonFormatter.Default.Format(parsed));

            IMessage back = theirs.Parser.ParseFrom(parsed.ToByteArray());
            Assert.Equal(original, back);
        }
    }

    [Theory]
    [InlineData("etcdserverpb.StatusResponse")]
    [InlineData("etcdserverpb.HashKVResponse")]
    [InlineData("etcdserverpb.SnapshotResponse")]
    public void RoundTrip_NewerFieldsThroughOurs_SurviveAsUnknownFields(string messageName)
    {
        IMessage original = new MessagePopulator().Create(Catalog.TheirMessages[messageName], variant: 0);

        IMessage parsed = Catalog.OurMessages[messageName].Parser.ParseFrom(original.ToByteArray());
        IMessage back = Catalog.TheirMessages[messageName].Parser.ParseFrom(parsed.ToByteArray());

        Assert.Equal(original, back);
        Assert.NotEqual(JsonFormatter.Default.Format(original), JsonFormatter.Default.Format(parsed));
    }

    [Fact]
    public void Populator_AllVariants_SetEveryFieldOfEveryMessage()
    {
        var populator = new MessagePopulator();
        foreach (MessageDescriptor message in Catalog.OurMessages.Values)
        {
            for (int variant = 0; variant < Variants; variant++)
            {
                populator.Create(message, variant);
            }
        }

        string[] all = Catalog.OurMessages.Values.SelectMany(m => m.Fields.InFieldNumberOrder()).Select(f => f.FullName).ToArray();
        string[] neverSet = all.Where(f => !populator.FieldsSet.Contains(f)).ToArray();
        Assert.Empty(neverSet);
        // Every request and response type of every RPC is among the messages checked above.
        Assert.All(Catalog.ServiceMessageTypes(), m => Assert.Contains(m.FullName, Catalog.OurMessages.Keys));
    }

    [Fact]
    public void RoundTrip_NestedTxn_KeepsEveryBranchAndOneofCase()
    {
        // A hand-built request in the shape etcdctl sends, as a readable anchor for the generic tests.
        var request = new TxnRequest
        {
            Compare =
            {
                new Compare { Key = ByteString.CopyFromUtf8("k"), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Less, ModRevision = 7, RangeEnd = ByteString.CopyFromUtf8("l") },
                new Compare { Key = ByteString.CopyFromUtf8("v"), Target = Compare.Types.CompareTarget.Value, Value = ByteString.CopyFrom(0, 255) },
            },
            Success =
            {
                new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v"), Lease = 0x694d_7a3c_1f00_0001, PrevKv = true } },
                new RequestOp { RequestTxn = new TxnRequest { Failure = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("\0"), RangeEnd = ByteString.CopyFromUtf8("\0") } } } } },
            },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8("a"), Limit = -1, SortOrder = RangeRequest.Types.SortOrder.Descend } } },
        };

        var theirs = global::Etcdserverpb.TxnRequest.Parser.ParseFrom(request.ToByteArray());

        Assert.Equal(global::Etcdserverpb.Compare.Types.CompareResult.Less, theirs.Compare[0].Result);
        Assert.Equal(7, theirs.Compare[0].ModRevision);
        Assert.Equal("l", theirs.Compare[0].RangeEnd.ToStringUtf8());
        Assert.Equal(0x694d_7a3c_1f00_0001, theirs.Success[0].RequestPut.Lease);
        Assert.Equal(global::Etcdserverpb.RequestOp.RequestOneofCase.RequestDeleteRange, theirs.Success[1].RequestTxn.Failure[0].RequestCase);
        Assert.Equal(global::Etcdserverpb.RangeRequest.Types.SortOrder.Descend, theirs.Failure[0].RequestRange.SortOrder);
        Assert.Equal(request, TxnRequest.Parser.ParseFrom(theirs.ToByteArray()));
    }

    private static string Describe(FieldDescriptor field)
    {
        string type = field.FieldType switch
        {
            FieldType.Message => field.MessageType.FullName,
            FieldType.Enum => field.EnumType.FullName,
            _ => field.FieldType.ToString(),
        };
        return $"{(field.IsRepeated ? "repeated " : "")}{type} {field.Name} = {field.FieldNumber}{(field.RealContainingOneof is { } o ? $" in {o.Name}" : "")}";
    }

    private static string Describe(MethodDescriptor method) =>
        $"{method.Name}({(method.IsClientStreaming ? "stream " : "")}{method.InputType.FullName}) returns ({(method.IsServerStreaming ? "stream " : "")}{method.OutputType.FullName})";

    private static IEnumerable<Type> ServiceClasses(Assembly assembly) =>
        assembly.GetExportedTypes().Where(t => t.IsAbstract && t.IsSealed && t.GetProperty("Descriptor")?.PropertyType == typeof(ServiceDescriptor));

    private static Type ClientOf(Type service) => service.GetNestedTypes().Single(t => t.Name == service.Name + "Client");

    private static List<RecordedMethod> Sorted(IEnumerable<RecordedMethod> methods) =>
        methods.OrderBy(m => m.Path, StringComparer.Ordinal).ToList();
}
