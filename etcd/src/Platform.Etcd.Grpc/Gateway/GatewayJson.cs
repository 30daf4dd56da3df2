using System.Text;
using Google.Protobuf;

namespace Platform.Etcd.Grpc.Gateway;

/// <summary>
/// The JSON of etcd 3.4's grpc-gateway (golang/protobuf jsonpb with <c>OrigName</c>): proto field
/// names as declared (<c>cluster_id</c>, <c>ID</c>, <c>dbSize</c>), 64-bit integers as strings,
/// bytes as base64, enums by name, zero values and empty lists left out.
/// </summary>
internal static class GatewayJson
{
    private static readonly JsonFormatter s_formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(false));

    /// <summary>
    /// <paramref name="message"/> as the gateway prints it. Google.Protobuf writes
    /// <c>{ "a": 1, "b": 2 }</c>; jsonpb writes no spaces, so the spaces outside strings go.
    /// </summary>
    public static string Format(IMessage message)
    {
        string spaced = s_formatter.Format(message);
        var compact = new StringBuilder(spaced.Length);
        bool inString = false;
        bool escaped = false;
        foreach (char c in spaced)
        {
            if (inString)
            {
                compact.Append(c);
                if (escaped)
                {
                    escaped = false;
                }
                else if (c == '\\')
                {
                    escaped = true;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c != ' ')
            {
                compact.Append(c);
                inString = c == '"';
            }
        }

        return compact.ToString();
    }
}
