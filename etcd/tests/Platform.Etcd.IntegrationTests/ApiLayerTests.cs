using System.Net;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.IntegrationTests.Infrastructure;
using Platform.Etcd.Server;
using Platform.Etcd.V2Store;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>
/// The API layer alone, over a scripted server: one port for h2c gRPC and HTTP/1.1, etcd's
/// validation and error texts, the gateway's and the v2 API's wire shapes as measured on etcd 3.4.
/// </summary>
public sealed class ApiLayerTests
{
    private static RangeResponse OneKey(string key, string value) => new()
    {
        Header = new ResponseHeader { ClusterId = 0x1234, MemberId = 0xabcd, Revision = 5, RaftTerm = 2 },
        Kvs = { new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), CreateRevision = 3, ModRevision = 5, Version = 2 } },
        Count = 1,
    };

    [Fact]
    public async Task OnePort_GrpcH2cAndHttp11_BothServed()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("RangeAsync", _ => OneKey("foo", "bar")));
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        RangeResponse response = await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("foo") });
        Assert.Equal("bar", response.Kvs[0].Value.ToStringUtf8());

        using var http = new HttpClient { BaseAddress = member.ClientUrl, DefaultRequestVersion = HttpVersion.Version11 };
        using HttpResponseMessage version = await http.GetAsync(new Uri("/version", UriKind.Relative));
        Assert.Equal(HttpVersion.Version11, version.Version);
        Assert.Equal("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", await version.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GrpcHealth_EmptyService_Serving()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync();
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        var health = new global::Grpc.Health.V1.Health.HealthClient(channel);
        global::Grpc.Health.V1.HealthCheckResponse response = await health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "" });
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Range_EmptyKey_InvalidArgumentWithoutCallingTheServer()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync();
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await new KV.KVClient(channel).RangeAsync(new RangeRequest()));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("etcdserver: key is not provided", e.Status.Detail);
        Assert.DoesNotContain(member.Script.Calls, c => c.Method == "RangeAsync");
    }

    [Fact]
    public async Task ServerError_EtcdException_KeepsCodeAndText()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.On("RangeAsync", _ =>
            throw new EtcdException(EtcdErrorCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted")));
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("k"), Revision = 1 }));
        Assert.Equal(StatusCode.OutOfRange, e.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", e.Status.Detail);

        // The gateway: grpc-gateway's HTTP status for the code and its error body.
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        using HttpResponseMessage response = await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("k")}\",\"revision\":\"1\"}}"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            "{\"error\":\"etcdserver: mvcc: required revision has been compacted\",\"message\":\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Put_LargerThanMaxRequestBytes_RequestIsTooLarge()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("PutAsync", _ => new PutResponse()), maxRequestBytes: 1024);
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        var kv = new KV.KVClient(channel);
        await kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFrom(new byte[512]) });
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFrom(new byte[2048]) }));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("etcdserver: request is too large", e.Status.Detail);
    }

    [Fact]
    public async Task Txn_TooManyOpsAndDuplicateKeys_RefusedAsEtcdDoes()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("TxnAsync", _ => new TxnResponse { Succeeded = true }), maxTxnOps: 2);
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        var kv = new KV.KVClient(channel);
        static RequestOp Put(string key) => new() { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key) } };

        RpcException tooMany = await Assert.ThrowsAsync<RpcException>(async () => await kv.TxnAsync(new TxnRequest { Success = { Put("a"), Put("b"), Put("c") } }));
        Assert.Equal("etcdserver: too many operations in txn request", tooMany.Status.Detail);

        RpcException duplicate = await Assert.ThrowsAsync<RpcException>(async () => await kv.TxnAsync(new TxnRequest { Success = { Put("a"), Put("a") } }));
        Assert.Equal("etcdserver: duplicate key given in txn request", duplicate.Status.Detail);

        var deleteAll = new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("a"), RangeEnd = ByteString.CopyFromUtf8("z") } };
        RpcException overlap = await Assert.ThrowsAsync<RpcException>(async () => await kv.TxnAsync(new TxnRequest { Success = { deleteAll, Put("m") } }));
        Assert.Equal(StatusCode.InvalidArgument, overlap.StatusCode);

        // Then and else branches of a nested txn may write the same key: only one runs.
        var nested = new RequestOp { RequestTxn = new TxnRequest { Success = { Put("n") }, Failure = { Put("n") } } };
        Assert.True((await kv.TxnAsync(new TxnRequest { Success = { nested } })).Succeeded);

        RpcException empty = await Assert.ThrowsAsync<RpcException>(async () => await kv.TxnAsync(new TxnRequest { Success = { new RequestOp() } }));
        Assert.Equal("etcdserver: key not found", empty.Status.Detail);
    }

    [Fact]
    public async Task Token_GrpcMetadataAndGatewayAuthorization_ReachTheServer()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("RangeAsync", _ => new RangeResponse()));
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("k") }, new Metadata { { "token", "abc.1" } });
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/kv/range") { Content = new StringContent($"{{\"key\":\"{B64("k")}\"}}") };
        request.Headers.TryAddWithoutValidation("Authorization", "def.2");
        (await http.SendAsync(request)).EnsureSuccessStatusCode();

        string[] tokens = [.. member.Script.Calls.Where(c => c.Method == "RangeAsync").Select(c => c.Context?.Token ?? "(none)")];
        Assert.Equal(["abc.1", "def.2"], tokens);
    }

    [Fact]
    public async Task RequireLeader_NoLeader_Unavailable()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s =>
        {
            s.On("get_Leader", _ => 0UL);
            s.OnAsync("RangeAsync", _ => new RangeResponse());
        });
        using GrpcChannel channel = GrpcChannel.ForAddress(member.ClientUrl);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("k") }, new Metadata { { "hasleader", "true" } }));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("etcdserver: no leader", e.Status.Detail);
    }

    [Fact]
    public async Task Gateway_Range_Proto3JsonAsGrpcGatewayPrintsIt()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("RangeAsync", _ => OneKey("foo", "bar")));
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        foreach (string prefix in new[] { "/v3", "/v3beta" })
        {
            using HttpResponseMessage response = await http.PostAsync(new Uri(prefix + "/kv/range", UriKind.Relative), new StringContent($"{{\"key\":\"{B64("foo")}\"}}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(
                "{\"header\":{\"cluster_id\":\"4660\",\"member_id\":\"43981\",\"revision\":\"5\",\"raft_term\":\"2\"},"
                + "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"3\",\"mod_revision\":\"5\",\"version\":\"2\",\"value\":\"YmFy\"}],\"count\":\"1\"}",
                await response.Content.ReadAsStringAsync());
        }

        // Measured on etcd 3.4.23: no /v3alpha, GET is 405, unknown paths 404, bad JSON 400 code 3.
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync(new Uri("/v3alpha/kv/range", UriKind.Relative), new StringContent("{}"))).StatusCode);
        using HttpResponseMessage get = await http.GetAsync(new Uri("/v3/kv/range", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("Method Not Allowed\n", await get.Content.ReadAsStringAsync());
        using HttpResponseMessage unknown = await http.PostAsync(new Uri("/v3/kv/rangex", UriKind.Relative), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("Not Found\n", await unknown.Content.ReadAsStringAsync());
        using HttpResponseMessage bad = await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent("xx"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(3, Json(await bad.Content.ReadAsStringAsync()).GetProperty("code").GetInt32());
        using HttpResponseMessage empty = await http.PostAsync(new Uri("/v3/kv/range", UriKind.Relative), new StringContent(""));
        Assert.Equal("{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not provided\",\"code\":3}", await empty.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Gateway_Watch_StreamsResultObjectsUntilTheClientLeaves()
    {
        var responses = Channel.CreateUnbounded<WatchResponse>();
        var opened = new TaskCompletionSource<WatchRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.On("OpenWatchStream", _ => new ScriptedWatchStream(responses, opened, disposed)));
        using var http = new HttpClient { BaseAddress = member.ClientUrl, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/watch") { Content = new StringContent($"{{\"create_request\":{{\"key\":\"{B64("w")}\"}}}}") };
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        WatchRequest create = await opened.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("w", create.CreateRequest.Key.ToStringUtf8());

        await responses.Writer.WriteAsync(new WatchResponse { Header = new ResponseHeader { Revision = 1 }, Created = true });
        await responses.Writer.WriteAsync(new WatchResponse
        {
            Header = new ResponseHeader { Revision = 2 },
            Events = { new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = ByteString.CopyFromUtf8("w"), ModRevision = 2 } } },
        });
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("{\"result\":{\"header\":{\"revision\":\"1\"},\"created\":true}}", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("{\"result\":{\"header\":{\"revision\":\"2\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"dw==\",\"mod_revision\":\"2\"}}]}}", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        response.Dispose();
        await disposed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Health_HealthyAndAlarm_AnswersLikeEtcd34()
    {
        string? problem = null;
        await using ScriptedMember member = await ScriptedMember.StartAsync(s =>
        {
            s.On("get_HealthProblem", _ => problem);
            s.OnAsync("RangeAsync", _ => new RangeResponse());
        });
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        using HttpResponseMessage ok = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("{\"health\":\"true\"}", await ok.Content.ReadAsStringAsync());

        problem = "alarm NOSPACE";
        using HttpResponseMessage bad = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, bad.StatusCode);
        Assert.Equal("{\"health\":\"false\"}\n", await bad.Content.ReadAsStringAsync());

        string metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("# TYPE", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "value=1&ttl=abc", 400, "{\"errorCode\":202,\"message\":\"The given TTL in POST form is not a number\",\"cause\":\"invalid value for \\\"ttl\\\"\",\"index\":0}")]
    [InlineData("PUT", "value=1&prevValue=", 400, "{\"errorCode\":201,\"message\":\"PrevValue is Required in POST form\",\"cause\":\"\\\"prevValue\\\" cannot be empty\",\"index\":0}")]
    [InlineData("PUT", "value=1&prevIndex=x", 400, "{\"errorCode\":203,\"message\":\"The given index in POST form is not a number\",\"cause\":\"invalid value for \\\"prevIndex\\\"\",\"index\":0}")]
    [InlineData("PUT", "value=1&wait=true", 400, "{\"errorCode\":209,\"message\":\"Invalid field\",\"cause\":\"\\\"wait\\\" can only be used with GET requests\",\"index\":0}")]
    [InlineData("PUT", "dir=maybe", 400, "{\"errorCode\":209,\"message\":\"Invalid field\",\"cause\":\"invalid value for \\\"dir\\\"\",\"index\":0}")]
    [InlineData("PUT", "refresh=true&value=x&ttl=5", 400, "{\"errorCode\":211,\"message\":\"Value provided on refresh\",\"cause\":\"A value was provided on a refresh\",\"index\":0}")]
    [InlineData("PUT", "refresh=true", 400, "{\"errorCode\":212,\"message\":\"A TTL must be provided on refresh\",\"cause\":\"No TTL value set\",\"index\":0}")]
    public async Task V2Keys_BadForm_EtcdsCodeAndCause(string method, string form, int status, string body)
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync();
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        using var request = new HttpRequestMessage(new HttpMethod(method), "/v2/keys/foo") { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };
        using HttpResponseMessage response = await http.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(body + "\n", await response.Content.ReadAsStringAsync());
        Assert.Equal("0", response.Headers.GetValues("X-Etcd-Index").Single());
        Assert.Equal("1234", response.Headers.GetValues("X-Etcd-Cluster-Id").Single());
        Assert.DoesNotContain(member.Script.Calls, c => c.Method == "V2DoAsync");
    }

    [Fact]
    public async Task V2Keys_Put_PassesTheStorePathAndWritesEtcdsHeaders()
    {
        await using ScriptedMember member = await ScriptedMember.StartAsync(s => s.OnAsync("V2DoAsync", args =>
        {
            var r = (V2Request)args[0]!;
            return new V2Event(V2Actions.Set, new V2Node { Key = r.Path, Value = r.Value, ModifiedIndex = 9, CreatedIndex = 9, Ttl = 5, Expiration = DateTimeOffset.Parse("2026-01-01T00:00:05Z", System.Globalization.CultureInfo.InvariantCulture) }, null, 9);
        }));
        using var http = new HttpClient { BaseAddress = member.ClientUrl };
        using HttpResponseMessage response = await http.PutAsync(new Uri("/v2/keys/dir//foo?ttl=5", UriKind.Relative), new StringContent("value=bar", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("9", response.Headers.GetValues("X-Etcd-Index").Single());
        Assert.Equal("7", response.Headers.GetValues("X-Raft-Index").Single());
        Assert.Equal("2", response.Headers.GetValues("X-Raft-Term").Single());
        Assert.Equal("{\"action\":\"set\",\"node\":{\"key\":\"/dir/foo\",\"value\":\"bar\",\"expiration\":\"2026-01-01T00:00:05Z\",\"ttl\":5,\"modifiedIndex\":9,\"createdIndex\":9}}\n", await response.Content.ReadAsStringAsync());
        V2Request sent = (V2Request)member.Script.Calls.Single(c => c.Method == "V2DoAsync").Request!;
        Assert.Equal(new V2Request("PUT", "/1/dir/foo", Value: "bar", Ttl: 5), sent);
    }

    private sealed class ScriptedWatchStream : IWatchStream
    {
        private readonly Channel<WatchResponse> _responses;
        private readonly TaskCompletionSource<WatchRequest> _opened;
        private readonly TaskCompletionSource _disposed;

        public ScriptedWatchStream(Channel<WatchResponse> responses, TaskCompletionSource<WatchRequest> opened, TaskCompletionSource disposed)
        {
            _responses = responses;
            _opened = opened;
            _disposed = disposed;
        }

        public ChannelReader<WatchResponse> Responses => _responses.Reader;

        public ValueTask HandleAsync(WatchRequest request, CancellationToken cancellationToken)
        {
            _opened.TrySetResult(request);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _disposed.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
