using System.Text;

namespace Platform.Flannel.Cni.Cni;

/// <summary>
/// A CNI error result (spec "Error"): printed on stdout as JSON, the plugin then exits non-zero.
/// Codes are the spec's well-known ones (<see cref="CniErrorCodes"/>).
/// </summary>
internal sealed class CniException : Exception
{
    public CniException(uint code, string message, string details = "")
        : base(message)
    {
        Code = code;
        Details = details;
    }

    public uint Code { get; }

    public string Details { get; }

    /// <summary>
    /// The error JSON as libcni's <c>types.Error.Print</c> indents it (four spaces), with the
    /// spec's <c>cniVersion</c> first; <c>details</c> only when set.
    /// </summary>
    public string ToJson(string cniVersion)
    {
        var text = new StringBuilder();
        text.Append("{\n    \"cniVersion\": ").Append(GoJson.Quote(cniVersion)).Append(",\n");
        text.Append("    \"code\": ").Append(Code).Append(",\n");
        text.Append("    \"msg\": ").Append(GoJson.Quote(Message));
        if (Details.Length > 0)
        {
            text.Append(",\n    \"details\": ").Append(GoJson.Quote(Details));
        }

        text.Append("\n}\n");
        return text.ToString();
    }
}

/// <summary>The CNI spec's well-known error codes (libcni <c>types.Err*</c>).</summary>
internal static class CniErrorCodes
{
    public const uint IncompatibleCniVersion = 1;
    public const uint UnsupportedField = 2;
    public const uint UnknownContainer = 3;
    public const uint InvalidEnvironmentVariables = 4;
    public const uint IoFailure = 5;
    public const uint DecodingFailure = 6;
    public const uint InvalidNetworkConfig = 7;
    public const uint InvalidNetNs = 8;
    public const uint TryAgainLater = 11;
    public const uint Internal = 999;
}
