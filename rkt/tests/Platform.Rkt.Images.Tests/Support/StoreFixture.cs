using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;
using Platform.Rkt.Images.Trust;
using Platform.Testing;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>A store, a tree store and a trust store in a fresh <see cref="TestDirectory"/>.</summary>
internal sealed class StoreFixture : IDisposable
{
    public StoreFixture(string name, ExtractionPolicy? policy = null)
    {
        Directory = TestDirectory.Create(name);
        Options = new StoreOptions { DataDirectory = Directory.Combine("data"), Extraction = policy ?? ExtractionPolicy.ForCurrentUser() };
        Store = StoreFactory.OpenImageStore(Options);
        Trees = StoreFactory.OpenTreeStore(Store);
        Config = new ConfigPaths { SystemConfig = Directory.Combine("usr-lib-rkt"), LocalConfig = Directory.Combine("etc-rkt") };
        Trust = TrustStoreFactory.Open(Config);
        Outside = Directory.Combine("outside");
        System.IO.Directory.CreateDirectory(Outside);
    }

    public TestDirectory Directory { get; }

    public StoreOptions Options { get; }

    public IImageStore Store { get; }

    public ITreeStore Trees { get; }

    public ConfigPaths Config { get; }

    public ITrustStore Trust { get; }

    /// <summary>A directory beside the store that hostile images try to write into; must stay empty.</summary>
    public string Outside { get; }

    public IImageFetcher Fetcher(FetchOptions? options = null) => FetcherFactory.Create(Store, Trust, options ?? new FetchOptions { Insecure = InsecureOptions.Image });

    public string Write(string name, byte[] content)
    {
        string path = Directory.Combine(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Asserts the store holds no image and no blob, and nothing was written outside it.</summary>
    public void AssertStoreEmptyAndNothingOutside()
    {
        Assert.Empty(Store.List());
        Assert.Empty(System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(Store.Root, "blob")));
        Assert.Empty(System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(Store.Root, "index")));
        Assert.DoesNotContain(System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(Store.Root, "tmp")), System.IO.Directory.Exists);
        Assert.Empty(System.IO.Directory.EnumerateFileSystemEntries(Outside));
    }

    public void Dispose() => Directory.Dispose();
}
