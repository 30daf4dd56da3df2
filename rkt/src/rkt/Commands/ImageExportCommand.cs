using System.Formats.Tar;
using Platform.Common.Flags;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image export IMAGE OUTPUT.aci [--overwrite]</c>: writes the image as an uncompressed ACI.
/// An ACI is written exactly as stored (its ID is the hash of these bytes); an OCI image is rendered
/// and packed as <c>manifest</c> + <c>rootfs/</c> with its synthesised manifest (rkt's docker2aci,
/// done natively).
/// </summary>
internal sealed class ImageExportCommand : ICommand
{
    private Flag<bool> _overwrite = null!;

    public string Name => "image export";

    public string Usage => "IMAGE_ID OUTPUT_ACI_FILE";

    public string Summary => "Export a stored image to an ACI file";

    public void DefineFlags(FlagSet flags)
    {
        _overwrite = flags.Bool("overwrite", false, "overwrite output ACI");
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count != 2)
        {
            context.Error("must provide the image ID and an output file");
            return CommandLine.ExitFailure;
        }

        string output = Path.GetFullPath(args[1]);
        if (File.Exists(output) && !_overwrite.Value)
        {
            throw new CommandException($"{args[1]} already exists (use --overwrite)");
        }

        ImageInfo image = context.ResolveImage(args[0]);
        string temp = output + ".rkt-export-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            if (image.Format == ImageFormat.Aci)
            {
                await using Stream blob = context.Store.OpenBlob(image.Id);
                await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
                await blob.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                using ITreeLease tree = context.Trees.Render(image.Id, context.Progress);
                WriteAci(temp, tree.RootfsPath, context.Store.GetManifestBytes(image.Id));
            }

            File.Move(temp, output, overwrite: _overwrite.Value);
        }
        finally
        {
            File.Delete(temp);
        }

        context.Store.MarkUsed(image.Id);
        return CommandLine.ExitOk;
    }

    /// <summary>Packs a rootfs and a manifest as an ACI tar (PAX format, entries in sorted order).</summary>
    internal static void WriteAci(string path, string rootfs, byte[] manifest)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var writer = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false);
        var manifestEntry = new PaxTarEntry(TarEntryType.RegularFile, "manifest")
        {
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            DataStream = new MemoryStream(manifest),
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        writer.WriteEntry(manifestEntry);
        writer.WriteEntry(rootfs, "rootfs");
        AddDirectory(writer, rootfs, "rootfs");
    }

    private static void AddDirectory(TarWriter writer, string dir, string name)
    {
        foreach (FileSystemInfo entry in new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            string entryName = name + "/" + entry.Name;
            writer.WriteEntry(entry.FullName, entryName);
            if (entry.LinkTarget is null && (entry.Attributes & FileAttributes.Directory) != 0)
            {
                AddDirectory(writer, entry.FullName, entryName);
            }
        }
    }
}
