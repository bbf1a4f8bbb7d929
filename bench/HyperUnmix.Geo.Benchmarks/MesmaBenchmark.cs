using System.Diagnostics;
using System.Globalization;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// MESMA: the Gram-matrix solver against brute-force per-model least squares (QR on the raw spectra), in one run, on
/// the same synthetic scene (USGS spectra, a 3-class library, levels 2-3, 40 dB) and one thread each. The Gram
/// solver runs the whole scene (generated and solved in chunks so that no 800 MB cube is held); the brute force runs
/// a subset of its pixels and is extrapolated per pixel (its cost is the same for every pixel: every model is solved).
/// On that subset the two must choose the same model with the same fractions. Then the time per pixel against the
/// number of models.
/// </summary>
internal static class MesmaBenchmark
{
    /// <summary>The smallest spectral angle between library spectra: as distinct as the USGS library allows for that many.</summary>
    private static double Angle(int perClass) => perClass <= 10 ? 0.2 : perClass <= 20 ? 0.1 : 0.06;

    public static void Run(Args args)
    {
        var size = args.Int("size", 1000);
        var bands = args.Int("bands", 200);
        var perClass = args.Int("per-class", 20);
        var brutePixels = args.Int("brute-pixels", 400);
        var data = args.Str("data", Path.Combine(Common.RepoRoot(), "..", "shared", "datasets"));
        var lib = EndmemberFiles.ReadCsv(Path.Combine(data, "usgs_library", "usgs_1995_library_aviris224.csv"));
        var wl = lib.Wavelengths!;
        // The first L bands (the water windows included: the scenes are drawn from the same spectra, and the cost depends on L only).
        var keep = Enumerable.Range(0, Math.Min(bands, lib.Bands)).ToArray();
        var spectraAll = lib.Spectra.Select(s => keep.Select(b => s[b]).ToArray()).ToArray();
        Console.WriteLine($"MESMA benchmark: {size} x {size} pixels, {keep.Length} bands (USGS 1995 library on the first AVIRIS bands), 40 dB, 1 thread each");

        var (idx, classOf) = MesmaScenes.PickClassed(spectraAll, 3, perClass, Angle(perClass), 1);
        var spectra = idx.Select(i => spectraAll[i]).ToArray();
        var models = new MesmaModels(spectra, classOf, ["A", "B", "C"], idx.Select(i => lib.Names[i]).ToArray(), new MesmaSettings { Levels = [2, 3] });
        var solver = new MesmaSolver(models);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"library: {spectra.Length} spectra, 3 classes of {perClass}; levels 2-3: {models.Count:N0} models"));

        // Gram MESMA over the whole scene, in chunks of rows.
        var total = (long)size * size;
        const int chunk = 16384;
        var scratch = new MesmaSolver.Scratch();
        double gramSeconds = 0;
        long right = 0;
        var sw = new Stopwatch();
        for (long at = 0, c = 0; at < total; at += chunk, c++)
        {
            var n = (int)Math.Min(chunk, total - at);
            var scene = MesmaScenes.Generate(spectra, classOf, [2, 3], n, 40, 1000 + c);
            var model = new int[n];
            var sse = new double[n];
            var valid = Enumerable.Repeat((byte)1, n).ToArray();
            sw.Restart();
            solver.Solve(new MesmaSolver.Buffers { Y = scene.Y, Pixels = n, Valid = valid, Model = model, Sse = sse }, scratch);
            for (var p = 0; p < n; p++) if (model[p] >= 0) solver.Fractions(model[p], scene.Y, n, p);
            gramSeconds += sw.Elapsed.TotalSeconds;
            for (var p = 0; p < n; p++) if (model[p] >= 0 && models.Spectrum(model[p]).SequenceEqual(scene.TrueSpectra[p])) right++;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Gram MESMA, whole scene: {gramSeconds:F1} s ({gramSeconds / total * 1e6:F1} µs/pixel, {gramSeconds / total / models.Count * 1e9:F2} ns per model and pixel); true model on {100.0 * right / total:F2}% of pixels"));

        // Brute force on a subset, checked against the Gram solver pixel by pixel.
        var sub = MesmaScenes.Generate(spectra, classOf, [2, 3], brutePixels, 40, 999);
        var subModel = new int[brutePixels];
        var subSse = new double[brutePixels];
        solver.Solve(new MesmaSolver.Buffers { Y = sub.Y, Pixels = brutePixels, Valid = Enumerable.Repeat((byte)1, brutePixels).ToArray(), Model = subModel, Sse = subSse }, scratch);
        sw.Restart();
        var brute = new (int Model, double[] Fractions, double Sse)[brutePixels];
        for (var p = 0; p < brutePixels; p++)
            brute[p] = MesmaReference.Solve(models, solver, Enumerable.Range(0, sub.Bands).Select(l => (double)sub.Y[l * brutePixels + p]).ToArray());
        var bruteSeconds = sw.Elapsed.TotalSeconds;
        int same = 0;
        double worst = 0;
        for (var p = 0; p < brutePixels; p++)
        {
            if (brute[p].Model != subModel[p]) continue;
            same++;
            if (subModel[p] < 0) continue;
            var x = solver.Fractions(subModel[p], sub.Y, brutePixels, p);
            worst = Math.Max(worst, x.Zip(brute[p].Fractions, (a, b) => Math.Abs(a - b)).Max());
        }
        var perPixel = bruteSeconds / brutePixels;
        var extrapolated = perPixel * total;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"brute force (QR per model), {brutePixels} pixels: {bruteSeconds:F1} s ({perPixel * 1e3:F2} ms/pixel); extrapolated to {size} x {size}: {extrapolated:F0} s ({extrapolated / 3600:F1} h)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"same chosen model on {same} of {brutePixels} pixels, largest fraction difference {worst:E1}; speed-up {extrapolated / gramSeconds:F0}x"));

        // The careful brute force: per model its pseudo-inverse once, then every pixel's raw spectrum.
        var pinvPixels = args.Int("pinv-pixels", 10000);
        var sub2 = MesmaScenes.Generate(spectra, classOf, [2, 3], pinvPixels, 40, 998);
        var gm = new int[pinvPixels];
        var gs = new double[pinvPixels];
        sw.Restart();
        solver.Solve(new MesmaSolver.Buffers { Y = sub2.Y, Pixels = pinvPixels, Valid = Enumerable.Repeat((byte)1, pinvPixels).ToArray(), Model = gm, Sse = gs }, scratch);
        var gramSub = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var (pm, _) = MesmaReference.SolvePseudoInverse(models, solver, sub2.Y, pinvPixels);
        var pinvSeconds = sw.Elapsed.TotalSeconds;
        var pinvExtrapolated = pinvSeconds / pinvPixels * total;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"brute force (pseudo-inverse per model, applied to each pixel's raw spectrum), {pinvPixels} pixels: {pinvSeconds:F1} s ({pinvSeconds / pinvPixels * 1e6:F0} µs/pixel); extrapolated to {size} x {size}: {pinvExtrapolated:F0} s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"same chosen model on {gm.Zip(pm).Count(t => t.First == t.Second)} of {pinvPixels} pixels; Gram on the same pixels {gramSub:F2} s; speed-up {pinvSeconds / gramSub:F0}x (whole-scene Gram time: {pinvExtrapolated / gramSeconds:F0}x)"));

        // Time per pixel against the number of models (one scene of 20,000 pixels per library size).
        Console.WriteLine("models | spectra per class | levels | µs/pixel | ns per model and pixel");
        foreach (var (k, levels) in new[] { (5, new[] { 2 }), (5, new[] { 2, 3 }), (10, new[] { 2, 3 }), (20, new[] { 2 }), (20, new[] { 2, 3 }), (30, new[] { 2, 3 }) })
        {
            var (ix, cl) = MesmaScenes.PickClassed(spectraAll, 3, k, Angle(k), 2);
            var sp = ix.Select(i => spectraAll[i]).ToArray();
            var m = new MesmaModels(sp, cl, ["A", "B", "C"], ix.Select(i => $"s{i}").ToArray(), new MesmaSettings { Levels = levels, MaxModels = 1_000_000 });
            var s = new MesmaSolver(m);
            const int n = 20000;
            var scene = MesmaScenes.Generate(sp, cl, levels, n, 40, 3);
            var model = new int[n];
            var sse = new double[n];
            sw.Restart();
            s.Solve(new MesmaSolver.Buffers { Y = scene.Y, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Model = model, Sse = sse }, new MesmaSolver.Scratch());
            var sec = sw.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m.Count,6:N0} | {k,2} | {string.Join(",", levels),5} | {sec / n * 1e6,8:F2} | {sec / n / m.Count * 1e9,6:F2}"));
        }
    }
}
