using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Rkt.Metadata;

/// <summary>
/// Two Kestrel hosts sharing one <see cref="PodRegistry"/>: the registration API on the unix socket
/// and the public API on TCP. Separate hosts, so no route of the one can ever be reached through the other.
/// </summary>
internal sealed class MetadataHost : IMetadataService
{
    private readonly WebApplication _registration;
    private readonly WebApplication _public;
    private readonly string _socketPath;

    private MetadataHost(WebApplication registration, WebApplication publicApp, string socketPath, int port, PodRegistry registry)
    {
        Registry = registry;
        _registration = registration;
        _public = publicApp;
        _socketPath = socketPath;
        Port = port;
        Completion = Task.WhenAll(Stopped(registration), Stopped(publicApp));
    }

    public int Port { get; }

    public Task Completion { get; }

    internal PodRegistry Registry { get; }

    public static async Task<IMetadataService> StartAsync(MetadataServiceOptions options, CancellationToken ct)
    {
        string socket = Path.GetFullPath(options.RegistrationSocket);
        Directory.CreateDirectory(Path.GetDirectoryName(socket)!);
        RemoveStaleSocket(socket);
        var registry = new PodRegistry();

        WebApplication registration = Build(k => k.ListenUnixSocket(socket), context => MetadataHandlers.RegistrationAsync(context, registry), options.Log);
        WebApplication publicApp = Build(k => k.Listen(options.ListenAddress, options.ListenPort), context => MetadataHandlers.PublicAsync(context, registry), options.Log);
        try
        {
            await registration.StartAsync(ct).ConfigureAwait(false);
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await publicApp.StartAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            await publicApp.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"metadata service: cannot listen: {e.Message}", e);
        }

        string address = publicApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        int port = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port;
        return new MetadataHost(registration, publicApp, socket, port, registry);
    }

    private static Task Stopped(WebApplication app)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
        return stopped.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _public.StopAsync().ConfigureAwait(false);
        await _registration.StopAsync().ConfigureAwait(false);
        await _public.DisposeAsync().ConfigureAwait(false);
        await _registration.DisposeAsync().ConfigureAwait(false);
        File.Delete(_socketPath);
    }

    private static WebApplication Build(Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions> listen, RequestDelegate handler, TextWriter? log)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A library host: signals belong to the process that embeds it, not to Kestrel's console lifetime.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            listen(k);
            k.Limits.MaxRequestBodySize = 8 << 20;
            k.AddServerHeader = false;
        });
        WebApplication app = builder.Build();
        app.Run(async context =>
        {
            await handler(context).ConfigureAwait(false);
            if (log is not null)
            {
                lock (log)
                {
                    log.WriteLine($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} - {context.Response.StatusCode}");
                }
            }
        });
        return app;
    }

    /// <summary>A socket file left by a dead service is removed; one a live service answers on is an error.</summary>
    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"metadata service: {path} is in use by a running service");
            }
            catch (SocketException)
            {
                // Nobody listens: stale.
            }
        }

        File.Delete(path);
    }
}

/// <summary>Starts and stops when told to, and never installs signal handlers.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
