using Platform.CloudInit.Cli;

return await CloudInitCommand.RunAsync(
    args,
    CloudInitCommand.ProcessEnvironment(),
    Console.Out,
    Console.Error,
    CancellationToken.None).ConfigureAwait(false);
