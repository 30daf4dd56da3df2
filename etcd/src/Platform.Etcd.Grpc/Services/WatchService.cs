using Grpc.Core;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>
/// etcd's Watch service (v3rpc/watch.go): one <see cref="IWatchStream"/> per gRPC stream; client
/// messages go to it in order, its responses go out in order. As in etcd, the client closing its
/// send side does not end the stream: watchers keep delivering until the call is cancelled.
/// </summary>
internal sealed class WatchService : Watch.WatchBase
{
    private readonly IEtcdServer _server;

    public WatchService(IEtcdServer server)
    {
        _server = server;
    }

    public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        Calls.RequireLeader(context, _server);
        try
        {
            await RunAsync(
                CallContexts.FromGrpc(context),
                async ct => await requestStream.MoveNext(ct).ConfigureAwait(false) ? requestStream.Current : null,
                (response, ct) => responseStream.WriteAsync(response, ct),
                context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw RpcErrors.From(e);
        }
    }

    /// <summary>
    /// Pumps one watch stream until <paramref name="cancellationToken"/> fires or the server ends
    /// the stream. <paramref name="receive"/> returns null at the end of the client's messages.
    /// Shared by gRPC and the JSON gateway.
    /// </summary>
    public async Task RunAsync(
        RequestContext requestContext,
        Func<CancellationToken, Task<WatchRequest?>> receive,
        Func<WatchResponse, CancellationToken, Task> send,
        CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        IWatchStream stream = _server.OpenWatchStream(requestContext);
        await using (stream.ConfigureAwait(false))
        {
            Task receiving = ReceiveAsync(stream, receive, linked.Token);
            // A failing client message (or server error) ends the stream; the send loop learns it here.
            _ = receiving.ContinueWith(
                static (_, state) => ((CancellationTokenSource)state!).Cancel(),
                linked,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted,
                TaskScheduler.Default);
            try
            {
                System.Threading.Channels.ChannelReader<WatchResponse> responses = stream.Responses;
                while (await responses.WaitToReadAsync(linked.Token).ConfigureAwait(false))
                {
                    while (responses.TryRead(out WatchResponse? response))
                    {
                        await send(response, linked.Token).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                await linked.CancelAsync().ConfigureAwait(false);
                try
                {
                    await receiving.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Expected: the receive loop ends with the stream.
                }
            }
        }
    }

    private static async Task ReceiveAsync(IWatchStream stream, Func<CancellationToken, Task<WatchRequest?>> receive, CancellationToken cancellationToken)
    {
        while (await receive(cancellationToken).ConfigureAwait(false) is { } request)
        {
            await stream.HandleAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }
}
