using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Tests.Support;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Images.Tests.Trust;

public sealed class SignatureTests
{
    private static readonly FetchOptions s_secure = new();

    [Fact]
    public async Task Fetch_SignedByTrustedPrefixKey_Imports()
    {
        using var fx = new StoreFixture(nameof(Fetch_SignedByTrustedPrefixKey_Imports));
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), "example.com");
        byte[] aci = TestAci.Gzip(new TestAci("example.com/app").File("rootfs/hello", "hi").ToTar());
        string path = fx.Write("app.aci", aci);
        fx.Write("app.aci.asc", key.Sign(aci));

        var image = await fx.Fetcher(s_secure).FetchAsync(path);

        Assert.Equal("example.com/app", image.Name);
    }

    [Fact]
    public async Task Fetch_Unsigned_RefusedUnlessInsecureImage()
    {
        using var fx = new StoreFixture(nameof(Fetch_Unsigned_RefusedUnlessInsecureImage));
        string path = new TestAci("example.com/app").WriteTo(fx.Directory.Combine("app.aci"));

        var error = await Assert.ThrowsAsync<SignatureException>(() => fx.Fetcher(s_secure).FetchAsync(path));
        Assert.Contains("--insecure-options=image", error.Message, StringComparison.Ordinal);
        Assert.Empty(fx.Store.List());

        var image = await fx.Fetcher(new FetchOptions { Insecure = InsecureOptions.Image }).FetchAsync(path);
        Assert.Equal("example.com/app", image.Name);
    }

    [Fact]
    public async Task Fetch_SignedByUntrustedKey_Refused()
    {
        using var fx = new StoreFixture(nameof(Fetch_SignedByUntrustedKey_Refused));
        fx.Trust.Add(TestKey.Generate().ArmoredPublicKey(), "example.com");
        byte[] aci = TestAci.Gzip(new TestAci("example.com/app").ToTar());
        string path = fx.Write("app.aci", aci);
        fx.Write("app.aci.asc", TestKey.Generate("Mallory <m@evil.example>").Sign(aci));

        var error = await Assert.ThrowsAsync<SignatureException>(() => fx.Fetcher(s_secure).FetchAsync(path));

        Assert.Contains("unknown entity", error.Message, StringComparison.Ordinal);
        Assert.Empty(fx.Store.List());
    }

    [Fact]
    public async Task Fetch_TamperedImage_RefusedAsInvalidSignature()
    {
        using var fx = new StoreFixture(nameof(Fetch_TamperedImage_RefusedAsInvalidSignature));
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), null);
        byte[] original = TestAci.Gzip(new TestAci("example.com/app").File("rootfs/x", "original").ToTar());
        byte[] tampered = TestAci.Gzip(new TestAci("example.com/app").File("rootfs/x", "tampered").ToTar());
        string path = fx.Write("app.aci", tampered);
        fx.Write("app.aci.asc", key.Sign(original));

        var error = await Assert.ThrowsAsync<SignatureException>(() => fx.Fetcher(s_secure).FetchAsync(path));

        Assert.Contains("invalid signature", error.Message, StringComparison.Ordinal);
        Assert.Empty(fx.Store.List());
    }

    [Fact]
    public async Task Fetch_KeyTrustedForOtherPrefix_Refused()
    {
        using var fx = new StoreFixture(nameof(Fetch_KeyTrustedForOtherPrefix_Refused));
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), "example.com/app"); // not a component prefix of example.com/apple
        byte[] aci = TestAci.Gzip(new TestAci("example.com/apple").ToTar());
        string path = fx.Write("apple.aci", aci);
        fx.Write("apple.aci.asc", key.Sign(aci));

        await Assert.ThrowsAsync<SignatureException>(() => fx.Fetcher(s_secure).FetchAsync(path));
    }

    [Fact]
    public void Add_PrefixKey_StoredUnderRktLayoutByFingerprint()
    {
        using var fx = new StoreFixture(nameof(Add_PrefixKey_StoredUnderRktLayoutByFingerprint));
        var key = TestKey.Generate();

        TrustedKey added = fx.Trust.Add(key.ArmoredPublicKey(), "example.com/app");

        Assert.Equal(Path.Combine(fx.Config.LocalConfig, "trustedkeys", "prefix.d", "example.com", "app", key.Fingerprint), added.Path);
        Assert.Contains("Test Signer <signer@example.com>", added.UserIds);
        Assert.Single(fx.Trust.List("example.com/app", all: false));
        Assert.Empty(fx.Trust.List(null, all: false));
    }

    [Fact]
    public void Remove_RootKey_NoLongerListed()
    {
        using var fx = new StoreFixture(nameof(Remove_RootKey_NoLongerListed));
        var key = TestKey.Generate();
        fx.Trust.Add(key.ArmoredPublicKey(), null);
        Assert.Single(fx.Trust.List(null, all: true));

        Assert.True(fx.Trust.Remove(key.Fingerprint, null));

        Assert.Empty(fx.Trust.List(null, all: true));
        Assert.False(fx.Trust.Remove(key.Fingerprint, null));
    }

    [Fact]
    public void Verify_SystemConfigKey_Trusted()
    {
        using var fx = new StoreFixture(nameof(Verify_SystemConfigKey_Trusted));
        var key = TestKey.Generate();
        string dir = Path.Combine(fx.Config.SystemConfig, "trustedkeys", "root.d");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, key.Fingerprint), key.ArmoredPublicKey());
        byte[] data = "content"u8.ToArray();

        TrustedKey signer = fx.Trust.Verify("example.com/x", new MemoryStream(data), new MemoryStream(key.Sign(data)));

        Assert.Equal(key.Fingerprint, signer.Fingerprint);
    }

    [Fact]
    public void Add_NotAKey_Throws()
    {
        using var fx = new StoreFixture(nameof(Add_NotAKey_Throws));

        Assert.Throws<InvalidDataException>(() => fx.Trust.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n-----END PGP PUBLIC KEY BLOCK-----\n"u8, null));
    }
}
