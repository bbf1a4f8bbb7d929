using System.Diagnostics;
using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// The deep method's evaluation (writes docs/accuracy-deep.md): synthetic 100 x 100 scenes with P = 4 USGS spectra at
/// 30 dB, five mixing models x five seeds, against VCA + FCLS on the same scene; ablations; Samson and Jasper Ridge.
/// And its speed: fitting on Jasper-sized data next to the sgemm peak measured in the same run, applying to a scene.
/// </summary>
internal static class DeepBenchmark
{
    private static double Ci(string v) => double.Parse(v, CultureInfo.InvariantCulture);

    public static void Accuracy(Args a)
    {
        var root = Common.RepoRoot();
        var data = Path.GetFullPath(Path.Combine(root, a.Str("datasets", "../shared/datasets")));
        var outDoc = Path.Combine(root, a.Str("out", "docs/accuracy-deep.md"));
        var seeds = a.Int("seeds", 5);
        var lib = EndmemberFiles.LoadLibrary($"{data}/usgs_library/usgs_1995_library_aviris224.csv");
        var md = new StringBuilder();
        md.AppendLine("# Deep multi-task method: accuracy");
        md.AppendLine();
        md.AppendLine($"Produced by `dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- deep` on {DateTime.UtcNow:yyyy-MM-dd} (2 cores, {Blas.Default.Name.Split(';')[0]}). " +
                      $"Deep = the default `--method mtl` settings (alpha 0.1, beta 1e-4, lambda 1e-4, endmembers fixed at VCA's, at most {new MtlOptions().MaxEpochs} epochs stopped on 10% held-out pixels, column network 25-50, " +
                      "the network kept only when it beats a linear re-mix of the endmembers on the held-out pixels, and then a pixel's network solution only where it removes at least half of the squared residual of that pixel's linear start: the pixel test). " +
                      "Abundance RMSE = sqrt(mean((A - Aref)^2)) over all P x N entries, after Hungarian matching of endmembers on SAD; SAD in radians.");
        md.AppendLine();
        md.AppendLine("## Synthetic scenes");
        md.AppendLine();
        md.AppendLine($"100 x 100 pixels, P = 4 spectra drawn from the USGS library (224 bands, pairwise SAD > 0.15 rad, seed = scene seed), Dirichlet(1) abundances " +
                      $"with one pure pixel per endmember, white noise at 30 dB, seeds 1-{seeds}. Both methods start from the same VCA (seed 42) endmembers. Mean over seeds (min - max).");
        md.AppendLine();
        md.AppendLine("| model | VCA+FCLS abundance RMSE | deep abundance RMSE | change | network kept (seeds) | held-out pixels given the network | kept network on every pixel (no pixel test) | change | network always kept (`--keep-network`) | change | VCA SAD | deep SAD | deep fit time (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var model in Enum.GetValues<MixingModel>())
        {
            var rows = new List<(double Ab, double Ad, double Sb, double Sd, double T, double Ak, bool Kept, double Ae, double Share)>();
            for (var seed = 1; seed <= seeds; seed++)
            {
                var (scene, vca) = Make(lib, model, seed);
                var (ab, sb) = ScoreLinear(scene, vca);
                var d = ScoreDeepTested(scene, vca, new MtlOptions());
                var (ak, _, _) = ScoreDeep(scene, vca, new MtlOptions { RequireNonlinearGain = false });
                rows.Add((ab, d.Rmse, sb, d.Sad, d.Seconds, ak, d.Kept, d.EveryPixelRmse, d.NetworkShare));
                Console.WriteLine($"{model} seed {seed}: FCLS {ab:F4} deep {d.Rmse:F4} (network {(d.Kept ? $"kept, on {d.NetworkShare:P0} of held-out pixels; on every pixel {d.EveryPixelRmse:F4}" : "not kept")}; always kept {ak:F4}) SAD {sb:F4} -> {d.Sad:F4} ({d.Seconds:F1} s)");
            }
            var kept = rows.Where(r => r.Kept).ToArray();
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model.ToString().ToUpperInvariant()} | {Stat(rows.Select(r => r.Ab))} | {Stat(rows.Select(r => r.Ad))} | {Change(rows.Average(r => r.Ad), rows.Average(r => r.Ab))} | {rows.Count(r => r.Kept)} of {rows.Count} | {(kept.Length > 0 ? $"{kept.Average(r => r.Share) * 100:F0}%" : "-")} | {Stat(rows.Select(r => r.Ae))} | {Change(rows.Average(r => r.Ae), rows.Average(r => r.Ab))} | {Stat(rows.Select(r => r.Ak))} | {Change(rows.Average(r => r.Ak), rows.Average(r => r.Ab))} | {rows.Average(r => r.Sb):F4} | {rows.Average(r => r.Sd):F4} | {rows.Average(r => r.T):F1} |"));
        }

        md.AppendLine();
        md.AppendLine("## Ablations");
        md.AppendLine();
        md.AppendLine("Same scenes, seeds 1-2, abundance RMSE (mean SAD in brackets).");
        md.AppendLine();
        (string Name, MtlOptions Options)[] ablations =
        [
            ("default (alpha 0.1, E fixed, hold-out stopping)", new MtlOptions()),
            ("network always kept (no nonlinearity test, `--keep-network`)", new MtlOptions { RequireNonlinearGain = false }),
            ("alpha = 0 (no multi-task term)", new MtlOptions { Alpha = 0 }),
            ("alpha = 1", new MtlOptions { Alpha = 1 }),
            ("linear only (no networks)", new MtlOptions { Nonlinear = false }),
            ("column branch off", new MtlOptions { ColumnBranch = false }),
            ("no hold-out (stop on training loss)", new MtlOptions { ValidationFraction = 0 }),
            ("free endmembers (E step 1e-3, row branch trained)", new MtlOptions { EndmemberSteps = new StepBounds(2e-4f, 1e-7f, 1e-3f) }),
            ("free endmembers, row branch off", new MtlOptions { EndmemberSteps = new StepBounds(2e-4f, 1e-7f, 1e-3f), RowBranch = false }),
        ];
        MixingModel[] ablationModels = [MixingModel.Fan, MixingModel.Ppnm, MixingModel.Mlm];
        md.AppendLine("| variant | " + string.Join(" | ", ablationModels.Select(m => m.ToString().ToUpperInvariant())) + " |");
        md.AppendLine("|---|" + string.Concat(ablationModels.Select(_ => "---|")));
        var baseline = ablationModels.Select(m => Enumerable.Range(1, 2).Select(seed => { var (s, v) = Make(lib, m, seed); return ScoreLinear(s, v); }).ToArray()).ToArray();
        md.AppendLine("| VCA + FCLS | " + string.Join(" | ", baseline.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Average(x => x.Item1):F4} ({b.Average(x => x.Item2):F4})"))) + " |");
        foreach (var (name, options) in ablations)
        {
            var cells = ablationModels.Select(m =>
            {
                var r = Enumerable.Range(1, 2).Select(seed => { var (s, v) = Make(lib, m, seed); return ScoreDeep(s, v, options); }).ToArray();
                return string.Create(CultureInfo.InvariantCulture, $"{r.Average(x => x.Item1):F4} ({r.Average(x => x.Item2):F4})");
            }).ToArray();
            Console.WriteLine($"{name}: {string.Join(" | ", cells)}");
            md.AppendLine($"| {name} | {string.Join(" | ", cells)} |");
        }

        md.AppendLine();
        md.AppendLine("## Real scenes");
        md.AppendLine();
        md.AppendLine("Whole pipeline through the command: the default (`hyperunmix unmix CUBE -p P --seed S`) against FCLS with the same endmembers and the " +
                      "same (scaled) brightness model (`--method fcls --normalize scale`), scored against the datasets' ground truth " +
                      "(aRMSE = 100 x abundance RMSE, as HySUPP reports it; physical fractions, Samson's signal-weighted as its reference is). OTB and the other peers: see docs/accuracy-linear.md and ../shared/design/peers.md.");
        md.AppendLine();
        md.AppendLine("| scene | method | seed | mean SAD (rad) | mean SAD (deg) | aRMSE | time (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        var work = Path.Combine(root, "bench-data", "deep");
        Directory.CreateDirectory(work);
        // Samson's reference is signal-weighted (docs/accuracy-linear.md): both of its runs write that convention.
        foreach (var (name, stem, p, convention) in new (string, string, int, string[])[]
                 { ("Samson", "samson/samson", 3, ["--fractions", "signal"]), ("Jasper Ridge", "jasper_ridge/jasper_ridge", 4, []) })
            foreach (var seed in new[] { 1, 2, 3 })
                foreach (var method in new[] { "fcls", "mtl" })
                {
                    string[] extra = method == "fcls" ? ["--method", "fcls", "--normalize", "scale", .. convention] : convention;
                    var output = Path.Combine(work, $"{name.Replace(' ', '_')}-{method}-{seed}.tif");
                    var run = Common.Run("dotnet", [Common.Cli, "unmix", $"{data}/{stem}_cube.tif", "-o", output, "-p", p.ToString(CultureInfo.InvariantCulture),
                        "--seed", seed.ToString(CultureInfo.InvariantCulture), "--overwrite", .. extra]);
                    var est = EndmemberFiles.Load(Path.ChangeExtension(output, null) + ".endmembers.csv");
                    var s = Evaluation.Score(output, $"{data}/{stem}_abundances.tif", $"{data}/{stem}_endmembers.csv", est);
                    md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {name} | {(method == "mtl" ? "default (deep)" : "FCLS, same endmembers, scaled")} | {seed} | {s.MeanSadRadians:F4} | {s.MeanSadDegrees:F2} | {s.AbundanceRmse * 100:F2} | {run.Seconds:F1} |"));
                    Console.WriteLine($"{name} {method} seed {seed}: SAD {s.MeanSadDegrees:F2} deg aRMSE {s.AbundanceRmse * 100:F2} ({run.Seconds:F1} s)");
                }
        Directory.CreateDirectory(Path.GetDirectoryName(outDoc)!);
        Common.ReplaceGenerated(outDoc, md.ToString(), "bench deep");
        Console.Write(md.ToString());
    }

    private static string Change(double after, double before) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Round((after / before - 1) * 100, 1) + 0.0:+0.0;-0.0;0.0}%");

    private static string Stat(IEnumerable<double> v)
    {
        var x = v.ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"{x.Average():F4} ({x.Min():F4} - {x.Max():F4})");
    }

