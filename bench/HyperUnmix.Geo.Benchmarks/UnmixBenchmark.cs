using System.Globalization;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// Scene unmixing end to end (GDAL read, solve, GDAL write) on a synthetic W x W x L scene with P = 5, as separate
/// processes: our FCLS and UCLS, our I/O floor (same read and write, no solving) and OTB's UCLS, same input and
/// endmembers. Prints wall time, peak RSS and the ratios the goals are stated in.
/// </summary>
internal static class UnmixBenchmark
{
    public static void Run(Args a)
    {
        int size = a.Int("size", 1000), bands = a.Int("bands", 224), p = 5, memory = a.Int("memory", 1024);
        var dir = Path.Combine(Common.RepoRoot(), a.Str("data", "bench-data"));
        Directory.CreateDirectory(dir);
        var scene = Path.Combine(dir, $"unmix-{size}x{bands}.tif");
        var csv = Path.Combine(dir, $"unmix-{size}x{bands}-endmembers.csv");
        var otbEndmembers = Path.Combine(dir, $"unmix-{size}x{bands}-endmembers-otb.tif");
        var wl = SyntheticSpectra.Wavelengths(bands);
        var e = EndmemberSet.FromSpectra(SyntheticSpectra.Create(p, wl), SyntheticSpectra.Materials.Take(p).ToArray(), wl);
        if (!File.Exists(scene))
        {
            Console.WriteLine($"Generating {size} x {size} x {bands} LMM scene, P = {p}, 30 dB ...");
            // Generated in strips so the generator's memory stays small; each strip has its own seed.
            Common.WriteCube(scene, "GTiff", size, size, bands, ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "INTERLEAVE=PIXEL", "BIGTIFF=YES"],
                (c0, r0, w, h, buf) =>
                {
                    var s = SceneGenerator.Generate(e, new SceneOptions { Width = w, Height = h, SnrDb = 30, Seed = r0 * size + c0 + 1, PurePixels = 0 });
                    Array.Copy(s.Cube, buf, s.Cube.Length);
                });
            EndmemberFiles.WriteCsv(csv, e);
            // OTB reads endmembers as an image of P pixels with L bands.
            Common.WriteCube(otbEndmembers, "GTiff", p, 1, bands, [], (c0, r0, w, h, buf) =>
            {
                for (var b = 0; b < bands; b++)
                    for (var j = 0; j < p; j++) buf[b * p + j] = (float)e.E[b * p + j];
            });
        }
        Common.Warm(scene);
        if (a.Str("kernel-only", "false") == "true")
        {
            // The apply kernel alone, on the model an earlier full run fitted.
            ApplyKernel(scene, Path.Combine(dir, "out", "mtl-fit.model.json"), a.Int("kernel-pixels", 65536));
            return;
        }
        var outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        string Out(string name) => Path.Combine(outDir, name);
        // Every run is repeated and its best time kept: on a shared 2-core machine single runs vary by 20-30%.
        var repeat = a.Int("repeat", 3);

