using System.Diagnostics;
using System.Globalization;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// The cluster mode on loopback: an archive of scenes unmixed by the single-machine runner (one thread), by a
/// cluster of one worker (one thread) and by a cluster of N workers (one thread each), in the same run. Prints the
/// throughput ratio N vs 1 and the coordinator's overhead per tile (1-worker cluster minus the local runner, per
/// tile), and checks that every output is byte-identical to the local one. With <c>--pin true</c> the local runner
/// and each worker get one core of their own, so that N workers vs 1 measures the cluster, not core sharing.
/// </summary>
internal static class ClusterBenchmark
{
    public static void Run(Args a)
    {
        int scenes = a.Int("scenes", 20), size = a.Int("size", 256), bands = a.Int("bands", 64), workers = a.Int("workers", 3), tile = a.Int("tile", 64);
        var pin = a.Str("pin", "false") == "true";
        if (pin && (Environment.ProcessorCount < workers || !OperatingSystem.IsLinux()))
            throw new InvalidOperationException($"--pin true needs Linux and at least {workers} cores (one per worker); this machine has {Environment.ProcessorCount}");
        var dir = Path.Combine(Common.RepoRoot(), "bench-data", "cluster");
        // --reuse true keeps the scenes of an earlier run with the same size (the outputs are always made anew).
        var stamp = Path.Combine(dir, $"scenes-{scenes}x{size}x{size}x{bands}");
        var reuse = a.Str("reuse", "false") == "true" && File.Exists(stamp);
        if (Directory.Exists(dir))
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir).Where(e => !reuse || !(e.EndsWith(".tif", StringComparison.Ordinal) && Path.GetFileName(e).StartsWith("scene", StringComparison.Ordinal)) && e != stamp).ToList())
                if (Directory.Exists(entry)) Directory.Delete(entry, true); else File.Delete(entry);
        Directory.CreateDirectory(dir);
        var inputs = new List<string>();
        for (var i = 0; i < scenes; i++)
        {
            var path = Path.Combine(dir, $"scene{i:D2}.tif");
            if (!reuse) Common.Run("dotnet", Common.Cli, "synth", "-o", path, "--width", $"{size}", "--height", $"{size}", "--bands", $"{bands}", "--seed", $"{i + 1}", "--spatial");
            Common.Warm(path);
            inputs.Add(path);
        }
        File.WriteAllText(stamp, "");
        foreach (var method in a.Str("method", "fcls").Split(','))
            RunMethod(dir, inputs, method, size, bands, workers, tile, pin);
    }

    private static void RunMethod(string dir, List<string> inputs, string method, int size, int bands, int workers, int tile, bool pin)
    {
        string[] options = ["--method", method, "-p", "4", "--tile", $"{tile}"];
        var scenes = inputs.Count;
        Console.WriteLine($"Cluster benchmark: {scenes} scenes of {size} x {size} x {bands}, {method}, tiles of {tile} px, {Environment.ProcessorCount} CPU cores, loopback"
            + (pin ? $"; the local runner and each worker pinned to one core of its own (sched_setaffinity / taskset), OpenBLAS 1 thread" : ""));

        // The single-machine runner, one thread. Pinned: in a child process under taskset, so that every one of its
        // threads (thread pool, GC, OpenBLAS) has core 0 only, as a pinned worker has. Two such children, one per core,
        // each with half the scenes, give the ceiling the hardware allows for two workers (no cluster involved).
        var local = Path.Combine(dir, "local-" + method);
        Directory.CreateDirectory(local);
        double localSeconds;
        int tiles;
        if (pin)
        {
            (localSeconds, tiles) = PinnedLocal([inputs], local, method, tile);
        }
        else
        {
            var clock = Stopwatch.StartNew();
            tiles = LocalRun(inputs, local, method, tile);
            localSeconds = clock.Elapsed.TotalSeconds;
        }
        var items = tiles + scenes; // one plan item per scene, one item per tile
        string Rate(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds,7:F2} s  {scenes / seconds * 60,6:F2} scenes/min");
        Console.WriteLine($"  local runner, 1 thread{(pin ? ", core 0" : "")}:       {Rate(localSeconds)}  ({tiles} tiles)");
        double? ceiling = null;
        if (pin)
        {
            var halves = Enumerable.Range(0, workers).Select(w => inputs.Where((_, i) => i % workers == w).ToList()).ToArray();
            var ceilingDir = Path.Combine(dir, "local-split-" + method);
            Directory.CreateDirectory(ceilingDir);
            ceiling = PinnedLocal(halves, ceilingDir, method, tile).Seconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {workers} local runners, a core each, the scenes split between them (no cluster): {Rate(ceiling.Value)}  = {localSeconds / ceiling.Value:F2}x one core: what this machine's cores give"));
        }
        var one = Cluster(dir, inputs, options, 1, method + "-one", pin);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cluster, 1 worker x 1 thread{(pin ? ", core 0" : "")}: {Rate(one.Seconds)}  (worker time {one.WorkerSeconds:F2} s, coordinator calls {one.CallMs:F2} ms per item)"));
        var many = Cluster(dir, inputs, options, workers, method + "-many", pin);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cluster, {workers} workers x 1 thread{(pin ? ", a core each" : "")}: {Rate(many.Seconds)}  (worker time {many.WorkerSeconds:F2} s, coordinator calls {many.CallMs:F2} ms per item)"));
        var againstCores = ceiling is { } c ? string.Create(CultureInfo.InvariantCulture, $"; against what the cores give ({localSeconds / c:F2}x): {one.Seconds / many.Seconds / (localSeconds / c) * 100:F0}%") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  throughput {workers} workers / 1 worker: {one.Seconds / many.Seconds:F2}x; efficiency {one.Seconds / many.Seconds / workers * 100:F0}% (at most {Math.Min(workers, Environment.ProcessorCount)}x on {Environment.ProcessorCount} cores){againstCores}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  overhead, 1-worker cluster - local runner (process start, client, plan/tile/assembly files, calls): {one.Seconds - localSeconds:F2} s = {(one.Seconds - localSeconds) / localSeconds * 100:F0}%, {(one.Seconds - localSeconds) / items * 1000:F1} ms per item ({items} items: {scenes} plans + {tiles} tiles)"));
        var same = inputs.All(i =>
        {
            var name = Path.GetFileNameWithoutExtension(i) + "_abundances.tif";
            var reference = File.ReadAllBytes(Path.Combine(local, name));
            return reference.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(one.OutDir, name))) && reference.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(many.OutDir, name)));
        });
        Console.WriteLine($"  outputs byte-identical to the local runner's: {(same ? "yes" : "NO")}");
    }

    /// <summary>Unmixes the scenes one after another in this process, one thread; returns the tile count.</summary>
    private static int LocalRun(IEnumerable<string> inputs, string outDir, string method, int tile)
    {
        var tiles = 0;
        foreach (var input in inputs)
            tiles += UnmixJob.Run(new UnmixOptions
            {
                Scene = new SceneInput { Input = input },
                Endmembers = new EndmemberOptions { EndmemberCount = 4 },
                Method = new MethodOptions { Name = method },
                Outputs = new OutputOptions { Output = Path.Combine(outDir, Path.GetFileNameWithoutExtension(input) + "_abundances.tif") },
                Execution = new ExecutionOptions { TileSize = tile, Threads = 1 },
            }).Tiles;
        return tiles;
    }

    /// <summary>The local runner in child processes (this program's <c>local-runner</c>), child i under <c>taskset -c i</c>, all at once; wall seconds until the last ends.</summary>
    private static (double Seconds, int Tiles) PinnedLocal(List<string>[] shares, string outDir, string method, int tile)
    {
        var clock = Stopwatch.StartNew();
        var children = shares.Select((share, core) =>
        {
            var p = Start("taskset", ["-c", $"{core}", "dotnet", typeof(ClusterBenchmark).Assembly.Location, "local-runner", "--out", outDir, "--method", method, "--tile", $"{tile}", "--inputs", string.Join(',', share)]);
            return (Process: p, Output: p.StandardOutput.ReadToEndAsync());
        }).ToList();
        var tiles = 0;
        foreach (var (p, output) in children)
        {
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"local-runner failed ({p.ExitCode}): {output.Result}");
            tiles += int.Parse(output.Result.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return (clock.Elapsed.TotalSeconds, tiles);
    }

    /// <summary>The child of <see cref="PinnedLocal"/>: prints the tile count.</summary>
    public static void LocalRunner(Args a) =>
        Console.WriteLine(LocalRun(a.Str("inputs", "").Split(','), a.Str("out", "."), a.Str("method", "fcls"), a.Int("tile", 64)).ToString(CultureInfo.InvariantCulture) + " tiles");

    private static (double Seconds, double WorkerSeconds, double CallMs, string OutDir) Cluster(string dir, List<string> inputs, string[] options, int workers, string name, bool pin)
    {
        var port = HyperUnmix.Geo.Cluster.ClusterSetup.FreePort();
        var redis = Start("redis-server", "--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
        var procs = new List<Process>();
        try
        {
            Thread.Sleep(300);
            var address = $"127.0.0.1:{port}";
            for (var w = 0; w < workers; w++)
                procs.Add(pin
                    ? Start("taskset", "-c", $"{w}", "dotnet", Common.Cli, "worker", "--redis", address, "--cluster", name, "--threads", "1")
                    : Start("dotnet", Common.Cli, "worker", "--redis", address, "--cluster", name, "--threads", "1"));
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

    private static Process Start(string file, params IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = false };
        psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
        foreach (var x in args) psi.ArgumentList.Add(x);
        return Process.Start(psi)!;
    }
}
