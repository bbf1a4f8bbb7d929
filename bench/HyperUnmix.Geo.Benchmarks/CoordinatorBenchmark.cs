using System.Diagnostics;
using System.Globalization;
using System.Net;
using HyperUnmix.Geo.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// A job's coordinator alone, at archive scale: one in-process silo on a real Redis, a job of --scenes scenes of
/// --tiles tiles each, and --loops concurrent work loops (50 machines x 8 = 400 by default) that lease items and
/// report them done at once (no pixels: plan, tile and assembly results are made up). What it measures is what the
/// coordinator and Redis can absorb: completions per second, Redis commands and bytes per completion, the lease
/// and report latency, over the first --seconds of the job (or all of it). The scene folders are made and removed
/// as in a real job.
/// </summary>
internal static class CoordinatorBenchmark
{
    public static void Run(Args a)
    {
        int scenes = a.Int("scenes", 10_000), tiles = a.Int("tiles", 16), loops = a.Int("loops", 400), seconds = a.Int("seconds", 30);
        var dir = Directory.CreateTempSubdirectory("hu-coord-").FullName;
        var port = ClusterSetup.FreePort();
        using var redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true })!;
        try
        {
            Thread.Sleep(300);
            var cluster = new ClusterAddress($"127.0.0.1:{port}", "coord");
            using var host = Host.CreateDefaultBuilder()
                .UseOrleans(s => ClusterSetup.ConfigureSilo(s, cluster, IPAddress.Loopback, 0, 0))
                .ConfigureLogging(l => ClusterSetup.ConfigureLogging(l, verbose: false))
                .Build();
            host.StartAsync().GetAwaiter().GetResult();
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var silo = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var job = grains.GetGrain<IJobGrain>("bench");
            var spec = new JobSpec
            {
                Name = "bench",
                OutDir = dir,
                SceneOptions = Enumerable.Range(0, scenes).Select(i => $$"""{"Input":"/archive/scene{{i:D5}}.tif","Output":"{{dir}}/scene{{i:D5}}_abundances.tif"}""").ToArray(),
            };
            var clock = Stopwatch.StartNew();
            job.Submit(spec).GetAwaiter().GetResult();
            var submit = clock.Elapsed.TotalSeconds;
            var (commands0, bytes0) = RedisStats(port);
            clock.Restart();
            var deadline = TimeSpan.FromSeconds(seconds);
            long items = 0;
            var leaseMs = new List<double>[loops];
            var reportMs = new List<double>[loops];
            var tasks = Enumerable.Range(0, loops).Select(l => Task.Run(async () =>
            {
                leaseMs[l] = [];
                reportMs[l] = [];
                var worker = $"machine{l / 8}/{1000 + l / 8}/{l % 8}";
                var idle = 0;
                while (clock.Elapsed < deadline)
                {
                    var t = Stopwatch.GetTimestamp();
                    var item = await job.Lease(worker, silo);
                    leaseMs[l].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                    if (item is null)
                    {
                        if ((await job.Status()).Finished) return;
                        await Task.Delay(Math.Min(500, 10 * ++idle));
                        continue;
                    }
                    idle = 0;
                    var result = item.Kind == WorkKind.Plan
                        ? new WorkResult { Worker = worker, PlanFile = Path.Combine(item.StateDir, "plan.json"), Tiles = tiles, Seconds = 2.6 }
                        : new WorkResult { Worker = worker, Seconds = 0.15 };
                    t = Stopwatch.GetTimestamp();
                    await job.Complete(item, result);
                    reportMs[l].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                    Interlocked.Increment(ref items);
                }
            })).ToArray();
            Task.WaitAll(tasks);
            var elapsed = clock.Elapsed.TotalSeconds;
            var (commands1, bytes1) = RedisStats(port);
            var status = job.Status().GetAwaiter().GetResult();
            var leases = leaseMs.SelectMany(x => x).Order().ToArray();
            var reports = reportMs.SelectMany(x => x).Order().ToArray();
            double P(double[] v, double q) => v.Length == 0 ? double.NaN : v[(int)(q * (v.Length - 1))];
            var total = (long)scenes * (tiles + 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coordinator: {scenes:N0} scenes x {tiles} tiles ({total:N0} items), {loops} work loops, in-process silo, Redis on loopback"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  submit {submit:F2} s; {items:N0} items completed in {elapsed:F1} s = {items / elapsed:N0} completions/s ({status.Scenes.Count(s => s.Phase == "done"):N0} scenes done, job {status.State})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  Redis per completion: {(commands1 - commands0) / (double)Math.Max(1, items):F2} commands, {(bytes1 - bytes0) / (double)Math.Max(1, items):N0} bytes in"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  lease ms p50 {P(leases, 0.5):F2} p99 {P(leases, 0.99):F2}; report ms p50 {P(reports, 0.5):F2} p99 {P(reports, 0.99):F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  demand at 400 loops of FCLS tiles (0.15 s each): {400 / 0.15:N0} completions/s; this coordinator: {items / elapsed / (400 / 0.15) * 100:F0}% of it"));
            host.StopAsync().GetAwaiter().GetResult();
        }
        finally
        {
            redis.Kill(true);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Redis' processed commands and input bytes so far (INFO stats).</summary>
    private static (long Commands, long Bytes) RedisStats(int port)
    {
        var (_, _, output) = Common.Run("redis-cli", "-p", port.ToString(CultureInfo.InvariantCulture), "info", "stats");
        long Value(string key) => output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(key + ":", StringComparison.Ordinal))
            .Select(l => long.Parse(l[(key.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();
        return (Value("total_commands_processed"), Value("total_net_input_bytes"));
    }
}