        var results = new List<Result>();
        Result Best(string name, Func<(double Seconds, long Rss, double? Stage)> run)
        {
            var runs = Enumerable.Range(0, repeat).Select(_ => run()).ToList();
            var best = runs.MinBy(r => r.Seconds);
            var result = new Result(name, best.Seconds, runs.Select(r => r.Seconds).ToArray(), best.Rss, runs.Min(r => r.Stage));
            results.Add(result);
            return result;
        }
        var stageLists = new Dictionary<string, string>();
        Result Ours(string name, params string[] extra) => OursWith(Common.Cli, name, extra);
        Result OursWith(string cli, string name, params string[] extra)
        {
            // A model brings its own endmembers; "-p" asks the run to find them.
            string[] endmembers = extra.Contains("--model") || extra.Contains("-p") ? [] : ["-e", csv];
            var output = Out(name + ".tif");
            var args = new[] { cli, "unmix", scene, "-o", output, "--overwrite", "--memory", memory.ToString(CultureInfo.InvariantCulture) }.Concat(endmembers).Concat(extra).ToArray();
            var fastest = double.MaxValue;
            return Best(name, () =>
            {
                var r = Common.Run("dotnet", args);
                var report = Path.ChangeExtension(output, ".report.json");
                // Each run overwrites the report: keep the stage list of the fastest one.
                if (r.Seconds < fastest) { fastest = r.Seconds; stageLists[name] = StageList(report); }
                return (r.Seconds, r.PeakRssMb, UnmixStageSeconds(report));
            });
        }
        Ours("io-floor", "--io-only");
        var fcls = Ours("fcls", "--method", "fcls");
        var ucls = Ours("ucls", "--method", "ucls");
        if (a.Str("quick", "false") != "true") Ours("fcls-1-thread", "--method", "fcls", "--threads", "1");
        // The deep method's apply (a model fitted beforehand on the scene's sample; the fit is not timed). This scene is
        // linear, where the default run returns the linear start (the nonlinearity test); the model is fitted with
        // --keep-network so that its network is live and this row times a nonlinear model's apply.
        var model = Out("mtl-fit.model.json");
        Result? dfltE = null, dfltP = null, apply = null, publishedE = null, publishedP = null;
        if (a.Str("no-mtl", "false") != "true")
        {
            Common.Run("dotnet", Common.Cli, "unmix", scene, "-o", Out("mtl-fit.tif"), "-p", p.ToString(CultureInfo.InvariantCulture), "--overwrite", "--keep-network");
            apply = Ours("mtl-apply", "--model", model);
            // What users run: the default method, with their endmembers and with none.
            dfltE = Ours("default-e");
            dfltP = Ours("default-p5", "-p", p.ToString(CultureInfo.InvariantCulture));
            // The command users run is the one scripts/setup.sh installs: published by scripts/publish.sh (ReadyToRun,
            // precompiled, where the rows above run the JIT build). Published here by the same script, from this build.
            var published = Common.Publish(Path.Combine(dir, "published"));
            publishedE = OursWith(published, "published-default-e");
            publishedP = OursWith(published, "published-default-p5", "-p", p.ToString(CultureInfo.InvariantCulture));
        }
        // The machine's floors, measured in the same run: reading the file (cat), a memory-bandwidth probe, and the
        // fixed costs of any run of the command: starting .NET with the CLI, and loading GDAL with its drivers.
        var cat = Best("cat", () => { var r = Common.Run("sh", "-c", $"cat '{scene}' > /dev/null"); return (r.Seconds, r.PeakRssMb, null); });
        var start = Best("cli --version", () => { var r = Common.Run("dotnet", Common.Cli, "--version"); return (r.Seconds, r.PeakRssMb, null); });
        var gdal = Best("gdalinfo --version", () => { var r = Common.Run("gdalinfo", "--version"); return (r.Seconds, r.PeakRssMb, null); });
        var bandwidth = MemoryBandwidthGbPerSecond();
        Result? otb = null;
        if (File.Exists("/usr/bin/otbcli_HyperspectralUnmixing") && a.Str("no-otb", "false") != "true")
            otb = Best("OTB ucls", () =>
            {
                var r = Common.Run("otbcli_HyperspectralUnmixing", "-in", scene, "-ie", otbEndmembers, "-out", Out("otb-ucls.tif"), "-ua", "ucls");
                return (r.Seconds, r.PeakRssMb, null);
            });
        var sceneGb = new FileInfo(scene).Length / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Scene {size} x {size} x {bands} ({sceneGb:F2} GB), P = {p}, uncompressed pixel-interleaved GeoTIFF in page cache; outputs DEFLATE GeoTIFF; --memory {memory} MB; best of {repeat} runs each"));
        Console.WriteLine($"{"run",-18} {"best s",7} {"unmix stage s",14} {"peak RSS MB",12}   all runs (s)");
        foreach (var r in results)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Name,-18} {r.Seconds,7:F2} {(r.Stage is { } st ? st.ToString("F2", CultureInfo.InvariantCulture) : "-"),14} {r.PeakRssMb,12}   {string.Join(" ", r.All.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}"));
        Console.WriteLine("(unmix stage: the tile loop as the run's report.json times it: read, solve, write; peak RSS: summed over the process tree, polled every 20 ms)");
        var floor = results.First(r => r.Name == "io-floor");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FCLS / I/O floor: {fcls.Seconds / floor.Seconds:F2}x (goal <= 1.5x); FCLS throughput {sceneGb / fcls.Seconds:F2} GB/s = {(double)size * size / fcls.Seconds / 1e6:F2} Mpixel/s"));
        var readFloor = sceneGb / bandwidth;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Memory-bandwidth probe: {bandwidth:F1} GB/s copied (one thread), so reading the scene once costs >= {readFloor:F2} s; cat of the file {cat.Seconds:F2} s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FCLS / bandwidth floor: {fcls.Seconds / readFloor:F1}x end to end (goal <= 2x), {fcls.Stage / readFloor:F1}x for its unmix stage; FCLS / cat: {fcls.Seconds / cat.Seconds:F1}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Fixed costs of any run: starting the CLI {start.Seconds:F2} s, loading GDAL {gdal.Seconds:F2} s = {(start.Seconds + gdal.Seconds) / readFloor:F1}x the bandwidth floor before a byte is read"));
        if (otb is not null)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"OTB UCLS / our FCLS: {otb.Seconds / fcls.Seconds:F1}x faster (goal >= 10x); OTB UCLS / our UCLS: {otb.Seconds / ucls.Seconds:F1}x"));
        else Console.WriteLine("OTB not installed (apt-get install otb-bin): no peer comparison");

        if (dfltE is not null && dfltP is not null && apply is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Default path (deep method): unmix stage {dfltE.Stage:F2} s = {dfltE.Stage / fcls.Stage:F1}x FCLS's {fcls.Stage:F2} s (goal <= 2x); stages of `default-p5`'s fastest run: {stageLists.GetValueOrDefault("default-p5", "-")}"));
            if (otb is not null)
            {
                var published = publishedE is not null && publishedP is not null
                    ? string.Create(CultureInfo.InvariantCulture, $"the published command (what scripts/setup.sh installs): `-p 5` {publishedP.Seconds:F2} s = {otb.Seconds / publishedP.Seconds:F1}x, `-e` {publishedE.Seconds:F2} s = {otb.Seconds / publishedE.Seconds:F1}x")
                    : "the published command: not measured";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Whole default run vs OTB UCLS: `default-p5` {dfltP.Seconds:F2} s = {otb.Seconds / dfltP.Seconds:F1}x faster, `default-e` {dfltE.Seconds:F2} s = {otb.Seconds / dfltE.Seconds:F1}x faster (goal >= 5x); {published}"));
            }
            _ = HyperUnmix.Geo.Unmixing.LinearAlgebra.Blas.Default;
            var peak = DeepBenchmark.SgemmPeak();
            var (fitGflops, fitSeconds, epochs) = FitFigures(Out("default-p5.report.json"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Fit of `default-p5`: {epochs} epochs in {fitSeconds:F2} s at {fitGflops:F1} GFLOP/s = {fitGflops / peak * 100:F0}% of the sgemm peak on one thread, as the run computes it ({peak:F1} GFLOP/s, measured here; the fit runs two halves of its pixels on two threads, so {fitGflops / (2 * peak) * 100:F0}% of twice that); its endmember stage is timed above, not counted in FLOPs"));
            ApplyKernel(scene, model, a.Int("kernel-pixels", 65536));
        }

        Screening(scene, csv, fcls, a.Int("sample", new EndmemberOptions().SampleSize));

        // Same answer check: our UCLS vs OTB UCLS on a window.
        if (otb is not null) CompareUcls(Out("ucls.tif"), Out("otb-ucls.tif"), p);
    }

    /// <summary>
    /// What the screening every run makes costs, against the FCLS run (goal: under 5%): the decision on the sample
    /// (read as the FCLS run reads it, from spread windows, since that run needs no sample otherwise; and the random
    /// sample a run that extracts endmembers reads anyway, for its decision alone), and the per-pixel rules applied to
    /// every pixel of the scene as the tile loop applies them, both rules on (the non-physical test runs only on
    /// scenes known to be reflectance), in the layout the tile loop reads this file in.
    /// </summary>
    private static void Screening(string scene, string endmembers, Result fcls, int sampleSize)
    {
        using var src = RasterSource.Open(scene);
        var info = src.Info;
        var bands = Enumerable.Range(0, info.BandCount).ToArray();
        var area = new Window(0, 0, info.Width, info.Height);
        var o = new UnmixOptions { Scene = new SceneInput { Input = scene }, Endmembers = new EndmemberOptions { EndmembersFile = endmembers }, Method = new MethodOptions { Name = "fcls" }, Outputs = new OutputOptions { Output = "-" } };
        var spread = Common.BestSeconds(3, () => ScenePlanner.Screen(o, src, bands, null, area));
        var raw = Sampling.ReadRaw(src, area, null, bands, sampleSize, 1);
        var decision = Common.BestSeconds(3, () => BandScreen.Run(raw, info, dropAbsorption: true));
        // The tile loop's order: 256 x 256 tiles (the default), each read a strip at a time and screened while the strip
        // is in cache.
        var layout = src.NativeLayout;
        const int Tile = 256;
        var rows = TileProcessor.StripRows(layout, Tile);
        var y = new float[rows * Tile * bands.Length];
        var valid = new byte[rows * Tile];
        double read = 0, rules = 0;
        long dropped = 0;
        var sw = new System.Diagnostics.Stopwatch();
        for (var t0 = 0; t0 < info.Height; t0 += Tile)
            for (var c0 = 0; c0 < info.Width; c0 += Tile)
                for (var r0 = t0; r0 < Math.Min(t0 + Tile, info.Height); r0 += rows)
                {
                    var w = new Window(c0, r0, Math.Min(Tile, info.Width - c0), Math.Min(rows, Math.Min(t0 + Tile, info.Height) - r0));
                    var m = (int)w.Area;
                    sw.Restart();
                    src.Read(w, bands, y.AsSpan(0, m * bands.Length), valid.AsSpan(0, m), layout);
                    read += sw.Elapsed.TotalSeconds;
                    sw.Restart();
                    dropped += PixelScreen.Apply(new PixelScreen.ReadPixels { Y = y.AsSpan(0, m * bands.Length), Layout = layout, Pixels = m, Bands = bands.Length, Valid = valid.AsSpan(0, m) }, reflectance: true, scale: 1);
                    rules += sw.Elapsed.TotalSeconds;
                }
        // The rules alone on one strip held in cache, for the compute part of their cost.
        var strip = rows * Tile;
        var copy = new byte[strip];
        sw.Restart();
        const int Reps = 2000;
        for (var i = 0; i < Reps; i++)
        {
            Array.Fill(copy, (byte)1);
            PixelScreen.Apply(new PixelScreen.ReadPixels { Y = y.AsSpan(0, strip * bands.Length), Layout = layout, Pixels = strip, Bands = bands.Length, Valid = copy }, reflectance: true, scale: 1);
        }
        var inCache = sw.Elapsed.TotalSeconds / Reps / strip;
        var total = spread + rules;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Screening: decision on spread windows (what an FCLS run with endmembers reads) {spread:F3} s; decision alone on a {raw.Count}-pixel random sample {decision * 1000:F1} ms; " +
            $"per-pixel rules (all-zero and non-physical) on all {(long)info.Width * info.Height} pixels ({layout}) {rules:F3} s ({dropped} dropped; reading them {read:F2} s, not counted; {inCache * 1e9:F0} ns per pixel on a strip in cache); " +
            $"together {total:F3} s = {total / fcls.Seconds * 100:F1}% of the FCLS run's {fcls.Seconds:F2} s (goal < 5%)"));
    }

    /// <summary>The fit's GFLOP/s, seconds and epochs from a run's report.json.</summary>
    private static (double Gflops, double Seconds, int Epochs) FitFigures(string report)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        var d = doc.RootElement.GetProperty("deep_model");
        return (d.GetProperty("gflops_per_second").GetDouble(), d.GetProperty("fit_seconds").GetDouble(), d.GetProperty("epochs").GetInt32());
    }

    /// <summary>"stage 1.23 s, ..." from a run's report.json.</summary>
    private static string StageList(string report)
    {
        if (!File.Exists(report)) return "-";
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        return doc.RootElement.TryGetProperty("seconds", out var s)
            ? string.Join(", ", s.EnumerateObject().Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {p.Value.GetDouble():F2}")))
            : "-";
    }

    /// <summary>
    /// The deep apply alone on the first pixels of the scene, one thread, in memory: pixels/s next to FCLS's on the same
    /// pixels, and the GFLOP/s of its products (<see cref="HyperUnmix.Geo.Unmixing.Deep.MtlModel.ApplyFlopsPerPixel"/>)
    /// against the one-thread sgemm peak, both measured here.
    /// </summary>
    private static void ApplyKernel(string scene, string modelFile, int pixels)
    {
        var model = HyperUnmix.Geo.Unmixing.Deep.MtlModel.Load(modelFile);
        using var src = RasterSource.Open(scene);
        var width = src.Info.Width;
        var w = new Window(0, 0, width, Math.Max(1, pixels / width));
        var n = (int)w.Area;
        var y = new float[model.Bands * n];
        var valid = new byte[n];
        src.Read(w, Enumerable.Range(0, model.Bands).ToArray(), y, valid);
        var t = DeepBenchmark.TimeApply(model, y, n, valid, new float[model.Count * n], new float[n], 3);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Deep apply kernel (one thread, {n} pixels in memory, {model.ApplyIterations} iterations): {n / t.Apply:F0} pixels/s = {t.Apply / t.Fcls:F1}x FCLS's time on the same pixels; its products {t.Gflops:F1} GFLOP/s = {t.Gflops / t.Peak * 100:F0}% of the one-thread sgemm peak {t.Peak:F1} GFLOP/s (goal >= 50%)"));
    }

    private sealed record Result(string Name, double Seconds, double[] All, long PeakRssMb, double? Stage);

    /// <summary>The "unmix" stage time a run's report.json records.</summary>
    private static double? UnmixStageSeconds(string report)
    {
        if (!File.Exists(report)) return null;
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        return doc.RootElement.TryGetProperty("seconds", out var s) && s.TryGetProperty("unmix", out var u) ? u.GetDouble() : null;
    }

    private static void CompareUcls(string ours, string otb, int p)
    {
        using var a = RasterSource.Open(ours);
        using var b = RasterSource.Open(otb);
        var w = new Window(0, 0, Math.Min(200, a.Info.Width), Math.Min(200, a.Info.Height));
        var n = (int)w.Area;
        var x = new float[p * n];
        var y = new float[p * n];
        a.Read(w, Enumerable.Range(0, p).ToArray(), x, new byte[n]);
        b.Read(w, Enumerable.Range(0, p).ToArray(), y, new byte[n]);
        var maxDiff = x.Zip(y).Max(t => Math.Abs(t.First - t.Second));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"UCLS agreement with OTB on a 200 x 200 window: max |difference| {maxDiff:G3}"));
    }

    /// <summary>Bytes copied per second between two 256 MB buffers, best of 5 (the memory bus, not the cache).</summary>
    private static double MemoryBandwidthGbPerSecond()
    {
        const int size = 256 << 20;
        var src = GC.AllocateUninitializedArray<byte>(size);
        var dst = GC.AllocateUninitializedArray<byte>(size);
        Array.Fill(src, (byte)1);
        Array.Fill(dst, (byte)2);
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            src.AsSpan().CopyTo(dst);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return size / best / 1e9;
    }
}
