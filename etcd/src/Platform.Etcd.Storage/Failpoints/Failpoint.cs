#if PLATFORM_FAILPOINTS
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Platform.Etcd.Storage.Failpoints;

/// <summary>
/// Test-only fault injection (etcd's gofail re-expressed), compiled only into the
/// <c>Failpoints</c> build configuration (<c>PLATFORM_FAILPOINTS</c>): every call site is inside
/// <c>#if PLATFORM_FAILPOINTS</c>, so a Release or Debug build has neither the hooks nor this type,
/// and no environment variable can enable anything there.
/// </summary>
/// <remarks>
/// Spec: <c>name=action[@N]</c>, several separated by <c>,</c>; the N-th evaluation of the point
/// (default 1) fires, counted from when the spec was armed. Armed from
/// <c>PLATFORM_ETCD_FAILPOINTS</c> at startup, or from the file <c>PLATFORM_ETCD_FAILPOINTS_FILE</c>
/// names once it appears (checked at every evaluation until then: the robustness harness arms one
/// member at the moment it chooses). Actions: <c>eio</c> (the operation fails with EIO from then on,
/// a failed disk), <c>kill</c> (SIGKILL of this process: no shutdown path runs), <c>torn</c> (only
/// <see cref="WalWrite"/>: a prefix of the bytes is written, ending inside a frame, then SIGKILL).
/// A firing point writes one line to stderr first.
/// </remarks>
internal static class Failpoint
{
    /// <summary>A WAL <c>pwrite</c> of a batch of frames (Save, SaveSnapshot, a new segment's header).</summary>
    public const string WalWrite = "wal-write";

    /// <summary>The WAL's <c>fdatasync</c> after a Save or snapshot marker.</summary>
    public const string WalFsync = "wal-fsync";

    /// <summary>The raft loop, after a Ready's entries and hard state are durable, before messages go out or entries apply.</summary>
    public const string RaftAfterSave = "raft-after-save";

    /// <summary>A snapshot: the <c>.snap</c> file is durable, its WAL marker not yet written.</summary>
    public const string RaftAfterSaveSnap = "raft-after-save-snap";

    public const string SpecVariable = "PLATFORM_ETCD_FAILPOINTS";

    public const string FileVariable = "PLATFORM_ETCD_FAILPOINTS_FILE";

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, Armed> s_points = new(StringComparer.Ordinal);
    private static readonly string? s_file = Environment.GetEnvironmentVariable(FileVariable);
    private static bool s_fileRead;

    static Failpoint()
    {
        string? spec = Environment.GetEnvironmentVariable(SpecVariable);
        if (!string.IsNullOrWhiteSpace(spec))
        {
            Arm(spec, SpecVariable);
        }
    }

    private enum Action
    {
        Eio,
        Kill,
        Torn,
    }

    /// <summary>Evaluates <paramref name="name"/>: throws EIO, or kills the process, when it fires.</summary>
    /// <exception cref="IOException">The point fires with <c>eio</c>.</exception>
    public static void Evaluate(string name)
    {
        if (Fires(name) is not Action action)
        {
            return;
        }

        switch (action)
        {
            case Action.Eio:
                throw new IOException($"{OperationOf(name)} failed: Input/output error (failpoint {name})", 5);
            default:
                Kill();
                break;
        }
    }

    /// <summary>
    /// Evaluates <see cref="WalWrite"/> before <paramref name="bytes"/> go to <paramref name="handle"/>
    /// at <paramref name="offset"/>: when it fires with <c>torn</c>, writes a prefix that ends
    /// inside a frame (not a multiple of 8 bytes: frames are 8-byte aligned) and kills the process.
    /// </summary>
    public static void EvaluateWrite(SafeFileHandle handle, ReadOnlySpan<byte> bytes, long offset)
    {
        if (Fires(WalWrite) is not Action action)
        {
            return;
        }

        switch (action)
        {
            case Action.Eio:
                throw new IOException($"pwrite failed: Input/output error (failpoint {WalWrite})", 5);
            case Action.Torn:
                int cut = TornCut(bytes);
                RandomAccess.Write(handle, bytes[..cut], offset);
                Console.Error.WriteLine($"failpoint {WalWrite}: wrote {cut} of {bytes.Length} bytes at offset {offset}, no fsync");
                Kill();
                break;
            default:
                Kill();
                break;
        }
    }

