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
        var outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        string Out(string name) => Path.Combine(outDir, name);

        var results = new List<(string Name, double Seconds, long Rss)>();
        void Ours(string name, params string[] extra)
        {
            // A model brings its own endmembers.
            string[] endmembers = extra.Contains("--model") ? [] : ["-e", csv];
            var args = new[] { Common.Cli, "unmix", scene, "-o", Out(name + ".tif"), "--overwrite", "--memory", memory.ToString(CultureInfo.InvariantCulture) }.Concat(endmembers).Concat(extra).ToArray();
            var r = Common.Run("dotnet", args);
            results.Add((name, r.Seconds, r.PeakRssMb));
        }
        Ours("io-floor", "--io-only");
        Ours("fcls", "--method", "fcls");
        Ours("ucls", "--method", "ucls");
        if (a.Str("quick", "false") != "true") Ours("fcls-1-thread", "--method", "fcls", "--threads", "1");
        // The deep method's apply (a model fitted beforehand on the scene's sample; the fit is not timed).
        var model = Out("mtl-fit.model.json");
        if (a.Str("no-mtl", "false") != "true")
        {
            Common.Run("dotnet", Common.Cli, "unmix", scene, "-o", Out("mtl-fit.tif"), "-p", p.ToString(CultureInfo.InvariantCulture), "--overwrite");
            Ours("mtl-apply", "--model", model);
        }
        // The machine's floors, measured in the same run: reading the file (cat) and a memory-bandwidth probe.
        var cat = Common.Run("sh", "-c", $"cat '{scene}' > /dev/null");
        results.Add(("cat", cat.Seconds, cat.PeakRssMb));
        var bandwidth = MemoryBandwidthGbPerSecond();
        double? otb = null;
        if (File.Exists("/usr/bin/otbcli_HyperspectralUnmixing") && a.Str("no-otb", "false") != "true")
        {
            var r = Common.Run("otbcli_HyperspectralUnmixing", "-in", scene, "-ie", otbEndmembers, "-out", Out("otb-ucls.tif"), "-ua", "ucls");
            results.Add(("OTB ucls", r.Seconds, r.PeakRssMb));
            otb = r.Seconds;
        }
        var sceneGb = new FileInfo(scene).Length / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Scene {size} x {size} x {bands} ({sceneGb:F2} GB), P = {p}, uncompressed pixel-interleaved GeoTIFF in page cache; outputs DEFLATE GeoTIFF; --memory {memory} MB"));
        Console.WriteLine($"{"run",-16} {"wall s",8} {"peak RSS MB",12}   (peak of the summed RSS of the process tree, polled every 20 ms)");
        foreach (var (name, s, rss) in results) Console.WriteLine($"{name,-16} {s,8:F2} {rss,12}");
        var floor = results.First(r => r.Name == "io-floor").Seconds;
        var fcls = results.First(r => r.Name == "fcls").Seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FCLS / I/O floor: {fcls / floor:F2}x (goal <= 1.5x); FCLS throughput {sceneGb / fcls:F2} GB/s = {(double)size * size / fcls / 1e6:F2} Mpixel/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Memory-bandwidth probe: {bandwidth:F1} GB/s copied (one thread), so reading the scene once costs >= {sceneGb / bandwidth:F2} s; cat of the file {cat.Seconds:F2} s; FCLS / cat: {fcls / cat.Seconds:F1}x; FCLS / bandwidth floor: {fcls / (sceneGb / bandwidth):F1}x (goal <= 2x)"));
        if (otb is { } o) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"OTB UCLS / our FCLS: {o / fcls:F1}x faster (goal >= 10x)"));
        else Console.WriteLine("OTB not installed (apt-get install otb-bin): no peer comparison");

        // Same answer check: our UCLS vs OTB UCLS on a window.
        if (otb is not null) CompareUcls(Out("ucls.tif"), Out("otb-ucls.tif"), p);
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
