using System.Reflection;
using Platform.Etcd.Grpc;
using Platform.Etcd.Server;
using Platform.Testing;

namespace Platform.Etcd.IntegrationTests.Infrastructure;

/// <summary>
/// An <see cref="IEtcdServer"/> whose every member is answered by a test's script (a
/// <see cref="DispatchProxy"/>): the API layer's own behaviour (validation, error translation, wire
/// shapes, one port for h2c and HTTP/1.1) is tested without the real server's state.
/// </summary>
public class ScriptedServer : DispatchProxy
{
    private readonly Dictionary<string, Func<object?[], object?>> _answers = new(StringComparer.Ordinal);
    private readonly List<(string Method, object? Request, RequestContext? Context)> _calls = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<(string Method, object? Request, RequestContext? Context)> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    public static (IEtcdServer Server, ScriptedServer Script) Create()
    {
        IEtcdServer server = Create<IEtcdServer, ScriptedServer>();
        var script = (ScriptedServer)(object)server;
        script.On("get_ClusterId", _ => 0x1234UL);
        script.On("get_MemberId", _ => 0xabcdUL);
        script.On("get_Leader", _ => 0xabcdUL);
        script.On("get_RaftTerm", _ => 2UL);
        script.On("get_AppliedIndex", _ => 7UL);
        script.On("get_HealthProblem", _ => null);
        script.On("get_Version", _ => "3.4.23");
        script.On("get_ClusterVersion", _ => "3.4.0");
        script.On("get_V2Index", _ => 0UL);
        script.On("DisposeAsync", _ => ValueTask.CompletedTask);
        return (server, script);
    }

    /// <summary>Answers <paramref name="method"/> (e.g. "RangeAsync", "get_Leader") with <paramref name="answer"/>.</summary>
    public void On(string method, Func<object?[], object?> answer)
    {
        lock (_lock)
        {
            _answers[method] = answer;
        }
    }

    /// <summary>Answers an async server method with a value (wrapped in a ValueTask) or by throwing.</summary>
    public void OnAsync<T>(string method, Func<object?[], T> answer) => On(method, args => new ValueTask<T>(answer(args)));

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        args ??= [];
        Func<object?[], object?>? answer;
        lock (_lock)
        {
            _calls.Add((targetMethod.Name, args.Length > 0 ? args[0] : null, args.OfType<RequestContext>().FirstOrDefault()));
            _answers.TryGetValue(targetMethod.Name, out answer);
        }

        if (answer is null)
        {
            throw new EtcdException(EtcdErrorCode.Unimplemented, $"scripted server: no answer for {targetMethod.Name}");
        }

        return answer(args);
    }
}

/// <summary>A <see cref="ScriptedServer"/> behind the real API host on a free port.</summary>
public sealed class ScriptedMember : IAsyncDisposable
{
    private readonly IEtcdApiHost _host;

    private ScriptedMember(IEtcdApiHost host, ScriptedServer script)
    {
        _host = host;
        Script = script;
        ClientUrl = host.ClientUrls[0];
    }

    public Uri ClientUrl { get; }

    public ScriptedServer Script { get; }

    public static async Task<ScriptedMember> StartAsync(Action<ScriptedServer>? script = null, long maxRequestBytes = EtcdApiOptions.DefaultMaxRequestBytes, int maxTxnOps = EtcdApiOptions.DefaultMaxTxnOps)
    {
        (IEtcdServer server, ScriptedServer scripted) = ScriptedServer.Create();
        script?.Invoke(scripted);
        IEtcdApiHost host = EtcdApiHosts.Create(server, new EtcdApiOptions
        {
            ListenClientUrls = [new Uri($"http://127.0.0.1:{FreePorts.Next()}")],
            EnableV2 = true,
            MaxRequestBytes = maxRequestBytes,
            MaxTxnOps = maxTxnOps,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        await host.StartAsync(CancellationToken.None);
        return new ScriptedMember(host, scripted);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