    private static (SyntheticScene Scene, EndmemberSet Vca) Make(SpectralLibrary lib, MixingModel model, int seed)
    {
        var e = SyntheticSceneWriter.PickDistinct(lib, 4, seed);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 100, Height = 100, Model = model, SnrDb = 30, Seed = seed, PurePixels = 1 });
        var v = Vca.Extract(scene.CubeAsDouble(), scene.Bands, scene.Pixels, 4, 42);
        return (scene, new EndmemberSet(v.Endmembers, scene.Bands, 4));
    }

    private static (double Rmse, double Sad) Score(SyntheticScene s, EndmemberSet est, float[] a)
    {
        var n = s.Pixels;
        var maps = Enumerable.Range(0, est.Count).Select(j => a.AsSpan(j * n, n).ToArray().Select(v => (double)v).ToArray()).ToList();
        var score = UnmixingMetrics.Score(Enumerable.Range(0, est.Count).Select(est.Spectrum).ToList(), Enumerable.Range(0, 4).Select(s.Endmembers.Spectrum).ToList(),
            maps, Enumerable.Range(0, 4).Select(s.AbundanceMap).ToList());
        return (score.AbundanceRmse, score.MeanSadRadians);
    }

    private static (double, double) ScoreLinear(SyntheticScene s, EndmemberSet vca)
    {
        var a = new float[4 * s.Pixels];
        new AbundanceSolver(vca, LinearMethod.Fcls).SolveTile(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray(), Abundances = a, Residual = new float[s.Pixels] }, new TileScratch());
        return Score(s, vca, a);
    }

    /// <summary>
    /// The deep fit's abundance RMSE and SAD as applied (with the pixel test), the same model on every pixel (no pixel
    /// test; the linear start's scores where the network was not kept), and the held-out pixels the network took.
    /// </summary>
    private static (double Rmse, double Sad, double Seconds, bool Kept, double EveryPixelRmse, double NetworkShare) ScoreDeepTested(SyntheticScene s, EndmemberSet vca, MtlOptions o)
    {
        var fit = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, vca, o);
        (double Rmse, double Sad) Applied(bool everyPixel)
        {
            var a = new float[fit.Model.Count * s.Pixels];
            fit.Model.Apply(TileBuffers.AllValid(s.Cube, s.Pixels, fit.Model.Count) with { Abundances = a }, fit.Model.CreateWorkspace(), new MtlModel.ApplyStart { EveryPixel = everyPixel });
            return Score(s, fit.Model.Endmembers, a);
        }
        var (r, sad) = Applied(everyPixel: false);
        var share = fit.Test is { NetworkPixels: { } k } t ? (double)k / t.Pixels : double.NaN;
        return (r, sad, fit.Seconds, fit.Test?.Kept ?? true, Applied(everyPixel: true).Rmse, share);
    }

    private static (double, double, double) ScoreDeep(SyntheticScene s, EndmemberSet vca, MtlOptions o)
    {
        var d = ScoreDeepTested(s, vca, o);
        return (d.Rmse, d.Sad, d.Seconds);
    }

    /// <summary>Fit on Jasper-sized data and apply to a large scene, with the sgemm peak measured in the same run.</summary>
    public static void Speed(Args a)
    {
        var peak = SgemmPeak();
        Console.WriteLine($"BLAS: {Blas.Default.Name}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sgemm peak (2048^3, best of 3, one thread): {peak:F1} GFLOP/s"));
        const int bands = 198, p = 4, side = 100;
        var wl = SyntheticSpectra.Wavelengths(bands);
        var e = EndmemberSet.FromSpectra(SyntheticSpectra.Create(p, wl), SyntheticSpectra.Materials.Take(p).ToArray(), wl);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = side, Height = side, Model = MixingModel.Fan, SnrDb = 30, Seed = 1 });
        var y = scene.CubeAsDouble();
        var vca = Vca.Extract(y, bands, scene.Pixels, p, 42);
        var e0 = new EndmemberSet(vca.Endmembers, bands, p);
        var fixedEpochs = new MtlOptions { MaxEpochs = 200, Patience = int.MaxValue };
        var fit = MtlTrainer.Fit(y, bands, scene.Pixels, e0, fixedEpochs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fit: {scene.Pixels} pixels x {bands} bands, P = {p}, {fit.Epochs} epochs in {fit.Seconds:F1} s = {1000 * fit.Seconds / fit.Epochs:F0} ms/epoch, {fit.Gflops / fit.Seconds:F1} GFLOP/s = {fit.Gflops / fit.Seconds / peak * 100:F0}% of the one-thread sgemm peak (the fit runs two halves of its pixels on two threads) (goal: whole fit under 60 s)"));
        var dflt = MtlTrainer.Fit(y, bands, scene.Pixels, e0, new MtlOptions());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fit with default stopping: {dflt.Epochs} epochs in {dflt.Seconds:F1} s"));

        var pixels = a.Int("apply-pixels", 1_000_000);
        var model = fit.Model;
        var tile = 65536;
        var tiles = (pixels + tile - 1) / tile;
        var cube = new float[bands * tile];
        for (var b = 0; b < bands; b++)
            for (var i = 0; i < tile; i++) cube[b * tile + i] = scene.Cube[b * scene.Pixels + i % scene.Pixels];
        var sw = Stopwatch.StartNew();
        Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => (model.CreateWorkspace(), new float[p * tile], new float[tile]), (t, _, st) =>
        {
            var n = Math.Min(tile, pixels - t * tile);
            model.Apply(new TileBuffers { Y = cube, Pixels = tile, Valid = Enumerable.Repeat((byte)1, tile).ToArray(), Abundances = st.Item2, Residual = st.Item3, NoData = -1 }, st.Item1);
            return st;
        }, _ => { });
        var secs = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"apply: {tiles * tile} pixels x {bands} bands in {secs:F1} s = {tiles * tile / secs:F0} pixels/s on {Environment.ProcessorCount} threads ({model.ApplyIterations} iterations per pixel; goal >= 50,000 pixels/s)"));
    }

    /// <summary>
    /// The deep apply kernel alone, one thread, in memory: a model fitted on a 224-band scene with P = 5, applied to
    /// one tile; next to FCLS on the same tile and the one-thread sgemm peak, all measured in this run.
    /// </summary>
    public static void ApplyKernel(Args a)
    {
        Console.WriteLine($"BLAS: {Blas.Default.Name}");
        int bands = a.Int("bands", 224), p = a.Int("p", 5), n = a.Int("pixels", 32768);
        var wl = SyntheticSpectra.Wavelengths(bands);
        var e = EndmemberSet.FromSpectra(SyntheticSpectra.Create(p, wl), SyntheticSpectra.Materials.Take(p).ToArray(), wl);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 128, Height = n / 128, Model = MixingModel.Fan, SnrDb = 30, Seed = 1 });
        var fit = MtlTrainer.Fit(scene.CubeAsDouble(), bands, Math.Min(scene.Pixels, 10_000), e, new MtlOptions { MaxEpochs = a.Int("epochs", 60), Patience = int.MaxValue });
        var model = fit.Model;
        var ab = new float[p * n];
        var res = new float[n];
        var t = TimeApply(model, scene.Cube, n, Enumerable.Repeat((byte)1, n).ToArray(), ab, res, a.Int("repeat", 3));
        var truth = Enumerable.Range(0, p).Select(scene.AbundanceMap).ToList();
        var rmse = Math.Sqrt(Enumerable.Range(0, p).Sum(j => Enumerable.Range(0, n).Sum(i => Math.Pow(ab[j * n + i] - truth[j][i], 2))) / (p * n));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one thread, {n} pixels x {bands} bands, P = {p}, {model.ApplyIterations} iterations; sgemm peak (one thread) {t.Peak:F1} GFLOP/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FCLS  {t.Fcls:F3} s = {n / t.Fcls:F0} pixels/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"apply {t.Apply:F3} s = {n / t.Apply:F0} pixels/s = {t.Apply / t.Fcls:F1}x FCLS; {t.Gflops:F1} GFLOP/s = {t.Gflops / t.Peak * 100:F0}% of peak; aRMSE x100 vs truth {rmse * 100:F3}"));
        if (a.Str("dump", "") is { Length: > 0 } dump) File.WriteAllBytes(dump, ab.SelectMany(BitConverter.GetBytes).Concat(res.SelectMany(BitConverter.GetBytes)).ToArray());
    }

    /// <summary>Seconds of FCLS and of the deep apply on the same pixels (best of <paramref name="repeat"/>), the apply's GFLOP/s and the sgemm peak, on one thread.</summary>
    internal sealed record ApplyTiming(double Fcls, double Apply, double Gflops, double Peak);

    /// <summary>
    /// The deep apply alone, in memory, on the calling thread (OpenBLAS runs one thread per call): next to FCLS with
    /// the model's endmembers on the same pixels and the sgemm peak, all measured here. Leaves the apply's output in
    /// <paramref name="abundances"/> and <paramref name="residual"/>.
    /// </summary>
    internal static ApplyTiming TimeApply(MtlModel model, float[] y, int n, byte[] valid, float[] abundances, float[] residual, int repeat)
    {
        var peak = SgemmPeak();
        var ws = model.CreateWorkspace();
        var fcls = new AbundanceSolver(model.Endmembers, LinearMethod.Fcls);
        var scratch = new TileScratch();
        var tFcls = Common.BestSeconds(repeat, () => fcls.SolveTile(new TileBuffers { Y = y, Pixels = n, Valid = valid, Abundances = abundances, Residual = residual, NoData = -1 }, scratch));
        var tApply = Common.BestSeconds(repeat, () => model.Apply(new TileBuffers { Y = y, Pixels = n, Valid = valid, Abundances = abundances, Residual = residual, NoData = -1 }, ws));
        return new ApplyTiming(tFcls, tApply, model.ApplyFlopsPerPixel() * n / tApply / 1e9, peak);
    }

    /// <summary>GFLOP/s of the reproducible product on the apply's shapes (rows x pixels x depth).</summary>
    public static void Shapes(Args a)
    {
        var m = a.Int("pixels", 128);
        var blas = ReproducibleBlas.Instance;
        // Each of the apply's shapes, op(A) stored both ways (At: A is k x rows, as a transposed operand). Every shape
        // runs once untimed first: the kernels start as unoptimised (tier-0) code and are recompiled after some calls,
        // which made whichever shape came first look several times slower than it is.
        (int Rows, int K)[] shapes = [(55, 224), (55, 50), (55, 5), (25, 5), (50, 25), (5, 55), (50, 55), (25, 50), (5, 25), (224, 50), (224, 5)];
        for (var pass = 0; pass < 2; pass++)
            foreach (var (rows, k) in shapes)
                foreach (var ta in new[] { false, true })
                {
                    var x = new float[rows * k];
                    var y = new float[k * m];
                    var z = new float[rows * m];
                    for (var i = 0; i < x.Length; i++) x[i] = i % 7 * 0.1f;
                    for (var i = 0; i < y.Length; i++) y[i] = i % 5 * 0.1f;
                    var reps = (int)((pass == 0 ? 2e8 : 2e9) / (2.0 * rows * k * m));
                    var sw = Stopwatch.StartNew();
                    for (var r = 0; r < reps; r++) blas.Gemm(ta, false, rows, m, k, 1f, x, ta ? rows : k, y, m, 1f, z, m);
                    var s = sw.Elapsed.TotalSeconds;
                    if (pass == 1)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows,4} x {m} x {k,3} {(ta ? "At" : "A ")}: {2.0 * rows * k * m * reps / s / 1e9:F1} GFLOP/s, {s / reps * 1e6:F2} us per call"));
                }
        var v = new float[5];
        var sc = new float[5];
        var sw2 = Stopwatch.StartNew();
        for (var i = 0; i < 1_000_000; i++) { v[0] = 0.3f; v[1] = -0.1f; v[2] = 0.5f; v[3] = 0.4f; v[4] = i * 1e-7f; Simplex.Project(v, sc); }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"simplex projection, P = 5: {sw2.Elapsed.TotalSeconds * 1e3:F0} ns"));
    }

    internal static double SgemmPeak()
    {
        const int n = 2048;
        var x = new float[n * n];
        var y = new float[n * n];
        var z = new float[n * n];
        new Random(1).NextBytes(new byte[1]);
        for (var i = 0; i < x.Length; i++) { x[i] = i % 7 * 0.1f; y[i] = i % 5 * 0.1f; }
        var best = double.MaxValue;
        for (var k = 0; k < 3; k++)
        {
            var sw = Stopwatch.StartNew();
            Blas.Default.Gemm(false, false, n, n, n, 1f, x, n, y, n, 0f, z, n);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
