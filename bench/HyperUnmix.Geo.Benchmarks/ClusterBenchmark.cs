using System.Diagnostics;
using System.Globalization;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// The cluster mode on loopback: an archive of scenes unmixed by the single-machine runner (one thread), by a
/// cluster of one worker (one thread) and by a cluster of N workers (one thread each), in the same run. Prints the
/// throughput ratio N vs 1 and the coordinator's overhead per tile (1-worker cluster minus the local runner, per
/// tile), and checks that every output is byte-identical to the local one.
/// </summary>
internal static class ClusterBenchmark
{
    public static void Run(Args a)
    {
        int scenes = a.Int("scenes", 20), size = a.Int("size", 256), bands = a.Int("bands", 64), workers = a.Int("workers", 3), tile = a.Int("tile", 64);
        var method = a.Str("method", "fcls");
        var dir = Path.Combine(Common.RepoRoot(), "bench-data", "cluster");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        var inputs = new List<string>();
        for (var i = 0; i < scenes; i++)
        {
            var path = Path.Combine(dir, $"scene{i:D2}.tif");
            Common.Run("dotnet", Common.Cli, "synth", "-o", path, "--width", $"{size}", "--height", $"{size}", "--bands", $"{bands}", "--seed", $"{i + 1}", "--spatial");
            Common.Warm(path);
            inputs.Add(path);
        }
        string[] options = ["--method", method, "-p", "4", "--tile", $"{tile}"];
        Console.WriteLine($"Cluster benchmark: {scenes} scenes of {size} x {size} x {bands}, {method}, tiles of {tile} px, {Environment.ProcessorCount} CPU cores, loopback");

        // The single-machine runner, one thread, in this process (no process start per scene).
        var local = Path.Combine(dir, "local");
        Directory.CreateDirectory(local);
        var clock = Stopwatch.StartNew();
        var tiles = 0;
        foreach (var input in inputs)
        {
            var r = UnmixJob.Run(new UnmixOptions
            {
                Input = input,
                Output = Path.Combine(local, Path.GetFileNameWithoutExtension(input) + "_abundances.tif"),
                Method = method,
                EndmemberCount = 4,
                TileSize = tile,
                Threads = 1,
            });
            tiles += r.Tiles;
        }
        var localSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  local runner, 1 thread:      {localSeconds,7:F2} s  ({tiles} tiles)"));

        var one = Cluster(dir, inputs, options, 1, "one");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cluster, 1 worker x 1 thread: {one.Seconds,7:F2} s  (worker time {one.WorkerSeconds:F2} s, coordinator calls {one.CallMs:F2} ms per item)"));
        var many = Cluster(dir, inputs, options, workers, "many");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cluster, {workers} workers x 1 thread: {many.Seconds,7:F2} s  (worker time {many.WorkerSeconds:F2} s, coordinator calls {many.CallMs:F2} ms per item)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  throughput {workers} workers / 1 worker: {one.Seconds / many.Seconds:F2}x (at most {Math.Min(workers, Environment.ProcessorCount)}x on {Environment.ProcessorCount} cores)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  overhead per tile, 1-worker cluster - local runner (process start, client, plan/tile/assembly files, calls): {(one.Seconds - localSeconds) / tiles * 1000:F1} ms"));
        var same = inputs.All(i =>
        {
            var name = Path.GetFileNameWithoutExtension(i) + "_abundances.tif";
            var reference = File.ReadAllBytes(Path.Combine(local, name));
            return reference.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(one.OutDir, name))) && reference.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(many.OutDir, name)));
        });
        Console.WriteLine($"  outputs byte-identical to the local runner's: {(same ? "yes" : "NO")}");
    }

    private static (double Seconds, double WorkerSeconds, double CallMs, string OutDir) Cluster(string dir, List<string> inputs, string[] options, int workers, string name)
    {
        var port = HyperUnmix.Geo.Cluster.ClusterSetup.FreePort();
        var redis = Start("redis-server", "--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
        var procs = new List<Process>();
        try
        {
            Thread.Sleep(300);
            var address = $"127.0.0.1:{port}";
            for (var w = 0; w < workers; w++) procs.Add(Start("dotnet", Common.Cli, "worker", "--redis", address, "--cluster", name, "--threads", "1"));
            foreach (var p in procs)
                while (p.StandardOutput.ReadLine() is { } line && !line.StartsWith("worker ready", StringComparison.Ordinal)) { }
            var outDir = Path.Combine(dir, "cluster-" + name);
            var clock = Stopwatch.StartNew();
            var (_, _, output) = Common.Run("dotnet", [Common.Cli, "cluster", "submit", .. inputs, "-o", outDir, "--job", name, "--redis", address, "--cluster", name, "--wait", .. options]);
            var seconds = clock.Elapsed.TotalSeconds;
            var workerLine = output.Split('\n').FirstOrDefault(l => l.Contains("worker time", StringComparison.Ordinal)) ?? "";
            var workerSeconds = double.TryParse(workerLine.Trim().Split(' ').ElementAtOrDefault(2), CultureInfo.InvariantCulture, out var ws) ? ws : double.NaN;
            var callLine = output.Split('\n').FirstOrDefault(l => l.Contains("coordinator calls", StringComparison.Ordinal)) ?? "";
            var callMs = double.TryParse(callLine.Trim().Split(' ').ElementAtOrDefault(2), CultureInfo.InvariantCulture, out var cm) ? cm : double.NaN;
            return (seconds, workerSeconds, callMs, outDir);
        }
        finally
        {
            foreach (var p in procs) { try { p.Kill(true); } catch (InvalidOperationException) { } }
            redis.Kill(true);
        }
    }

    private static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = false };
        foreach (var x in args) psi.ArgumentList.Add(x);
        return Process.Start(psi)!;
    }
}
