using System.Diagnostics;
using Platform.Kola.Platforms;

namespace Platform.Kola.Netns.Machines;

/// <summary>Host tools the platform drives (<c>nsenter</c>, <c>iptables</c>, <c>cp</c>, <c>actool</c>), with their output captured.</summary>
internal static class HostCommands
{
    /// <summary>Runs a tool to completion; a non-zero exit throws with its stderr.</summary>
    public static string Run(string tool, IReadOnlyList<string> arguments)
    {
        CommandResult result = RunAsync(tool, arguments, null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return result.Succeeded
            ? result.StandardOutput
            : throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {result.ExitCode}: {result.StandardError.Trim()}");
    }

    /// <summary>Runs a tool; <paramref name="environment"/> replaces the whole environment when given.</summary>
    public static async ValueTask<CommandResult> RunAsync(string tool, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            start.Environment.Clear();
            foreach ((string key, string value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
