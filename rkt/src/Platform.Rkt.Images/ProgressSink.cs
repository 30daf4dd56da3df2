namespace Platform.Rkt.Images;

/// <summary>
/// Where fetches and renders report progress and notable events. The CLI draws rkt-style progress
/// on stderr; tests and libraries pass <see cref="NullProgressSink"/>.
/// </summary>
public interface IProgressSink
{
    /// <summary><paramref name="done"/> of <paramref name="total"/> bytes (null when unknown) of <paramref name="what"/>.</summary>
    public void Progress(string what, long done, long? total);

    /// <summary>A line such as "image: signature verified".</summary>
    public void Message(string message);
}

/// <summary>Discards everything.</summary>
public sealed class NullProgressSink : IProgressSink
{
    public static readonly NullProgressSink Instance = new();

    public void Progress(string what, long done, long? total)
    {
    }

    public void Message(string message)
    {
    }
}
