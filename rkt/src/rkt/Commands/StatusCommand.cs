using System.Globalization;
using System.Text;
using System.Text.Json;
using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt status [--wait[=DURATION]] [--wait-ready[=DURATION]] [--format=json] UUID</c>: the pod's state,
/// times, pid, networks and each app's exit status (<c>app-NAME=CODE</c>).
/// </summary>
internal sealed class StatusCommand : ICommand
{
    private Flag<string> _wait = null!;
    private Flag<string> _waitReady = null!;
    private Flag<string> _format = null!;
    private Flag<string> _uuidFile = null!;

    public string Name => "status";

    public string Usage => "[--wait[=DURATION]] [--wait-ready[=DURATION]] [--format=json] UUID";

    public string Summary => "Check the status of a rkt pod";

    public void DefineFlags(FlagSet flags)
    {
        _wait = flags.String("wait", string.Empty, "wait for the pod to exit (true, or a duration such as 10s)");
        _waitReady = flags.String("wait-ready", string.Empty, "wait for the pod to be running its apps (true, or a duration)");
        _format = flags.String("format", string.Empty, "choose the output format: json, json-pretty");
        _uuidFile = flags.String("uuid-file", string.Empty, "read the pod UUID from this file");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            var positional = args.ToList();
            TimeSpan? wait = WaitValue(_wait.Value, positional);
            TimeSpan? waitReady = WaitValue(_waitReady.Value, positional);
            string uuid = PodCommandSupport.Uuids(positional, _uuidFile.Value)[0];
            PodStore store = PodCommandSupport.Store(context);
            PodEntry pod = store.Find(uuid);
            if (waitReady is { } readyTimeout)
            {
                pod = await PollAsync(store, pod, p => (p.State == PodStates.Running && p.StartedAt is not null) || IsFinal(p.State), readyTimeout, cancellationToken).ConfigureAwait(false)
                    ?? throw new PodException($"pod {pod.Uuid} did not become ready within {readyTimeout}");
            }

            if (wait is { } waitTimeout)
            {
                pod = await PollAsync(store, pod, p => IsFinal(p.State), waitTimeout, cancellationToken).ConfigureAwait(false)
                    ?? throw new PodException($"pod {pod.Uuid} did not exit within {waitTimeout}");
            }

            Print(context, pod);
            return CommandLine.ExitOk;
        });

    private static bool IsFinal(string state) => state is PodStates.Exited or PodStates.ExitedGarbage or PodStates.Garbage or PodStates.AbortedPrepare;

    /// <summary>
    /// <c>--wait</c> with no value is parsed by the flag set as taking the UUID: a value that is neither
    /// a boolean nor a duration is the UUID, and the wait is unbounded.
    /// </summary>
    private static TimeSpan? WaitValue(string value, List<string> positional)
    {
        if (value.Length == 0 || value is "false" or "0")
        {
            return null;
        }

        if (value is "true" or "1")
        {
            return Timeout.InfiniteTimeSpan;
        }

        if (PodCommandSupport.TryParseDuration(value) is { } duration)
        {
            return duration;
        }

        positional.Insert(0, value);
        return Timeout.InfiniteTimeSpan;
    }

    private static async Task<PodEntry?> PollAsync(PodStore store, PodEntry pod, Func<PodEntry, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Pod state lives in directories and flocks with no change notification; poll it.
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            PodEntry? current = store.Refresh(pod.Uuid);
            if (current is null)
            {
                throw new PodException($"pod {pod.Uuid} was removed");
            }

            if (done(current))
            {
                return current;
            }

            if (Environment.TickCount64 >= deadline)
            {
                return null;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Print(CommandContext context, PodEntry pod)
    {
        if (_format.Value is "json" or "json-pretty")
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = _format.Value == "json-pretty" }))
            {
                PodListing.WriteJson(json, pod);
            }

            context.Stdout.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
            return;
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"state={pod.State}\n");
        if (pod.CreatedAt is { } created)
        {
            text.Append(CultureInfo.InvariantCulture, $"created={PodListing.GoTime(created)}\n");
        }

        if (pod.StartedAt is { } started)
        {
            text.Append(CultureInfo.InvariantCulture, $"started={PodListing.GoTime(started)}\n");
        }

        if (pod.FinishedAt is { } finished)
        {
            text.Append(CultureInfo.InvariantCulture, $"finished={PodListing.GoTime(finished)}\n");
        }

        var networks = PodListing.Networks(pod);
        if (networks.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"networks={string.Join(',', networks.Select(n => $"{n.Name}:ip4={n.Ip}"))}\n");
        }

        bool running = pod.State == PodStates.Running;
        text.Append(CultureInfo.InvariantCulture, $"pid={(running && pod.ReadPid() is { } pid ? pid : -1)}\n");
        text.Append(CultureInfo.InvariantCulture, $"exited={(pod.State is PodStates.Exited or PodStates.ExitedGarbage ? "true" : "false")}\n");
        foreach ((string app, int code) in pod.ReadAppStatuses().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"app-{app}={code}\n");
        }

        context.Stdout.Write(text.ToString());
    }
}
