using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Proto;
using Platform.Raft;

namespace Platform.Etcd.Server.Membership;

/// <summary>
/// The cluster's members (etcd's membership.RaftCluster). Changed only by applied raft conf
/// changes (and the attribute requests members publish), so every member derives the same list;
/// recovered from the raft snapshot and re-derived by replaying the conf changes after it.
/// Thread-safe: the raft loop changes it, API calls read it.
/// </summary>
internal sealed class ClusterMembership
{
    // etcd 3.4's maxLearners.
    private const int MaxLearners = 1;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Member> _members = [];
    private readonly HashSet<ulong> _removed = [];

    public ClusterMembership(ulong localId, ulong clusterId)
    {
        LocalId = localId;
        ClusterId = clusterId;
    }

    public ulong LocalId { get; }

    public ulong ClusterId { get; private set; }

    public IReadOnlyList<Member> List()
    {
        lock (_lock)
        {
            return [.. _members.Values.OrderBy(m => m.ID).Select(m => m.Clone())];
        }
    }

    public Member? Get(ulong id)
    {
        lock (_lock)
        {
            return _members.TryGetValue(id, out Member? m) ? m.Clone() : null;
        }
    }

    public bool IsRemoved(ulong id)
    {
        lock (_lock)
        {
            return _removed.Contains(id);
        }
    }

    public IReadOnlyList<ulong> VoterIds()
    {
        lock (_lock)
        {
            return [.. _members.Values.Where(m => !m.IsLearner).Select(m => m.ID).Order()];
        }
    }

    /// <summary>Checks a committed conf change against the current members (etcd's ValidateConfigurationChange).</summary>
    /// <exception cref="EtcdException">The change is not valid now; it must not be applied to raft.</exception>
    public void Validate(ConfChange cc)
    {
        lock (_lock)
        {
            if (_removed.Contains(cc.NodeId))
            {
                throw EtcdErrors.IdRemoved;
            }

            switch (cc.Type)
            {
                case ConfChangeType.ConfChangeAddNode:
                case ConfChangeType.ConfChangeAddLearnerNode:
                    ConfChangeContext context = ConfChangeContext.Parse(cc);
                    if (context.IsPromote)
                    {
                        if (!_members.TryGetValue(cc.NodeId, out Member? existing))
                        {
                            throw EtcdErrors.MemberNotFound;
                        }

                        if (!existing.IsLearner)
                        {
                            throw EtcdErrors.MemberNotLearner;
                        }
                    }
                    else
                    {
                        if (_members.ContainsKey(cc.NodeId))
                        {
                            throw EtcdErrors.MemberExist;
                        }

                        var urls = _members.Values.SelectMany(m => m.PeerURLs).ToHashSet(StringComparer.Ordinal);
                        if (context.PeerUrls.Any(urls.Contains))
                        {
                            throw EtcdErrors.PeerUrlExist;
                        }

                        if (context.IsLearner && _members.Values.Count(m => m.IsLearner) + 1 > MaxLearners)
                        {
                            throw EtcdErrors.TooManyLearners;
                        }
                    }

                    break;
                case ConfChangeType.ConfChangeRemoveNode:
                    if (!_members.ContainsKey(cc.NodeId))
                    {
                        throw EtcdErrors.MemberNotFound;
                    }

                    break;
                case ConfChangeType.ConfChangeUpdateNode:
                    if (!_members.ContainsKey(cc.NodeId))
                    {
                        throw EtcdErrors.MemberNotFound;
                    }

                    ConfChangeContext update = ConfChangeContext.Parse(cc);
                    var others = _members.Values.Where(m => m.ID != cc.NodeId).SelectMany(m => m.PeerURLs).ToHashSet(StringComparer.Ordinal);
                    if (update.PeerUrls.Any(others.Contains))
                    {
                        throw EtcdErrors.PeerUrlExist;
                    }

                    break;
                default:
                    throw new InvalidOperationException($"unknown conf change type {cc.Type}");
            }
        }
    }

    /// <summary>Applies a validated conf change.</summary>
    public void Apply(ConfChange cc)
    {
        lock (_lock)
        {
            switch (cc.Type)
            {
                case ConfChangeType.ConfChangeAddNode:
                case ConfChangeType.ConfChangeAddLearnerNode:
                    ConfChangeContext context = ConfChangeContext.Parse(cc);
                    if (context.IsPromote)
                    {
                        _members[cc.NodeId].IsLearner = false;
                    }
                    else
                    {
                        var member = new Member { ID = cc.NodeId, Name = context.Name ?? string.Empty, IsLearner = context.IsLearner };
                        member.PeerURLs.AddRange(context.PeerUrls);
                        member.ClientURLs.AddRange(context.ClientUrls ?? []);
                        _members[cc.NodeId] = member;
                    }

                    break;
                case ConfChangeType.ConfChangeRemoveNode:
                    _members.Remove(cc.NodeId);
                    _removed.Add(cc.NodeId);
                    break;
                case ConfChangeType.ConfChangeUpdateNode:
                    ConfChangeContext update = ConfChangeContext.Parse(cc);
                    Member m = _members[cc.NodeId];
                    m.PeerURLs.Clear();
                    m.PeerURLs.AddRange(update.PeerUrls);
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>A member published its name and client URLs (ignored for unknown or removed members).</summary>
    public void SetAttributes(ulong id, MemberAttributes attributes)
    {
        lock (_lock)
        {
            if (_members.TryGetValue(id, out Member? m))
            {
                m.Name = attributes.Name;
                m.ClientURLs.Clear();
                m.ClientURLs.AddRange(attributes.ClientUrls);
            }
        }
    }

    public void SaveTo(SnapshotData data)
    {
        lock (_lock)
        {
            data.Members.AddRange(_members.Values.OrderBy(m => m.ID).Select(m => m.Clone()));
            data.RemovedMemberIds.AddRange(_removed.Order());
            data.ClusterId = ClusterId;
        }
    }

    public void Restore(SnapshotData data)
    {
        lock (_lock)
        {
            _members.Clear();
            _removed.Clear();
            foreach (Member m in data.Members)
            {
                _members[m.ID] = m.Clone();
            }

            _removed.UnionWith(data.RemovedMemberIds);
            if (data.ClusterId != 0)
            {
                ClusterId = data.ClusterId;
            }
        }
    }
}

/// <summary>
/// The JSON etcd 3.4 puts in a conf change's context (membership.ConfigChangeContext: the member,
/// flattened, plus isPromote), so WAL contents stay comparable with etcd's.
/// </summary>
internal sealed class ConfChangeContext
{
    private static readonly JsonSerializerOptions s_json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    [JsonPropertyName("id")]
    public ulong Id { get; set; }

    [JsonPropertyName("peerURLs")]
    public List<string> PeerUrls { get; set; } = [];

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("clientURLs")]
    public List<string>? ClientUrls { get; set; }

    [JsonPropertyName("isLearner")]
    public bool IsLearner { get; set; }

    [JsonPropertyName("isPromote")]
    public bool IsPromote { get; set; }

    public static ConfChangeContext Parse(ConfChange cc) =>
        cc.Context.IsEmpty ? new ConfChangeContext { Id = cc.NodeId } : JsonSerializer.Deserialize<ConfChangeContext>(cc.Context.Span, s_json) ?? new ConfChangeContext();

    public Google.Protobuf.ByteString ToByteString() => Google.Protobuf.ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(this, s_json));
}
