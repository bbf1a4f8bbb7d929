using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Metrics;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// Accuracy on the real benchmark scenes (Samson, Jasper Ridge) next to OTB: our VCA + FCLS for several VCA
/// seeds, and OTB's VCA + UCLS. Endmembers matched to the reference by the Hungarian method on SAD.
/// Writes a Markdown table (default docs/accuracy-linear.md) with the command that produced it.
/// </summary>
internal static class AccuracyBenchmark
{
    private sealed record Scene(string Name, string Cube, string Abundances, string Endmembers, int P);

    public static void Run(Args a)
    {
        var root = Common.RepoRoot();
        var data = Path.GetFullPath(Path.Combine(root, a.Str("datasets", "../shared/datasets")));
        var outDoc = Path.Combine(root, a.Str("out", "docs/accuracy-linear.md"));
        var work = Path.Combine(root, a.Str("data", "bench-data"), "accuracy");
        Directory.CreateDirectory(work);
        Scene[] scenes =
        [
            new("Samson", $"{data}/samson/samson_cube.tif", $"{data}/samson/samson_abundances.tif", $"{data}/samson/samson_endmembers.csv", 3),
            new("Jasper Ridge", $"{data}/jasper_ridge/jasper_ridge_cube.tif", $"{data}/jasper_ridge/jasper_ridge_abundances.tif", $"{data}/jasper_ridge/jasper_ridge_endmembers.csv", 4),
        ];
        var md = new StringBuilder();
        md.AppendLine("# Linear chain accuracy on real benchmark scenes");
        md.AppendLine();
        md.AppendLine("Produced by `dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- accuracy` on " +
                      $"{DateTime.UtcNow:yyyy-MM-dd} (2 cores). Endmembers are matched to the reference by the Hungarian method on SAD. " +
                      "aRMSE = 100 x sqrt(mean((A - Aref)^2)) over all P x N entries (HySUPP's convention). Reconstruction RMSE = " +
                      "sqrt(mean((Y - E A)^2)) in the cube's units. Times are wall clock of the whole command (process start included).");
        md.AppendLine();
        md.AppendLine("| scene | method | mean SAD (rad) | mean SAD (deg) | aRMSE | reconstruction RMSE | time (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var s in scenes)
        {
            var truthE = EndmemberFiles.Load(s.Endmembers);
            foreach (var seed in new[] { 1, 2, 3 })
            {
                var output = Path.Combine(work, $"{s.Name.Replace(' ', '_')}-fcls-{seed}.tif");
                var r = Common.Run("dotnet", Common.Cli, "unmix", s.Cube, "-o", output, "-p", s.P.ToString(CultureInfo.InvariantCulture),
                    "--seed", seed.ToString(CultureInfo.InvariantCulture), "--method", "fcls", "--overwrite");
                var est = EndmemberFiles.Load(Path.ChangeExtension(output, null) + ".endmembers.csv");
                var score = Evaluation.Score(output, s.Abundances, s.Endmembers, est);
                var recon = ResidualRmse(output, s.P);
                md.AppendLine(Row(s.Name, $"HyperUnmix VCA (seed {seed}) + FCLS", score, recon, r.Seconds));
            }
            if (File.Exists("/usr/bin/otbcli_VertexComponentAnalysis"))
            {
                var endm = Path.Combine(work, $"{s.Name.Replace(' ', '_')}-otb-vca.tif");
                var abund = Path.Combine(work, $"{s.Name.Replace(' ', '_')}-otb-ucls.tif");
                var t1 = Common.Run("otbcli_VertexComponentAnalysis", "-in", s.Cube, "-ne", s.P.ToString(CultureInfo.InvariantCulture), "-rand", "42", "-outendm", endm);
                var t2 = Common.Run("otbcli_HyperspectralUnmixing", "-in", s.Cube, "-ie", endm, "-out", abund, "-ua", "ucls");
                var est = ReadOtbEndmembers(endm, truthE.Bands);
                var score = Evaluation.Score(abund, s.Abundances, s.Endmembers, est);
                var recon = Reconstruction(s.Cube, est, abund);
                md.AppendLine(Row(s.Name, "OTB VCA (seed 42) + UCLS", score, recon, t1.Seconds + t2.Seconds));
            }
        }
        md.AppendLine();
        md.AppendLine("Notes: Samson's reference endmembers are max-normalised (shape only), so SAD is meaningful there but the " +
                      "reconstruction RMSE is against the cube itself. OTB's UCLS abundances are unconstrained (negative values and sums far from one are possible).");
        Directory.CreateDirectory(Path.GetDirectoryName(outDoc)!);
        File.WriteAllText(outDoc, md.ToString());
        Console.Write(md.ToString());
    }

    private static string Row(string scene, string method, UnmixingScore s, double recon, double seconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {scene} | {method} | {s.MeanSadRadians:F4} | {s.MeanSadDegrees:F2} | {s.AbundanceRmse * 100:F2} | {recon:G4} | {seconds:F2} |");


    private static double ResidualRmse(string abundances, int p)
    {
        using var src = RasterSource.Open(abundances);
        var n = (int)src.Extent.Area;
        var r = new float[n];
        var valid = new byte[n];
        src.Read(src.Extent, [p], r, valid);
        return Math.Sqrt(r.Select(v => (double)v * v).Sum() / n);
    }

    private static EndmemberSet ReadOtbEndmembers(string path, int bands)
    {
        using var src = RasterSource.Open(path);
        var p = src.Info.Width * src.Info.Height;
        var buf = new float[src.Info.BandCount * p];
        src.Read(src.Extent, src.AllBands, buf, new byte[p]);
        var e = new double[bands * p];
        for (var b = 0; b < bands; b++)
            for (var j = 0; j < p; j++) e[b * p + j] = buf[b * p + j];
        return new EndmemberSet(e, bands, p);
    }

    private static double Reconstruction(string cube, EndmemberSet e, string abundances)
    {
        using var y = RasterSource.Open(cube);
        using var a = RasterSource.Open(abundances);
        int n = (int)y.Extent.Area, l = y.Info.BandCount, p = e.Count;
        var yb = new float[l * n];
        var ab = new float[p * n];
        y.Read(y.Extent, y.AllBands, yb, new byte[n]);
        a.Read(a.Extent, Enumerable.Range(0, p).ToArray(), ab, new byte[n]);
        double s = 0;
        for (var b = 0; b < l; b++)
            for (var i = 0; i < n; i++)
            {
                double v = 0;
                for (var j = 0; j < p; j++) v += e.E[b * p + j] * ab[j * n + i];
                var d = yb[b * n + i] - v;
                s += d * d;
            }
        return Math.Sqrt(s / ((double)l * n));
    }
}
