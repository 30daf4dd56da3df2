using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>An OpenPGP key made at test time, able to sign detached like <c>gpg --armor --detach-sign</c>.</summary>
internal sealed class TestKey
{
    private static readonly char[] s_passphrase = "test".ToCharArray();
    private readonly PgpSecretKey _secret;

    private TestKey(PgpSecretKey secret)
    {
        _secret = secret;
    }

    /// <summary>A 1024-bit RSA key (fast to generate; strength is not under test).</summary>
    public static TestKey Generate(string userId = "Test Signer <signer@example.com>")
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(0x10001), new SecureRandom(), 1024, 12));
        var pair = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, generator.GenerateKeyPair(), DateTime.UtcNow.AddMinutes(-1));
        var secret = new PgpSecretKey(PgpSignature.DefaultCertification, pair, userId, SymmetricKeyAlgorithmTag.Aes128, s_passphrase, true, null, null, new SecureRandom());
        return new TestKey(secret);
    }

    public string Fingerprint => Convert.ToHexStringLower(_secret.PublicKey.GetFingerprint());

    /// <summary>The armored public key, as <c>gpg --armor --export</c> writes it.</summary>
    public byte[] ArmoredPublicKey()
    {
        using var output = new MemoryStream();
        using (var armored = new ArmoredOutputStream(output))
        {
            new PgpPublicKeyRing(_secret.PublicKey.GetEncoded()).Encode(armored);
        }

        return output.ToArray();
    }

    /// <summary>An armored detached signature of <paramref name="data"/>.</summary>
    public byte[] Sign(byte[] data)
    {
        var generator = new PgpSignatureGenerator(PublicKeyAlgorithmTag.RsaGeneral, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, _secret.ExtractPrivateKey(s_passphrase));
        generator.Update(data);
        using var output = new MemoryStream();
        using (var armored = new ArmoredOutputStream(output))
        {
            generator.Generate().Encode(armored);
        }

        return output.ToArray();
    }
}
