using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Platform.Rkt.Metadata;

/// <summary>A registered pod: its UUID, token, address, manifest and the image manifests of its apps.</summary>
internal sealed class RegisteredPod
{
    public RegisteredPod(Guid uuid, string token, IPAddress? ip, JsonObject manifest)
    {
        Uuid = uuid;
        Token = token;
        Ip = ip;
        Manifest = manifest;
    }

    public Guid Uuid { get; }

    public string Token { get; }

    public IPAddress? Ip { get; }

    public JsonObject Manifest { get; }

    /// <summary>App name → image manifest; guarded by the registry's lock.</summary>
    public Dictionary<string, JsonObject> Apps { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The service's state: pods by token (rkt 1.30's <c>AC_METADATA_URL</c> carries the token) and by IP
/// (the older appc rule: the requester's address identifies the pod), and the HMAC key. One key per
/// service instance as rkt had it; every MAC covers the pod UUID's 16 bytes followed by the content,
/// so a signature made for one pod never verifies for another.
/// </summary>
internal sealed class PodRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RegisteredPod> _byToken = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, RegisteredPod> _byUuid = [];
    private readonly Dictionary<IPAddress, RegisteredPod> _byIp = [];
    private readonly byte[] _hmacKey = RandomNumberGenerator.GetBytes(SHA512.HashSizeInBytes);

    public void RegisterPod(Guid uuid, string token, IPAddress? ip, JsonObject manifest)
    {
        var pod = new RegisteredPod(uuid, token, ip, manifest);
        lock (_lock)
        {
            RemoveLocked(uuid);
            if (_byToken.TryGetValue(token, out RegisteredPod? holder))
            {
                RemoveLocked(holder.Uuid);
            }

            _byUuid[uuid] = pod;
            _byToken[token] = pod;
            if (ip is not null)
            {
                _byIp[ip] = pod;
            }
        }
    }

    public bool RegisterApp(Guid uuid, string app, JsonObject imageManifest)
    {
        lock (_lock)
        {
            if (!_byUuid.TryGetValue(uuid, out RegisteredPod? pod))
            {
                return false;
            }

            pod.Apps[app] = imageManifest;
            return true;
        }
    }

    public bool Unregister(Guid uuid)
    {
        lock (_lock)
        {
            return RemoveLocked(uuid);
        }
    }

    public RegisteredPod? ByToken(string token)
    {
        lock (_lock)
        {
            return _byToken.GetValueOrDefault(token);
        }
    }

    public RegisteredPod? ByIp(IPAddress ip)
    {
        lock (_lock)
        {
            return _byIp.GetValueOrDefault(ip);
        }
    }

    public JsonObject? AppManifest(RegisteredPod pod, string app)
    {
        lock (_lock)
        {
            return pod.Apps.GetValueOrDefault(app);
        }
    }

    public byte[] Sign(Guid uuid, string content)
    {
        byte[] uuidBytes = uuid.ToByteArray(bigEndian: true);
        byte[] data = [.. uuidBytes, .. Encoding.UTF8.GetBytes(content)];
        return HMACSHA512.HashData(_hmacKey, data);
    }

    public bool Verify(Guid uuid, string content, byte[] signature) =>
        CryptographicOperations.FixedTimeEquals(Sign(uuid, content), signature);

    private bool RemoveLocked(Guid uuid)
    {
        if (!_byUuid.Remove(uuid, out RegisteredPod? pod))
        {
            return false;
        }

        _byToken.Remove(pod.Token);
        if (pod.Ip is not null && _byIp.TryGetValue(pod.Ip, out RegisteredPod? atIp) && atIp == pod)
        {
            _byIp.Remove(pod.Ip);
        }

        return true;
    }
}
