using System.Text.Json.Nodes;
using Grpc.Core;
using Platform.Rkt.Api.V1Alpha;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Api;

/// <summary>
/// ListenEvents: rkt has no daemon to announce changes, so the service polls the pod directories and
/// the image index every <see cref="ApiServiceOptions.PollInterval"/> and reports the differences:
/// a pod reaching prepared / aborted prepare / running / exited / garbage (or vanishing), apps starting
/// with their pod and exiting (their status file appears, with <c>exit_code</c> in the data), images
/// imported and removed. Only changes after the call started are reported (the state at that moment
/// is the baseline, and an empty first response marks it). The stream ends at <c>until_time</c>, or when the client goes away.
/// </summary>
internal sealed class EventWatcher
{
    private readonly ApiServiceOptions _options;
    private readonly IImageStore _store;
    private readonly EventFilter _filter;

    public EventWatcher(ApiServiceOptions options, IImageStore store, EventFilter filter)
    {
        _options = options;
        _store = store;
        _filter = filter;
    }

    public async Task RunAsync(IServerStreamWriter<ListenEventsResponse> stream, CancellationToken ct)
    {
        Snapshot previous = Take();
        // An empty first message says "watching from here": a client that waits for it misses nothing after.
        await stream.WriteAsync(new ListenEventsResponse(), ct).ConfigureAwait(false);
        using var timer = new PeriodicTimer(_options.PollInterval, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                long now = _options.Time.GetUtcNow().ToUnixTimeSeconds();
                if (_filter.UntilTime > 0 && now >= _filter.UntilTime)
                {
                    return;
                }

                Snapshot current = Take();
                var response = new ListenEventsResponse();
                response.Events.AddRange(Diff(previous, current, now).Where(Wanted));
                previous = current;
                if (response.Events.Count > 0)
                {
                    await stream.WriteAsync(response, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client hung up.
        }
    }

    private bool Wanted(Event e) =>
        (_filter.Types_.Count == 0 || _filter.Types_.Contains(e.Type))
        && (_filter.Ids.Count == 0 || _filter.Ids.Contains(e.Id))
        && (_filter.Names.Count == 0 || _filter.Names.Contains(e.From))
        && (_filter.SinceTime == 0 || e.Time >= _filter.SinceTime);

    private Snapshot Take()
    {
        var pods = new Dictionary<string, PodSnapshot>(StringComparer.Ordinal);
        foreach (PodDirectory dir in PodDirectory.List(_options.DataDir))
        {
            JsonObject? manifest = dir.Manifest();
            string[] apps = (manifest?["apps"] as JsonArray)?.OfType<JsonObject>().Select(a => (string?)a["name"] ?? string.Empty).ToArray() ?? [];
            var exits = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (string app in apps)
            {
                if (dir.ExitCode(app) is int code)
                {
                    exits[app] = code;
                }
            }

            pods[dir.Uuid] = new PodSnapshot(dir.State, apps, exits);
        }

        var images = _store.List().ToDictionary(i => i.Id, i => i.Name, StringComparer.Ordinal);
        return new Snapshot(pods, images);
    }

    private static IEnumerable<Event> Diff(Snapshot before, Snapshot after, long now)
    {
        foreach ((string uuid, PodSnapshot pod) in after.Pods)
        {
            PodState old = before.Pods.TryGetValue(uuid, out PodSnapshot? was) ? was.State : PodState.Undefined;
            if (pod.State != old)
            {
                EventType? type = pod.State switch
                {
                    PodState.Prepared => EventType.PodPrepared,
                    PodState.AbortedPrepare => EventType.PodPrepareAborted,
                    PodState.Running => EventType.PodStarted,
                    PodState.Exited => EventType.PodExited,
                    PodState.Garbage or PodState.Deleting when old is not (PodState.Garbage or PodState.Deleting) => EventType.PodGarbageCollected,
                    _ => null,
                };
                if (type is not null)
                {
                    yield return new Event { Type = type.Value, Id = uuid, From = uuid, Time = now };
                }

                if (pod.State == PodState.Running)
                {
                    foreach (string app in pod.Apps)
                    {
                        yield return new Event { Type = EventType.AppStarted, Id = uuid, From = app, Time = now };
                    }
                }
            }

            foreach ((string app, int code) in pod.Exits)
            {
                if (was is null || !was.Exits.ContainsKey(app))
                {
                    var e = new Event { Type = EventType.AppExited, Id = uuid, From = app, Time = now };
                    e.Data.Add(new KeyValue { Key = "exit_code", Value = code.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                    yield return e;
                }
            }
        }

        foreach ((string uuid, PodSnapshot pod) in before.Pods)
        {
            if (!after.Pods.ContainsKey(uuid) && pod.State is not (PodState.Garbage or PodState.Deleting))
            {
                yield return new Event { Type = EventType.PodGarbageCollected, Id = uuid, From = uuid, Time = now };
            }
        }

        foreach ((string id, string name) in after.Images)
        {
            if (!before.Images.ContainsKey(id))
            {
                yield return new Event { Type = EventType.ImageImported, Id = id, From = name, Time = now };
            }
        }

        foreach ((string id, string name) in before.Images)
        {
            if (!after.Images.ContainsKey(id))
            {
                yield return new Event { Type = EventType.ImageRemoved, Id = id, From = name, Time = now };
            }
        }
    }

    private sealed record PodSnapshot(PodState State, string[] Apps, Dictionary<string, int> Exits);

    private sealed record Snapshot(Dictionary<string, PodSnapshot> Pods, Dictionary<string, string> Images);
}
