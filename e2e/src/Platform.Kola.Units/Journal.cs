using System.Globalization;
using System.Text;
using Platform.Linux;
using Platform.Linux.Processes;

namespace Platform.Kola.Units;

/// <summary>One journal record: who wrote it, for which unit, and the message.</summary>
internal sealed record JournalRecord(DateTime Time, string Host, string Identifier, int Pid, string Message, string? Unit);

/// <summary>
/// The machine's journal: every record is appended to the journal file as one syslog-style line
/// (<c>Nov 26 14:53:34 host etcd[42]: message</c>, the format of journalctl's default "short" output) and
/// kept in memory with its unit for <c>journalctl -u</c> (the file has no unit field). Service output
/// arrives through one pipe per spawned process, read line by line on a dedicated thread.
/// </summary>
internal sealed class Journal : IDisposable
{
    private const int MaxRecordsInMemory = 200_000;
    private const int MaxLineBytes = 48 * 1024;

    private readonly object _lock = new();
    private readonly List<JournalRecord> _records = [];
    private readonly FileStream _file;
    private readonly Func<string> _hostname;
    private bool _disposed;

    public Journal(string path, Func<string> hostname)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _hostname = hostname;
    }

    public void Manager(string? unit, string message) => Append(unit, "systemd", 1, message);

    public void Append(string? unit, string identifier, int pid, string message)
    {
        var record = new JournalRecord(DateTime.Now, _hostname(), identifier, pid, message, unit);
        byte[] line = Encoding.UTF8.GetBytes(Format(record) + "\n");
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _records.Add(record);
            if (_records.Count > MaxRecordsInMemory)
            {
                _records.RemoveRange(0, MaxRecordsInMemory / 10);
            }

            _file.Write(line);
            _file.Flush();
        }
    }

    public static string Format(JournalRecord record) =>
        string.Create(CultureInfo.InvariantCulture, $"{record.Time.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture)} {record.Host} {record.Identifier}[{record.Pid}]: {record.Message}");

    public List<JournalRecord> Query(Func<JournalRecord, bool> filter)
    {
        lock (_lock)
        {
            return [.. _records.Where(filter)];
        }
    }

    /// <summary>Reads <paramref name="readFd"/> to end of file on a dedicated thread, one record per line; closes it.</summary>
    public Task Collect(int readFd, string unit, string identifier, int pid)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                byte[] buffer = new byte[8192];
                var pending = new List<byte>();
                while (true)
                {
                    int n;
                    try
                    {
                        n = ProcessSpawner.Read(readFd, buffer);
                    }
                    catch (LinuxException)
                    {
                        n = 0;
                    }

                    if (n == 0)
                    {
                        break;
                    }

                    for (int i = 0; i < n; i++)
                    {
                        if (buffer[i] == (byte)'\n' || pending.Count >= MaxLineBytes)
                        {
                            Append(unit, identifier, pid, Encoding.UTF8.GetString([.. pending]).TrimEnd('\r'));
                            pending.Clear();
                            if (buffer[i] == (byte)'\n')
                            {
                                continue;
                            }
                        }

                        pending.Add(buffer[i]);
                    }
                }

                if (pending.Count > 0)
                {
                    Append(unit, identifier, pid, Encoding.UTF8.GetString([.. pending]));
                }
            }
            finally
            {
                ProcessSpawner.Close(readFd);
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = $"journal {unit} {pid}",
        };
        thread.Start();
        return done.Task;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _file.Dispose();
        }
    }
}
