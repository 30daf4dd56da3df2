using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Platform.Etcd.Storage.Mvcc;
using Platform.Etcd.Storage.Wal;
using Platform.Raft;

namespace Platform.Etcd.Storage.Benchmarks;

/// <summary>
/// Prints storage throughput. Sizes follow etcd's benchmark tool: 8-byte keys (here "k" + 7
/// digits), 256-byte values. Writers are serialised by raft apply, so "batch" is how many puts
/// one apply batch (one backend commit) carries.
/// </summary>
internal static class Program
{
    private const int ValueBytes = 256;

    public static void Main(string[] args)
    {
        int puts = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        string root = Path.Combine(Path.GetTempPath(), $"platform-storage-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        try
        {
            Console.WriteLine($"MVCC puts ({puts} puts of {ValueBytes} B values per row; latency = one apply batch scope, BeginBatch to its Dispose)");
            foreach (bool sync in new[] { true, false })
            {
                foreach (int batch in new[] { 1, 100, 1000 })
                {
                    int count = batch == 1 && sync ? Math.Min(puts, 3000) : puts;
                    PutFigures f = MeasurePuts(Path.Combine(root, $"puts-{sync}-{batch}", "db"), count, batch, sync);
                    Console.WriteLine(
                        $"  batch {batch,5}, {(sync ? "fdatasync per commit" : "no sync (OS)        ")}: {f.PutsPerSecond,10:N0} puts/s (until committed), "
                        + $"batch latency mean {f.Mean.TotalMilliseconds:F3} ms, p50 {f.P50.TotalMilliseconds:F3} ms, p99 {f.P99.TotalMilliseconds:F3} ms, max {f.Max.TotalMilliseconds:F3} ms");
                }
            }

            Console.WriteLine("MVCC ranges (single key, 100,000 keys, after a 60,000-key delete)");
            MeasureRanges(Path.Combine(root, "ranges", "db"));

            Console.WriteLine("WAL appends (256 B entries, fdatasync per Save)");
            foreach (int batch in new[] { 1, 10, 100 })
            {
                double rate = MeasureWal(Path.Combine(root, $"wal-{batch}"), batch == 1 ? 2000 : 200, batch);
                Console.WriteLine($"  batch {batch,5}: {rate,10:N0} entries/s ({rate / batch,8:N0} fdatasyncs/s)");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"k{i:D7}");

    private static PutFigures MeasurePuts(string path, int count, int batch, bool sync)
    {
        IKvStore store = MvccStores.Open(path, new MvccOptions { SyncCommits = sync, QuotaBackendBytes = -1 });
        byte[] value = new byte[ValueBytes];
        var random = new Random(42);
        var latencies = new List<TimeSpan>(count / batch + 1);
        var clock = Stopwatch.StartNew();
        for (int done = 0; done < count;)
        {
            long start = Stopwatch.GetTimestamp();
            using (store.BeginBatch())
            {
                for (int i = 0; i < batch && done < count; i++, done++)
                {
                    using IWriteTxn txn = store.Write();
                    txn.Put(Key(random.Next(100_000)), value);
                }
            }

            latencies.Add(Stopwatch.GetElapsedTime(start));
        }

        // Dispose commits whatever is pending: the rate counts puts until they are in the backend.
        store.Dispose();
        double rate = count / clock.Elapsed.TotalSeconds;
        latencies.Sort();
        return new PutFigures(
            rate,
            TimeSpan.FromTicks((long)latencies.Average(l => l.Ticks)),
            latencies[latencies.Count / 2],
            latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.99))],
            latencies[^1]);
    }

    private readonly record struct PutFigures(double PutsPerSecond, TimeSpan Mean, TimeSpan P50, TimeSpan P99, TimeSpan Max);

    private static void MeasureRanges(string path)
    {
        using IKvStore store = MvccStores.Open(path, new MvccOptions { SyncCommits = false, QuotaBackendBytes = -1 });
        byte[] value = new byte[ValueBytes];
        for (int start = 0; start < 100_000; start += 1000)
        {
            using (store.BeginBatch())
            {
                for (int i = start; i < start + 1000; i++)
                {
                    using IWriteTxn txn = store.Write();
                    txn.Put(Key(i), value);
                }
            }
        }

        Report("  before the delete", store);
        using (IWriteTxn txn = store.Write())
        {
            txn.DeleteRange(Key(20_000), Key(80_000));
        }

        for (int i = 20_000; i < 80_000; i++)
        {
            using IWriteTxn txn = store.Write();
            txn.Put(Key(i), value);
        }

        Report("  after delete + rewrite", store);

        static void Report(string label, IKvStore store)
        {
            foreach (int threads in new[] { 1, 2 })
            {
                const int perThread = 200_000;
                var clock = Stopwatch.StartNew();
                Parallel.For(0, threads, t =>
                {
                    var random = new Random(t);
                    for (int i = 0; i < perThread; i++)
                    {
                        store.Range(Key(random.Next(100_000)), []);
                    }
                });
                Console.WriteLine($"{label}, {threads} reader(s): {threads * perThread / clock.Elapsed.TotalSeconds,10:N0} ranges/s");
            }
        }
    }

    private static double MeasureWal(string directory, int saves, int batch)
    {
        using IWriteAheadLog wal = WriteAheadLog.Create(directory, "bench"u8);
        byte[] data = new byte[ValueBytes];
        ulong index = 0;
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < saves; s++)
        {
            var entries = new List<Entry>(batch);
            for (int i = 0; i < batch; i++)
            {
                entries.Add(new Entry { Term = 1, Index = ++index, Data = ByteString.CopyFrom(data) });
            }

            wal.Save(new HardState { Term = 1, Vote = 1, Commit = index }, entries);
        }

        return index / clock.Elapsed.TotalSeconds;
    }
}
