using System.Net;
using System.Runtime.InteropServices;
using Platform.Common.Flags;
using Platform.Rkt.Metadata;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt metadata-service [--listen-port=18112]</c>: the appc metadata service. Pods register over the
/// unix socket (<c>/run/rkt/metadata-svc.sock</c>; <c>--registration-socket</c> moves it, e.g. for tests);
/// apps query <c>$AC_METADATA_URL</c>. Runs until SIGINT or SIGTERM.
/// </summary>
internal sealed class MetadataServiceCommand : ICommand
{
    private Flag<int> _listenPort = null!;
    private Flag<string> _socket = null!;

    public string Name => "metadata-service";

    public string Usage => "[--listen-port=PORT]";

    public string Summary => "Run metadata service";

    public void DefineFlags(FlagSet flags)
    {
        _listenPort = flags.Int("listen-port", MetadataServiceOptions.DefaultPort, "listen port");
        _socket = flags.String("registration-socket", MetadataServiceOptions.DefaultRegistrationSocket, "unix socket pods register on");
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count > 0)
        {
            throw new CommandException($"unexpected argument \"{args[0]}\"");
        }

        if (_listenPort.Value is < 0 or > 65535)
        {
            throw new CommandException($"--listen-port={_listenPort.Value}: not a port");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            stop.Cancel();
        });
        context.Stderr.WriteLine("metadata-service: metadata service starting...");
        await using IMetadataService service = await MetadataServices.StartAsync(
            new MetadataServiceOptions
            {
                ListenPort = _listenPort.Value,
                ListenAddress = IPAddress.Any,
                RegistrationSocket = _socket.Value,
                Log = context.Globals.Debug ? context.Stderr : null,
            },
            stop.Token).ConfigureAwait(false);
        context.Stderr.WriteLine($"metadata-service: metadata service running on port {service.Port}, registrations on {_socket.Value}");
        try
        {
            await service.Completion.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // SIGINT/SIGTERM: a clean stop.
        }

        context.Stderr.WriteLine("metadata-service: metadata service exiting...");
        return CommandLine.ExitOk;
    }
}
