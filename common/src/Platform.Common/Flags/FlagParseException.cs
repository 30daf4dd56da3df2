namespace Platform.Common.Flags;

/// <summary>The command line or environment could not be parsed. The message is meant for the user.</summary>
public sealed class FlagParseException : Exception
{
    public FlagParseException()
    {
    }

    public FlagParseException(string message)
        : base(message)
    {
    }

    public FlagParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
