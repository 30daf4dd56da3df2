using System.Reflection;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Platform.Etcd.Api.Tests;

/// <summary>One gRPC method as generated code puts it on the wire.</summary>
internal sealed record RecordedMethod(string Path, MethodType Type, string Request, string Response)
{
    public static RecordedMethod From<TRequest, TResponse>(Method<TRequest, TResponse> method) =>
        new(method.FullName, method.Type, ProtoName(typeof(TRequest)), ProtoName(typeof(TResponse)));

    private static string ProtoName(Type clrType)
    {
        PropertyInfo property = clrType.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)
            ?? throw new InvalidOperationException($"{clrType} is not a generated message");
        return ((MessageDescriptor)property.GetValue(null)!).FullName;
    }
}

/// <summary>Records what generated server code registers (path, kind, types) instead of serving it.</summary>
internal sealed class RecordingServiceBinder : ServiceBinderBase
{
    public List<RecordedMethod> Methods { get; } = [];

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        Methods.Add(RecordedMethod.From(method));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        Methods.Add(RecordedMethod.From(method));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        Methods.Add(RecordedMethod.From(method));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        Methods.Add(RecordedMethod.From(method));
}

/// <summary>Records the method a generated client invokes, then aborts the call.</summary>
internal sealed class RecordingCallInvoker : CallInvoker
{
    public List<RecordedMethod> Methods { get; } = [];

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw Record(method);

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw Record(method);

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw Record(method);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw Record(method);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw Record(method);

    /// <summary>
    /// Calls every RPC of a generated client once (the overloads taking <see cref="CallOptions"/>,
    /// synchronous or call-object flavour) and returns what was recorded.
    /// </summary>
    public static List<RecordedMethod> RecordClient(Type clientType)
    {
        var invoker = new RecordingCallInvoker();
        object client = Activator.CreateInstance(clientType, invoker)!;
        IEnumerable<MethodInfo> calls = clientType.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.Name.EndsWith("Async", StringComparison.Ordinal))
            .Where(m => m.GetParameters() is { Length: > 0 } p && p[^1].ParameterType == typeof(CallOptions));
        foreach (MethodInfo call in calls)
        {
            object?[] arguments = call.GetParameters()
                .Select(p => p.ParameterType == typeof(CallOptions) ? new CallOptions() : Activator.CreateInstance(p.ParameterType))
                .ToArray();
            try
            {
                call.Invoke(client, arguments);
                throw new InvalidOperationException($"{call} did not reach the call invoker");
            }
            catch (TargetInvocationException e) when (e.InnerException is RecordedCallException)
            {
            }
        }

        return invoker.Methods;
    }

    private RecordedCallException Record<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        Methods.Add(RecordedMethod.From(method));
        return new RecordedCallException();
    }

    private sealed class RecordedCallException : Exception
    {
    }
}
