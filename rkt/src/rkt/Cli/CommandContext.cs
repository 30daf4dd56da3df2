using Platform.Rkt.Images.Config;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Cli;

/// <summary>What a running command uses: parsed globals, output streams, and the stores opened lazily.</summary>
internal sealed class CommandContext
{
    private IImageStore? _store;

    public CommandContext(string commandName, GlobalOptions globals, TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        CommandName = commandName;
        Globals = globals;
        Stdout = stdout;
        Stderr = stderr;
        Stdin = stdin;
        Progress = new StderrProgress(stderr, commandName);
    }

    public string CommandName { get; }

    public GlobalOptions Globals { get; }

    public TextWriter Stdout { get; }

    public TextWriter Stderr { get; }

    public TextReader Stdin { get; }

    public StderrProgress Progress { get; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ConfigPaths ConfigPaths => new()
    {
        SystemConfig = Globals.SystemConfig,
        LocalConfig = Globals.LocalConfig,
        UserConfig = Globals.UserConfig,
    };

    public IImageStore Store => _store ??= StoreFactory.OpenImageStore(new StoreOptions { DataDirectory = Globals.DataDirectory, Time = Time });

    public ITreeStore Trees => StoreFactory.OpenTreeStore(Store);

    public ITrustStore Trust => TrustStoreFactory.Open(ConfigPaths, Time);

    /// <summary>A fetcher with the global flags and <paramref name="pullPolicy"/>.</summary>
    public IImageFetcher CreateFetcher(PullPolicy pullPolicy, string? signature = null) =>
        FetcherFactory.Create(Store, Trust, new FetchOptions
        {
            Insecure = Globals.Insecure,
            PullPolicy = pullPolicy,
            TrustKeysFromHttps = Globals.TrustKeysFromHttps,
            SignaturePath = signature,
            Auth = AuthConfig.Load(ConfigPaths.InPrecedenceOrder()),
            Progress = Progress,
        });

    /// <summary>Prints <c>command: message</c> on stderr, rkt's error style.</summary>
    public void Error(string message) => Stderr.WriteLine($"{CommandName}: {message}");

    /// <summary>Resolves an image argument (ID prefix or name[:version]) to exactly one stored image.</summary>
    /// <exception cref="CommandException">None or several match.</exception>
    public ImageInfo ResolveImage(string reference)
    {
        IReadOnlyList<ImageInfo> found = Store.Find(reference);
        bool byId = reference.StartsWith("sha", StringComparison.Ordinal);
        return found.Count switch
        {
            0 => throw new CommandException($"no image found matching \"{reference}\""),
            1 => found[0],
            _ when !byId => found[0], // the newest with that name, as rkt picks.
            _ => throw new CommandException($"ambiguous image ID \"{reference}\": {found.Count} images match"),
        };
    }
}

/// <summary>A command failed in a way it already described; exit 254.</summary>
internal sealed class CommandException : Exception
{
    public CommandException()
    {
    }

    public CommandException(string message)
        : base(message)
    {
    }

    public CommandException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
