using Platform.Rkt.Images.Trees;

namespace Platform.Rkt.Images.Store;

/// <summary>Opens the store under rkt's data directory.</summary>
public static class StoreFactory
{
    /// <summary>
    /// Opens (creating if needed) the image store at <c>&lt;DataDirectory&gt;/cas</c> and sweeps staging
    /// directories left by killed processes.
    /// </summary>
    public static IImageStore OpenImageStore(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ImageStore(options);
    }

    /// <summary>The tree store over <paramref name="images"/> (which must come from <see cref="OpenImageStore"/>).</summary>
    public static ITreeStore OpenTreeStore(IImageStore images) =>
        new TreeStore(images as ImageStore ?? throw new ArgumentException("not a store opened by StoreFactory", nameof(images)));
}
