using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Proto;

namespace Platform.Etcd.Server.Membership;

/// <summary>
/// Reads the data of a raft snapshot file: ours (<see cref="SnapshotData"/>, protobuf) or etcd's,
/// which is the v2 store's JSON (what etcd and <c>etcdctl snapshot restore</c> write), whose
/// <c>/0/members/&lt;hex id&gt;/{raftAttributes,attributes}</c> and <c>/0/removed_members/&lt;hex id&gt;</c>
/// hold the membership. An encoded <see cref="SnapshotData"/> never starts with '{' (0x7B would
/// be field 15, a group), so the first byte tells them apart.
/// </summary>
internal static class SnapshotDataFormat
{
    public static SnapshotData Parse(ByteString data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ReadOnlySpan<byte> span = data.Span;
        if (span.IsEmpty || span[0] != (byte)'{')
        {
            return SnapshotData.Parser.ParseFrom(data);
        }

        var result = new SnapshotData { V2Store = data };
        try
        {
            using var json = JsonDocument.Parse(data.Memory);
            if (!TryChild(json.RootElement.GetProperty("Root"), "0", out JsonElement system))
            {
                return result;
            }

            if (TryChild(system, "members", out JsonElement members) && members.TryGetProperty("Children", out JsonElement ids) && ids.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty node in ids.EnumerateObject())
                {
                    var member = new Member { ID = ulong.Parse(node.Name, NumberStyles.HexNumber, CultureInfo.InvariantCulture) };
                    if (TryChild(node.Value, "raftAttributes", out JsonElement raft) && Value(raft) is JsonElement ra)
                    {
                        if (ra.TryGetProperty("peerURLs", out JsonElement peers) && peers.ValueKind == JsonValueKind.Array)
                        {
                            member.PeerURLs.AddRange(peers.EnumerateArray().Select(u => u.GetString() ?? ""));
                        }

                        member.IsLearner = ra.TryGetProperty("isLearner", out JsonElement learner) && learner.ValueKind == JsonValueKind.True;
                    }

                    if (TryChild(node.Value, "attributes", out JsonElement attributes) && Value(attributes) is JsonElement a)
                    {
                        member.Name = a.TryGetProperty("name", out JsonElement name) ? name.GetString() ?? "" : "";
                        if (a.TryGetProperty("clientURLs", out JsonElement clients) && clients.ValueKind == JsonValueKind.Array)
                        {
                            member.ClientURLs.AddRange(clients.EnumerateArray().Select(u => u.GetString() ?? ""));
                        }
                    }

                    result.Members.Add(member);
                }
            }

            if (TryChild(system, "removed_members", out JsonElement removed) && removed.TryGetProperty("Children", out JsonElement gone) && gone.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty node in gone.EnumerateObject())
                {
                    result.RemovedMemberIds.Add(ulong.Parse(node.Name, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"etcdserver: the snapshot's v2 store JSON has no readable membership: {e.Message}", e);
        }

        return result;
    }

    private static bool TryChild(JsonElement node, string name, out JsonElement child)
    {
        child = default;
        return node.ValueKind == JsonValueKind.Object
            && node.TryGetProperty("Children", out JsonElement children)
            && children.ValueKind == JsonValueKind.Object
            && children.TryGetProperty(name, out child)
            && child.ValueKind == JsonValueKind.Object;
    }

    private static JsonElement? Value(JsonElement node) =>
        node.TryGetProperty("Value", out JsonElement v) && v.GetString() is { Length: > 0 } text
            ? JsonDocument.Parse(text).RootElement.Clone()
            : null;
}
