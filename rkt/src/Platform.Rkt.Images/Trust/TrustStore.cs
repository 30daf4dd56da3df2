using Org.BouncyCastle.Bcpg.OpenPgp;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Trust;

/// <summary>The keystore on disk; see <see cref="ITrustStore"/>. OpenPGP is BouncyCastle's.</summary>
internal sealed class TrustStore : ITrustStore
{
    private readonly ConfigPaths _paths;
    private readonly TimeProvider _time;

    public TrustStore(ConfigPaths paths, TimeProvider time)
    {
        _paths = paths;
        _time = time;
    }

    public TrustedKey Add(ReadOnlySpan<byte> armoredKey, string? prefix)
    {
        PgpPublicKeyRing ring = ParseRing(armoredKey);
        PgpPublicKey master = ring.GetPublicKey();
        if (master.HasRevocation())
        {
            throw new InvalidDataException("the key is revoked");
        }

        CheckNotExpired(master);
        string fingerprint = Convert.ToHexStringLower(master.GetFingerprint());
        string dir = KeyDirectory(_paths.LocalConfig, prefix);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, fingerprint);
        string temp = path + ".tmp";
        File.WriteAllBytes(temp, Armor(ring));
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temp, path, overwrite: true);
        return new TrustedKey(fingerprint, prefix, path, UserIds(master));
    }

    public TrustedKey Inspect(ReadOnlySpan<byte> armoredKey)
    {
        PgpPublicKey master = ParseRing(armoredKey).GetPublicKey();
        return new TrustedKey(Convert.ToHexStringLower(master.GetFingerprint()), null, string.Empty, UserIds(master));
    }

    public IReadOnlyList<TrustedKey> List(string? prefix, bool all)
    {
        var keys = new Dictionary<(string?, string), TrustedKey>();
        foreach (string config in _paths.InPrecedenceOrder())
        {
            string trusted = Path.Combine(config, "trustedkeys");
            if (all)
            {
                AddKeysIn(Path.Combine(trusted, "root.d"), null, keys);
                string prefixRoot = Path.Combine(trusted, "prefix.d");
                if (Directory.Exists(prefixRoot))
                {
                    foreach (string dir in Directory.EnumerateDirectories(prefixRoot, "*", SearchOption.AllDirectories))
                    {
                        AddKeysIn(dir, Path.GetRelativePath(prefixRoot, dir), keys);
                    }
                }
            }
            else
            {
                AddKeysIn(KeyDirectory(config, prefix), prefix, keys);
            }
        }

        return keys.Values.OrderBy(k => k.Prefix ?? string.Empty, StringComparer.Ordinal).ThenBy(k => k.Fingerprint, StringComparer.Ordinal).ToList();
    }

    public bool Remove(string fingerprint, string? prefix)
    {
        string path = Path.Combine(KeyDirectory(_paths.LocalConfig, prefix), fingerprint.ToLowerInvariant().Replace(" ", string.Empty, StringComparison.Ordinal));
        if (!File.Exists(path) || Path.GetFileName(path).Any(c => !char.IsAsciiHexDigit(c)))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    public TrustedKey Verify(string imageName, Stream signed, Stream signature)
    {
        List<(TrustedKey Key, PgpPublicKeyRing Ring)> keyring = KeyringFor(imageName);
        if (keyring.Count == 0)
        {
            throw new SignatureException($"no keys trusted for \"{imageName}\" (add one with: rkt trust --prefix={imageName})");
        }

        PgpSignatureList signatures = ReadSignatures(signature);
        for (int i = 0; i < signatures.Count; i++)
        {
            PgpSignature sig = signatures[i];
            foreach ((TrustedKey key, PgpPublicKeyRing ring) in keyring)
            {
                PgpPublicKey? signer = ring.GetPublicKey(sig.KeyId);
                if (signer is null)
                {
                    continue;
                }

                if (signer.HasRevocation() || ring.GetPublicKey().HasRevocation())
                {
                    throw new SignatureException($"openpgp: the signing key {key.Fingerprint} is revoked");
                }

                CheckValidAt(signer, sig.CreationTime);
                sig.InitVerify(signer);
                byte[] buffer = new byte[128 * 1024];
                int n;
                while ((n = signed.Read(buffer)) > 0)
                {
                    sig.Update(buffer, 0, n);
                }

                if (!sig.Verify())
                {
                    throw new SignatureException("openpgp: invalid signature: the image does not match its signature");
                }

                return key;
            }
        }

        throw new SignatureException($"openpgp: signature made by unknown entity (key ID {signatures[0].KeyId:X16}), not trusted for \"{imageName}\"");
    }

    /// <summary>Trusted keys for an image name: root keys, then every path prefix of the name.</summary>
    private List<(TrustedKey, PgpPublicKeyRing)> KeyringFor(string imageName)
    {
        var keys = new Dictionary<(string?, string), TrustedKey>();
        string[] parts = imageName.Split('/');
        foreach (string config in _paths.InPrecedenceOrder())
        {
            AddKeysIn(KeyDirectory(config, null), null, keys);
            for (int n = 1; n <= parts.Length; n++)
            {
                string prefix = string.Join('/', parts[..n]);
                AddKeysIn(KeyDirectory(config, prefix), prefix, keys);
            }
        }

        var result = new List<(TrustedKey, PgpPublicKeyRing)>();
        foreach (TrustedKey key in keys.Values)
        {
            try
            {
                result.Add((key, ParseRing(File.ReadAllBytes(key.Path))));
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // An unreadable key file trusts nothing.
            }
        }

        return result;
    }

    private static void AddKeysIn(string dir, string? prefix, Dictionary<(string?, string), TrustedKey> keys)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        foreach (string file in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(file);
            if (name.Length < 16 || !name.All(char.IsAsciiHexDigit))
            {
                continue;
            }

            IReadOnlyList<string> userIds;
            try
            {
                userIds = UserIds(ParseRing(File.ReadAllBytes(file)).GetPublicKey());
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                continue;
            }

            keys[(prefix, name)] = new TrustedKey(name, prefix, file, userIds);
        }
    }

    /// <summary>rkt's layout: root keys in <c>root.d</c>, prefix keys below <c>prefix.d/&lt;prefix&gt;</c>.</summary>
    internal static string KeyDirectory(string config, string? prefix)
    {
        string trusted = Path.Combine(config, "trustedkeys");
        if (prefix is null)
        {
            return Path.Combine(trusted, "root.d");
        }

        if (!AppcNames.IsAcIdentifier(prefix))
        {
            throw new ArgumentException($"prefix \"{prefix}\" is not a valid AC Identifier", nameof(prefix));
        }

        return Path.Combine(trusted, "prefix.d", prefix);
    }

    private static PgpPublicKeyRing ParseRing(ReadOnlySpan<byte> data)
    {
        try
        {
            using Stream decoder = PgpUtilities.GetDecoderStream(new MemoryStream(data.ToArray()));
            var factory = new PgpObjectFactory(decoder);
            while (factory.NextPgpObject() is { } obj)
            {
                if (obj is PgpPublicKeyRing ring)
                {
                    return ring;
                }
            }
        }
        catch (Exception e) when (e is IOException or PgpException)
        {
            throw new InvalidDataException($"not an OpenPGP public key: {e.Message}", e);
        }

        throw new InvalidDataException("not an OpenPGP public key: no public key packet found");
    }

    private static PgpSignatureList ReadSignatures(Stream signature)
    {
        try
        {
            using Stream decoder = PgpUtilities.GetDecoderStream(signature);
            var factory = new PgpObjectFactory(decoder);
            while (factory.NextPgpObject() is { } obj)
            {
                switch (obj)
                {
                    case PgpSignatureList list when list.Count > 0:
                        return list;
                    case PgpCompressedData compressed:
                        factory = new PgpObjectFactory(compressed.GetDataStream());
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or PgpException)
        {
            throw new SignatureException($"openpgp: the signature is malformed: {e.Message}", e);
        }

        throw new SignatureException("openpgp: the signature file holds no signature");
    }

    private void CheckNotExpired(PgpPublicKey key)
    {
        long valid = key.GetValidSeconds();
        if (valid > 0 && key.CreationTime.AddSeconds(valid) < _time.GetUtcNow().UtcDateTime)
        {
            throw new InvalidDataException("the key has expired");
        }
    }

    private static void CheckValidAt(PgpPublicKey key, DateTime when)
    {
        long valid = key.GetValidSeconds();
        if (when < key.CreationTime)
        {
            throw new SignatureException("openpgp: the signature predates its key");
        }

        if (valid > 0 && key.CreationTime.AddSeconds(valid) < when)
        {
            throw new SignatureException("openpgp: the signing key had expired when the signature was made");
        }
    }

    private static List<string> UserIds(PgpPublicKey key) => key.GetUserIds().ToList();

    private static byte[] Armor(PgpPublicKeyRing ring)
    {
        using var output = new MemoryStream();
        using (var armored = new Org.BouncyCastle.Bcpg.ArmoredOutputStream(output))
        {
            ring.Encode(armored);
        }

        return output.ToArray();
    }
}

/// <summary>Opens the trust store.</summary>
public static class TrustStoreFactory
{
    public static ITrustStore Open(ConfigPaths paths, TimeProvider? time = null) => new TrustStore(paths, time ?? TimeProvider.System);
}
