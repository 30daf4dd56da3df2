namespace Platform.Rkt.Cli;

/// <summary>
/// A raw-arguments command with flags whose every occurrence is one whole value, like rkt's
/// <c>--set-env</c> (its <c>envMap</c> splits each occurrence once at <c>=</c>: <c>--set-env=A=x,y</c> sets
/// A to <c>x,y</c>), which a comma-splitting list flag cannot express. <see cref="CommandLine"/> takes
/// such occurrences out of the arguments before the first positional one and hands them over in order.
/// </summary>
internal interface IWholeValueFlags
{
    /// <summary>Flag names (without dashes) taken whole.</summary>
    public IReadOnlyCollection<string> WholeValueFlagNames { get; }

    /// <summary>One occurrence of flag <paramref name="name"/>, exactly as given.</summary>
    public void AddWholeValue(string name, string value);
}
