using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Net.Client;
using Platform.Common.Flags;
using Platform.Etcd.Api;

// etcd load generator: --op put|range, --clients N concurrent callers over --conns M HTTP/2
// connections, --total requests, values of --val-size bytes. Prints one line:
//   <label> put clients=16: 12345 req/s, p50 1.23 ms, p99 4.56 ms, errors 0
var flags = new FlagSet("loadgen", null);
Flag<string> endpoint = flags.String("endpoint", "http://127.0.0.1:2379", "etcd client URL (h2c).");
Flag<string> op = flags.String("op", "put", "put or range (linearizable, one key of --key-space).");
Flag<int> clients = flags.Int("clients", 16, "Concurrent callers.");
Flag<int> conns = flags.Int("conns", 0, "gRPC connections the callers share; 0 = one per 32 clients.");
Flag<int> total = flags.Int("total", 20000, "Requests in all.");
Flag<int> valueSize = flags.Int("val-size", 256, "Value size in bytes.");
Flag<int> keySpace = flags.Int("key-space", 1000, "Distinct keys.");
Flag<string> label = flags.String("label", "", "Printed first.");
try
{
    flags.Parse(args);
}
catch (FlagParseException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.Write(flags.Usage());
    return 2;
}

int connectionCount = conns.Value > 0 ? conns.Value : Math.Max(1, clients.Value / 32);
var channels = Enumerable.Range(0, connectionCount)
    .Select(_ => GrpcChannel.ForAddress(endpoint.Value, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
    }))
    .ToArray();
KV.KVClient[] kvs = [.. channels.Select(c => new KV.KVClient(c))];
ByteString value = ByteString.CopyFrom(new byte[valueSize.Value]);
ByteString Key(int i) => ByteString.CopyFromUtf8($"loadgen/{i % keySpace.Value:D8}");

if (op.Value == "range")
{
    // Every key exists before reads start.
    for (int i = 0; i < keySpace.Value; i++)
    {
        await kvs[0].PutAsync(new PutRequest { Key = Key(i), Value = value });
    }
}

// Warm up connections (and JIT on our side) outside the measurement.
for (int i = 0; i < Math.Min(200, total.Value); i++)
{
    await kvs[i % kvs.Length].PutAsync(new PutRequest { Key = Key(i), Value = value });
}

long[] latenciesTicks = new long[total.Value];
int next = -1;
int errors = 0;
var wall = Stopwatch.StartNew();
Task[] workers = [.. Enumerable.Range(0, clients.Value).Select(c => Task.Run(async () =>
{
    KV.KVClient kv = kvs[c % kvs.Length];
    while (true)
    {
        int i = Interlocked.Increment(ref next);
        if (i >= total.Value)
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        try
        {
            if (op.Value == "put")
            {
                await kv.PutAsync(new PutRequest { Key = Key(i), Value = value });
            }
            else
            {
                await kv.RangeAsync(new RangeRequest { Key = Key(i) });
            }
        }
        catch (Grpc.Core.RpcException)
        {
            Interlocked.Increment(ref errors);
        }

        latenciesTicks[i] = Stopwatch.GetTimestamp() - start;
    }
}))];
await Task.WhenAll(workers);
wall.Stop();

Array.Sort(latenciesTicks);
double Ms(double quantile) => latenciesTicks[Math.Min(latenciesTicks.Length - 1, (int)(quantile * latenciesTicks.Length))] * 1000.0 / Stopwatch.Frequency;
double rate = total.Value / wall.Elapsed.TotalSeconds;
Console.WriteLine(string.Format(
    CultureInfo.InvariantCulture,
    "{0}{1} clients={2}: {3:F0} req/s, p50 {4:F2} ms, p99 {5:F2} ms, errors {6}",
    label.Value.Length > 0 ? label.Value + " " : "",
    op.Value,
    clients.Value,
    rate,
    Ms(0.50),
    Ms(0.99),
    errors));
foreach (GrpcChannel channel in channels)
{
    channel.Dispose();
}

return errors == 0 ? 0 : 1;
