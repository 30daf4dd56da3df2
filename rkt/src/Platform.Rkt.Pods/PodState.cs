namespace Platform.Rkt.Pods;

/// <summary>
/// rkt's pod states (<c>Documentation/devel/pod-lifecycle.md</c>): a directory under <c>$dir/pods/</c>
/// plus whether its flock is held. The strings are the ones rkt prints.
/// </summary>
public static class PodStates
{
    public const string Embryo = "embryo";
    public const string Preparing = "preparing";
    public const string AbortedPrepare = "aborted prepare";
    public const string Prepared = "prepared";
    public const string Running = "running";
    public const string Deleting = "deleting";
    public const string ExitedDeleting = "exited deleting";
    public const string Exited = "exited";
    public const string ExitedGarbage = "exited garbage";
    public const string Garbage = "garbage";

    /// <summary>The state directories, in lifecycle order.</summary>
    public static IReadOnlyList<string> Directories { get; } = ["embryo", "prepare", "prepared", "run", "exited-garbage", "garbage"];

    /// <summary>The state of a pod in <paramref name="directory"/> whose lock is or is not held.</summary>
    public static string Of(string directory, bool locked) => directory switch
    {
        "embryo" => Embryo,
        "prepare" => locked ? Preparing : AbortedPrepare,
        "prepared" => Prepared,
        "run" => locked ? Running : Exited,
        "exited-garbage" => locked ? ExitedDeleting : ExitedGarbage,
        "garbage" => locked ? Deleting : Garbage,
        _ => throw new ArgumentException($"unknown pod state directory \"{directory}\""),
    };
}
