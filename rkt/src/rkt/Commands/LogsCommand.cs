using System.Text;
using Platform.Common.Flags;
using Platform.Rkt.Pods;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt logs [--app=APP] [--tail=N] [--follow] UUID</c>: the captured stdout and stderr of a pod's apps
/// (rkt never had it: its logs lived in journald). With <c>--follow</c>, keeps printing until the pod exits.
/// </summary>
internal sealed class LogsCommand : ICommand
{
    private Flag<string> _app = null!;
    private Flag<int> _tail = null!;
    private Flag<bool> _follow = null!;

    public string Name => "logs";

    public string Usage => "[--app=APP] [--tail=N] [--follow] UUID";

    public string Summary => "Print the output of a pod's apps";

    public void DefineFlags(FlagSet flags)
    {
        _app = flags.String("app", string.Empty, "only this app's output");
        _tail = flags.Int("tail", -1, "only the last N lines (of each app)");
        _follow = flags.Bool("follow", false, "keep printing new output until the pod exits");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            if (args.Count != 1)
            {
                throw new CommandException("must provide exactly one pod UUID");
            }

            PodStore store = PodCommandSupport.Store(context);
            PodEntry pod = store.Find(args[0]);
            PodManifest manifest = pod.TryReadManifest() ?? throw new PodException($"pod {pod.Uuid} has no apps yet");
            if (PodLayout.ReadStage1Flavor(pod.Path) == Stage1Flavors.FlyName)
            {
                // fly execs the app in place of rkt run: its output goes straight to rkt run's stdout and stderr.
                throw new PodException($"pod {pod.Uuid} runs the fly stage1, which does not capture its app's output (it went to rkt run's stdout and stderr)");
            }

            List<string> apps = manifest.Apps.Select(a => a.Name).Where(a => _app.Value.Length == 0 || a == _app.Value).ToList();
            if (apps.Count == 0)
            {
                throw new PodException($"pod {pod.Uuid} has no app \"{_app.Value}\"");
            }

            var offsets = new Dictionary<string, long>();
            foreach (string app in apps)
            {
                string file = PodLayout.AppLog(pod.Path, app);
                byte[] content = File.Exists(file) ? await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false) : [];
                offsets[app] = content.Length;
                context.Stdout.Write(Tail(Encoding.UTF8.GetString(content), _tail.Value));
            }

            context.Stdout.Flush();
            while (_follow.Value)
            {
                PodEntry? current = store.Refresh(pod.Uuid);
                bool finished = current is null || current.State != PodStates.Running;
                foreach (string app in apps)
                {
                    string file = PodLayout.AppLog(current?.Path ?? pod.Path, app);
                    if (!File.Exists(file))
                    {
                        continue;
                    }

                    using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    if (stream.Length > offsets[app])
                    {
                        stream.Position = offsets[app];
                        byte[] buffer = new byte[stream.Length - offsets[app]];
                        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
                        offsets[app] += buffer.Length;
                        context.Stdout.Write(Encoding.UTF8.GetString(buffer));
                        context.Stdout.Flush();
                    }
                }

                if (finished)
                {
                    break;
                }

                // Log files have no change notification across processes worth its complexity; poll.
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }

            return CommandLine.ExitOk;
        });

    private static string Tail(string text, int lines)
    {
        if (lines < 0 || text.Length == 0)
        {
            return text;
        }

        string[] all = text.EndsWith('\n') ? text[..^1].Split('\n') : text.Split('\n');
        return all.Length <= lines ? text : string.Join('\n', all[^lines..]) + (text.EndsWith('\n') ? "\n" : string.Empty);
    }

}
