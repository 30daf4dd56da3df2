using System.Text;
using Grpc.Core;
using Platform.Rkt.Api.V1Alpha;

namespace Platform.Rkt.Api;

/// <summary>
/// GetLogs over the apps' captured output, one file per app at <c>&lt;pod&gt;/logs/&lt;app&gt;.log</c>
/// (rkt used journald; this runtime captures stdout and stderr per pod). Lines are sent as written,
/// apps in manifest order; <c>lines</c> keeps the last N of each app; <c>follow</c> keeps polling the
/// files for appended lines until the client cancels or the pod leaves the running state.
/// <c>since_time</c>/<c>until_time</c> need timestamps the plain files do not carry and are ignored.
/// </summary>
internal static class PodLogReader
{
    /// <summary>Where an app's captured output lives in its pod directory.</summary>
    public static string LogPath(string podDirectory, string app) => Path.Combine(podDirectory, "logs", app + ".log");

    public static async Task StreamAsync(PodDirectory pod, GetLogsRequest request, ApiServiceOptions options, IServerStreamWriter<GetLogsResponse> stream, CancellationToken ct)
    {
        string[] apps = (pod.Manifest()?["apps"] as System.Text.Json.Nodes.JsonArray)?
            .Select(a => (string?)a?["name"]).OfType<string>().ToArray() ?? [];
        if (request.AppName.Length > 0)
        {
            if (!apps.Contains(request.AppName))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"app \"{request.AppName}\" not found in pod {pod.Uuid}"));
            }

            apps = [request.AppName];
        }

        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var first = new GetLogsResponse();
        foreach (string app in apps)
        {
            (List<string> lines, long end) = ReadFrom(LogPath(pod.Path, app), 0);
            first.Lines.AddRange(request.Lines > 0 ? lines.TakeLast(request.Lines) : lines);
            offsets[app] = end;
        }

        await stream.WriteAsync(first, ct).ConfigureAwait(false);
        if (!request.Follow)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.PollInterval, options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var more = new GetLogsResponse();
                foreach (string app in apps)
                {
                    (List<string> lines, long end) = ReadFrom(LogPath(pod.Path, app), offsets[app]);
                    more.Lines.AddRange(lines);
                    offsets[app] = end;
                }

                if (more.Lines.Count > 0)
                {
                    await stream.WriteAsync(more, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client stopped following.
        }
    }

    /// <summary>Complete lines from <paramref name="offset"/> on, and the offset after the last complete line.</summary>
    private static (List<string> Lines, long End) ReadFrom(string path, long offset)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length <= offset)
            {
                return ([], file.Length < offset ? 0 : offset); // Truncated: start over next time.
            }

            file.Position = offset;
            byte[] bytes = new byte[file.Length - offset];
            file.ReadExactly(bytes);
            int last = Array.LastIndexOf(bytes, (byte)'\n');
            if (last < 0)
            {
                return ([], offset);
            }

            string text = Encoding.UTF8.GetString(bytes, 0, last);
            return (text.Split('\n').ToList(), offset + last + 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return ([], offset);
        }
    }
}
