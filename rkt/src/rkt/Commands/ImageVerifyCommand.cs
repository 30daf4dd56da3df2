using System.Security.Cryptography;
using Platform.Common.Flags;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image verify [IMAGE...]</c>: re-hashes every blob of the images (all when none given)
/// against its digest and every rendered tree built from them against its render-time hash.
/// </summary>
internal sealed class ImageVerifyCommand : ICommand
{
    public string Name => "image verify";

    public string Usage => "[IMAGE...]";

    public string Summary => "Verify stored images and rendered trees against their digests";

    public void DefineFlags(FlagSet flags)
    {
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        IReadOnlyList<ImageInfo> images = args.Count == 0 ? context.Store.List() : args.Select(context.ResolveImage).ToList();
        IReadOnlyList<TreeInfo> trees = context.Trees.List();
        int bad = 0;
        foreach (ImageInfo image in images)
        {
            var problems = new List<string>();
            foreach (string blob in image.Blobs)
            {
                ImageDigest expected = blob == image.Id ? ImageDigest.Parse(image.Digest) : ImageDigest.Parse(blob);
                using IncrementalHash hash = expected.CreateHash();
                try
                {
                    await using Stream stream = context.Store.OpenBlob(blob);
                    byte[] buffer = new byte[256 * 1024];
                    int n;
                    while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                    }

                    if (!expected.Matches(hash.GetHashAndReset()))
                    {
                        problems.Add($"blob {blob} does not match its digest");
                    }
                }
                catch (KeyNotFoundException)
                {
                    problems.Add($"blob {blob} is missing");
                }
            }

            foreach (TreeInfo tree in trees.Where(t => t.ImageId == image.Id))
            {
                if (context.Trees.Verify(tree.Id) is { } problem)
                {
                    problems.Add(problem);
                }
            }

            if (problems.Count == 0)
            {
                context.Stdout.WriteLine($"{image.Id}: OK");
            }
            else
            {
                bad++;
                context.Stdout.WriteLine($"{image.Id}: FAILED");
                foreach (string problem in problems)
                {
                    context.Error(problem);
                }
            }
        }

        return bad == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
    }
}
