using HyperUnmix.Geo.Pipeline;
using System.Diagnostics;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// Reads a W x W x L float32 scene tile by tile (256 x 256, all bands, band-sequential buffer) from each layout,
/// through GDAL's generic RasterIO (the peer path) and through our reader, files in page cache; then as the unmixing
/// pipeline reads it: each tile in strips of rows, in the file's own layout, into a small reused buffer.
/// </summary>
internal static class ReadBenchmark
{
    public static void Run(Args a)
    {
        int size = a.Int("size", 1000), bands = a.Int("bands", 224);
        var dir = Path.Combine(Common.RepoRoot(), a.Str("data", "bench-data"));
        Directory.CreateDirectory(dir);
        (string Name, string Driver, string[] Options)[] layouts =
        [
            ("gtiff-pixel.tif", "GTiff", ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "INTERLEAVE=PIXEL", "BIGTIFF=YES"]),
            ("gtiff-band.tif", "GTiff", ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "INTERLEAVE=BAND", "BIGTIFF=YES"]),
            ("envi-bsq.img", "ENVI", ["INTERLEAVE=BSQ"]),
            ("envi-bil.img", "ENVI", ["INTERLEAVE=BIL"]),
            ("envi-bip.img", "ENVI", ["INTERLEAVE=BIP"]),
        ];
        var gb = (double)size * size * bands * 4 / 1e9;
        Console.WriteLine($"Scene {size} x {size} x {bands} float32 ({gb:F2} GB per layout), 256 x 256 tiles, all bands, band-sequential buffer, page cache warm");
        Console.WriteLine($"{"layout",-16} {"GDAL 1 thr",11} {"GDAL 2 thr",11} {"ours 1 thr",11} {"ours 2 thr",11} {"ours/GDAL",10} {"strips 2 thr",13}  reader");
        foreach (var (name, driver, options) in layouts)
        {
            var path = Path.Combine(dir, $"{size}x{bands}-{name}");
            if (!File.Exists(path))
                Common.WriteCube(path, driver, size, size, bands, options, (c0, r0, w, h, buf) =>
                {
                    var n = w * h;
                    for (var b = 0; b < bands; b++)
                        for (var p = 0; p < n; p++) buf[b * n + p] = 0.1f + 0.001f * b + 1e-6f * (r0 * size + c0 + p);
                });
            Common.Warm(path);
            using var gdal = RasterSource.Open(path, new RasterOpenOptions { AllowRawPath = false });
            using var ours = RasterSource.Open(path);
            var g1 = Measure(gdal, 1);
            var g2 = Measure(gdal, 2);
            var o1 = Measure(ours, 1);
            var o2 = Measure(ours, 2);
            var s2 = Measure(ours, 2, strips: true);
            Console.WriteLine($"{name,-16} {gb / g1,8:F2} GB/s {gb / g2,6:F2} GB/s {gb / o1,6:F2} GB/s {gb / o2,6:F2} GB/s {g1 / o2,9:F1}x {gb / s2,8:F2} GB/s  {ours.ReadPath}");
        }
        Console.WriteLine("ours/GDAL = GDAL's generic RasterIO on one thread vs our reader on two, same tiles and buffer layout.");
        Console.WriteLine("strips = the pipeline's reads: 256-pixel strips pixel-interleaved (BIP, pixel-interleaved GeoTIFF), 4096-pixel strips band-sequential (others).");
    }

    /// <summary>Best of three passes over all tiles with the given number of threads (whole tiles, or strips of rows in the file's layout).</summary>
    private static double Measure(RasterSource src, int threads, bool strips = false)
    {
        var plan = TilePlan.ForRaster(src.Info.Width, src.Info.Height, 256);
        var bands = src.AllBands;
        var best = double.MaxValue;
        for (var pass = 0; pass < 3; pass++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, plan.Count, new ParallelOptions { MaxDegreeOfParallelism = threads },
                () => (new float[bands.Length * 256 * 256], new byte[256 * 256]),
                (i, _, buf) =>
                {
                    var w = plan[i].Window;
                    if (!strips)
                    {
                        src.Read(w, bands, buf.Item1, buf.Item2);
                        return buf;
                    }
                    var layout = src.NativeLayout;
                    var rows = TileProcessor.StripRows(layout, w.Width);
                    for (var r = 0; r < w.Height; r += rows)
                        src.Read(new Window(w.ColOff, w.RowOff + r, w.Width, Math.Min(rows, w.Height - r)), bands, buf.Item1, buf.Item2, layout);
                    return buf;
                }, _ => { });
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
