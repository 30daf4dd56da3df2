using System.Runtime.InteropServices;
using Platform.Common.Flags;
using Platform.Rkt.Api;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt api-service [--listen=localhost:15441]</c>: the read-only v1alpha gRPC API over the pods and
/// images of <c>--dir</c>. Runs until SIGINT or SIGTERM.
/// </summary>
internal sealed class ApiServiceCommand : ICommand
{
    private Flag<string> _listen = null!;

    public string Name => "api-service";

    public string Usage => "[--listen=ADDRESS]";

    public string Summary => "Run API service (experimental)";

    public void DefineFlags(FlagSet flags)
    {
        _listen = flags.String("listen", ApiServiceOptions.DefaultListen, "address to listen for client API requests");
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count > 0)
        {
            throw new CommandException($"unexpected argument \"{args[0]}\"");
        }

        System.Net.IPEndPoint endpoint = ApiServiceOptions.ParseListen(_listen.Value);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            stop.Cancel();
        });
        await using IApiService service = await ApiServices.StartAsync(
            new ApiServiceOptions
            {
                DataDir = context.Globals.DataDirectory,
                LocalConfigDir = context.Globals.LocalConfig,
                SystemConfigDir = context.Globals.SystemConfig,
                UserConfigDir = context.Globals.UserConfig ?? string.Empty,
                InsecureFlags = context.Globals.Insecure.ToString().ToLowerInvariant().Replace(" ", string.Empty, StringComparison.Ordinal),
                TrustKeysFromHttps = context.Globals.TrustKeysFromHttps,
                Listen = endpoint,
                Time = context.Time,
            },
            stop.Token).ConfigureAwait(false);
        context.Stderr.WriteLine($"api-service: API service running on {endpoint.Address}:{service.Port}...");
        try
        {
            await service.Completion.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // SIGINT/SIGTERM: a clean stop.
        }

        context.Stderr.WriteLine("api-service: API service exiting...");
        return CommandLine.ExitOk;
    }
}
