using System.Text;
using System.Text.Json;
using Platform.Common.Flags;
using Platform.Rkt.Pods;
using Platform.Rkt.Stage1;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt cat-manifest [--pretty-print] UUID</c>: the pod manifest stage0 generated.</summary>
internal sealed class CatManifestCommand : ICommand
{
    private Flag<bool> _pretty = null!;
    private Flag<string> _uuidFile = null!;

    public string Name => "cat-manifest";

    public string Usage => "UUID";

    public string Summary => "Inspect and print the pod manifest";

    public void DefineFlags(FlagSet flags)
    {
        _pretty = flags.Bool("pretty-print", true, "apply indent to format the output");
        _uuidFile = flags.String("uuid-file", string.Empty, "read pod UUID from file instead of argument");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, () =>
        {
            PodEntry pod = PodCommandSupport.Store(context).Find(PodCommandSupport.Uuids(args, _uuidFile.Value)[0]);
            string path = PodLayout.Manifest(pod.Path);
            if (!File.Exists(path))
            {
                throw new PodException($"pod {pod.Uuid} has no manifest yet (state {pod.State})");
            }

            byte[] bytes = File.ReadAllBytes(path);
            if (_pretty.Value)
            {
                using var doc = JsonDocument.Parse(bytes);
                using var buffer = new MemoryStream();
                using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
                {
                    doc.RootElement.WriteTo(writer);
                }

                bytes = buffer.ToArray();
            }

            context.Stdout.WriteLine(Encoding.UTF8.GetString(bytes));
            return Task.FromResult(CommandLine.ExitOk);
        });
}