    /// <summary>
    /// Where to cut: in the middle of the last frame's record bytes (not in its zero padding, which
    /// would leave a frame that decodes whole), so the frames before it are complete and the log
    /// ends in a torn frame.
    /// </summary>
    private static int TornCut(ReadOnlySpan<byte> bytes)
    {
        int last = 0;
        long recordBytes = 0;
        for (int offset = 0; offset + 8 <= bytes.Length;)
        {
            (long record, int padding, bool valid) = Wal.WalFrame.DecodeLength(BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]));
            if (!valid || record <= 0)
            {
                break;
            }

            last = offset;
            recordBytes = record;
            offset += 8 + (int)record + padding;
        }

        return (int)Math.Min(bytes.Length - 1, last + 8 + Math.Max(1, recordBytes / 2));
    }

    private static Action? Fires(string name)
    {
        lock (s_lock)
        {
            if (!s_fileRead && s_file is not null && File.Exists(s_file))
            {
                s_fileRead = true;
                Arm(File.ReadAllText(s_file), s_file);
            }

            if (!s_points.TryGetValue(name, out Armed? point))
            {
                return null;
            }

            point.Hits++;
            if (point.Hits < point.FireAt)
            {
                return null;
            }

            if (point.Hits == point.FireAt)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"failpoint {name} fired: {point.Action.ToString().ToLowerInvariant()} at evaluation {point.Hits}"));
            }

            return point.Action;
        }
    }

    /// <summary>
    /// Parses a spec; a bad one is reported on stderr and stops the process at once (a misconfigured
    /// test run must not go on unfaulted, nor fail later with a type-initializer error).
    /// </summary>
    private static void Arm(string spec, string source)
    {
        try
        {
            Parse(spec, source);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
            Kill();
        }
    }

    private static void Parse(string spec, string source)
    {
        foreach (string part in spec.Split([',', '\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            string name = equals > 0 ? part[..equals] : throw Bad(part, source);
            string rest = part[(equals + 1)..];
            int at = rest.IndexOf('@', StringComparison.Ordinal);
            string actionText = at >= 0 ? rest[..at] : rest;
            long fireAt = 1;
            if (at >= 0 && (!long.TryParse(rest[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out fireAt) || fireAt < 1))
            {
                throw Bad(part, source);
            }

            Action action = actionText switch
            {
                "eio" => Action.Eio,
                "kill" => Action.Kill,
                "torn" when name == WalWrite => Action.Torn,
                _ => throw Bad(part, source),
            };
            if (name is not (WalWrite or WalFsync or RaftAfterSave or RaftAfterSaveSnap))
            {
                throw Bad(part, source);
            }

            s_points[name] = new Armed(action, fireAt);
            Console.Error.WriteLine($"failpoint {name} armed: {actionText} at evaluation {fireAt} (from {source})");
        }
    }

    private static InvalidOperationException Bad(string part, string source) =>
        new($"failpoints: cannot parse '{part}' from {source}: expected name=eio|kill|torn[@N] with name one of {WalWrite}, {WalFsync}, {RaftAfterSave}, {RaftAfterSaveSnap} (torn only for {WalWrite})");

    private static string OperationOf(string name) => name == WalFsync ? "fdatasync" : name;

    private static void Kill()
    {
        Console.Error.Flush();
        using Process self = Process.GetCurrentProcess();
        self.Kill();

        // SIGKILL is delivered asynchronously; nothing may run after the fault point meanwhile.
        Thread.Sleep(Timeout.Infinite);
    }

    private sealed class Armed(Action action, long fireAt)
    {
        public Action Action { get; } = action;

        public long FireAt { get; } = fireAt;

        public long Hits { get; set; }
    }
}
#endif
