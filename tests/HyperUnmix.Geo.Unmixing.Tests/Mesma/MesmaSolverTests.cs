using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Unmixing.Tests.Mesma;

/// <summary>
/// MESMA on synthetic scenes drawn from the USGS library (../shared/datasets/usgs_library): a known model per pixel
/// (2-4 spectra plus shade), 40 dB noise. The fast solver is checked against the brute-force QR reference on every
/// pixel, against the truth, and against its own constraints.
/// </summary>
public sealed class MesmaSolverTests
{
    private static readonly Lazy<double[][]> Usgs = new(() =>
    {
        var path = Repo.Dataset("usgs_library/usgs_1995_library_aviris224.csv");
        Assert.True(File.Exists(path), $"{path} is missing (../shared beside the clone)");
        var lib = EndmemberFiles.ReadCsv(path);
        // Leave out the water-vapour windows, where the library's spectra are noise.
        var wl = lib.Wavelengths!;
        var keep = Enumerable.Range(0, lib.Bands).Where(b => !(wl[b] is > 1340 and < 1450 or > 1800 and < 1960 or > 2450)).ToArray();
        return lib.Spectra.Select(s => keep.Select(b => s[b]).ToArray()).ToArray();
    });

    private static (MesmaModels Models, MesmaScene Scene) Setup(int classes, int perClass, int[] levels, int pixels, long seed, MesmaSettings? settings = null)
    {
        var lib = Usgs.Value;
        var (idx, classOf) = MesmaScenes.PickClassed(lib, classes, perClass, 0.2, seed);
        var spectra = idx.Select(i => lib[i]).ToArray();
        var models = new MesmaModels(spectra, classOf, Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray(),
            idx.Select(i => $"usgs{i}").ToArray(), (settings ?? new MesmaSettings()) with { Levels = levels });
        var scene = MesmaScenes.Generate(spectra, classOf, levels, pixels, 40, seed + 1);
        return (models, scene);
    }

    private static (int[] Model, double[] Sse) SolveAll(MesmaSolver solver, MesmaScene scene)
    {
        var model = new int[scene.Pixels];
        var sse = new double[scene.Pixels];
        var valid = Enumerable.Repeat((byte)1, scene.Pixels).ToArray();
        solver.Solve(new MesmaSolver.Buffers { Y = scene.Y, Pixels = scene.Pixels, Valid = valid, Model = model, Sse = sse }, new MesmaSolver.Scratch());
        return (model, sse);
    }

    private static double[] Pixel(MesmaScene s, int p) => Enumerable.Range(0, s.Bands).Select(l => (double)s.Y[l * s.Pixels + p]).ToArray();

    [Fact]
    public void GramMesma_EqualsBruteForce_OnEveryPixel()
    {
        var (models, scene) = Setup(4, 4, [2, 3, 4], 300, 7);
        var solver = new MesmaSolver(models);
        var (model, sse) = SolveAll(solver, scene);
        var modelled = 0;
        for (var p = 0; p < scene.Pixels; p++)
        {
            var r = MesmaReference.Solve(models, solver, Pixel(scene, p));
            Assert.True(r.Model == model[p], $"pixel {p}: fast model {model[p]}, brute force {r.Model}");
            if (r.Model < 0) continue;
            modelled++;
            var x = solver.Fractions(model[p], scene.Y, scene.Pixels, p);
            for (var a = 0; a < x.Length; a++) Assert.Equal(r.Fractions[a], x[a], 1e-9);
            Assert.Equal(r.Sse, sse[p], 1e-9);
        }
        Assert.True(modelled > 0.9 * scene.Pixels, $"only {modelled} of {scene.Pixels} pixels modelled");
        // The benchmark's careful brute force (a pseudo-inverse per model) chooses the same models too.
        var (pinvModel, pinvSse) = MesmaReference.SolvePseudoInverse(models, solver, scene.Y, scene.Pixels);
        Assert.Equal(model, pinvModel);
        for (var p = 0; p < scene.Pixels; p++) if (model[p] >= 0) Assert.Equal(sse[p], pinvSse[p], 1e-9);
    }

    [Fact]
    public void GramMesma_EqualsBruteForce_WithTheFTestRule()
    {
        var (models, scene) = Setup(3, 5, [1, 2, 3], 200, 11, new MesmaSettings { FTestAlpha = 0.01 });
        var solver = new MesmaSolver(models);
        var (model, _) = SolveAll(solver, scene);
        for (var p = 0; p < scene.Pixels; p++)
            Assert.Equal(MesmaReference.Solve(models, solver, Pixel(scene, p)).Model, model[p]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrueModel_IsFound_OnAtLeast95PercentOfPixels_At40dB(bool fTest)
    {
        var (models, scene) = Setup(4, 5, [2, 3, 4], 2000, 21, new MesmaSettings { FTestAlpha = fTest ? 1e-4 : null });
        var solver = new MesmaSolver(models);
        var (model, _) = SolveAll(solver, scene);
        int right = 0, lower = 0, higher = 0, same = 0, none = 0;
        double worst = 0;
        for (var p = 0; p < scene.Pixels; p++)
        {
            if (model[p] < 0) { none++; continue; }
            var k = models.Level[model[p]];
            if (k < scene.TrueSpectra[p].Length) lower++;
            else if (k > scene.TrueSpectra[p].Length) higher++;
            else if (!models.Spectrum(model[p]).SequenceEqual(scene.TrueSpectra[p])) same++;
            if (!models.Spectrum(model[p]).SequenceEqual(scene.TrueSpectra[p])) continue;
            right++;
            var x = solver.Fractions(model[p], scene.Y, scene.Pixels, p);
            worst = Math.Max(worst, x.Zip(scene.TrueFractions[p], (a, b) => Math.Abs(a - b)).Max());
        }
        Assert.True(right >= 0.95 * scene.Pixels, $"true model on {right} of {scene.Pixels} pixels (wrong: {lower} lower level, {higher} higher, {same} other spectra at the true level, {none} unmodelled)");
        // Where the model is right, the fractions are the truth's up to the noise.
        Assert.True(worst < 0.05, $"largest fraction error on a right model {worst}");
    }

    [Fact]
    public void Constraints_HoldInEveryModelledPixel_AndEveryFitIsTheLeastSquaresOne()
    {
        var st = new MesmaSettings();
        var (models, scene) = Setup(3, 6, [2, 3], 1000, 31);
        var solver = new MesmaSolver(models);
        var (model, sse) = SolveAll(solver, scene);
        for (var p = 0; p < scene.Pixels; p++)
        {
            if (model[p] < 0) continue;
            var x = solver.Fractions(model[p], scene.Y, scene.Pixels, p);
            Assert.All(x, v => Assert.InRange(v, st.MinFraction, st.MaxFraction));
            Assert.InRange(1 - x.Sum(), st.MinShade, st.MaxShade);
            Assert.InRange(MesmaSolver.Rmse(sse[p], models.L), 0, st.MaxRmse);
            // Normal equations (KKT of the unconstrained fit): the residual is orthogonal to each model spectrum.
            var y = Pixel(scene, p);
            var idx = models.Spectrum(model[p]).ToArray();
            var r = Enumerable.Range(0, models.L).Select(l => y[l] - idx.Select((i, a) => x[a] * models.Spectra[i][l]).Sum()).ToArray();
            foreach (var i in idx)
            {
                var dot = r.Zip(models.Spectra[i], (u, v) => u * v).Sum();
                Assert.True(Math.Abs(dot) < 1e-8 * y.Sum(v => v * v), $"pixel {p}: residual not orthogonal to spectrum {i} ({dot})");
            }
            Assert.Equal(r.Sum(v => v * v), sse[p], 1e-9);
        }
    }

    [Fact]
    public void Uncertainty_IsTheSpreadOfClassFractionsOverTheNearBestModels_AsBruteForceFindsThem()
    {
        const double delta = 0.002;
        var (models, scene) = Setup(3, 5, [2, 3], 150, 51, new MesmaSettings { UncertaintyRmse = delta });
        var solver = new MesmaSolver(models);
        var n = scene.Pixels;
        var model = new int[n];
        var sse = new double[n];
        var spread = new double[4 * n];
        solver.Solve(new MesmaSolver.Buffers { Y = scene.Y, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Model = model, Sse = sse, Spread = spread }, new MesmaSolver.Scratch());
        var st = models.Settings;
        int several = 0;
        for (var p = 0; p < n; p++)
        {
            if (model[p] < 0) { Assert.True(double.IsNaN(spread[3 * n + p])); continue; }
            // Brute force: every model of the chosen level fitted by QR on the spectra, kept when valid and near.
            var y = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfArray(Pixel(scene, p));
            var limit = MesmaSolver.Rmse(sse[p], models.L) + delta;
            var fractions = new List<double[]>();
            for (var mi = 0; mi < models.Count; mi++)
            {
                if (models.Level[mi] != models.Level[model[p]]) continue;
                var idx = models.Spectrum(mi).ToArray();
                var e = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(models.L, idx.Length, (l, a) => models.Spectra[idx[a]][l]);
                var x = e.QR().Solve(y);
                var rmse = (y - e * x).L2Norm() / Math.Sqrt(models.L);
                if (x.Any(v => v < st.MinFraction || v > st.MaxFraction) || 1 - x.Sum() < st.MinShade || 1 - x.Sum() > st.MaxShade || rmse > st.MaxRmse || rmse > limit) continue;
                var perClass = new double[3];
                for (var a = 0; a < idx.Length; a++) perClass[models.ClassOf[idx[a]]] = x[a];
                fractions.Add(perClass);
            }
            Assert.Equal(fractions.Count, spread[3 * n + p]);
            if (fractions.Count > 1) several++;
            for (var c = 0; c < 3; c++)
            {
                var mean = fractions.Average(f => f[c]);
                var sd = Math.Sqrt(fractions.Average(f => (f[c] - mean) * (f[c] - mean)));
                Assert.Equal(sd, spread[c * n + p], 1e-7);
            }
        }
        Assert.True(several > 10, $"only {several} pixels have more than one near-best model: the test shows nothing");
    }

    [Theory]
    [InlineData(0.10, 0.05, false)]   // shade 0.85 > 0.8: refused
    [InlineData(0.15, 0.10, true)]    // shade 0.75: kept
    [InlineData(1.20, 0.00, false)]   // a fraction of 1.2 > 1.05 (and shade -0.2): refused
    [InlineData(0.70, -0.10, false)]  // a fraction of -0.1 < -0.05: refused
    public void Constraints_DecideNoiselessPixels_AtEveryVectorLaneAndInTheScalarTail(double fa, double fb, bool modelled)
    {
        var (models, _) = Setup(2, 2, [1, 2], 1, 61);
        var solver = new MesmaSolver(models);
        // One pixel fa·e0 + fb·e2 (classes 0 and 1), repeated on 7 pixels: the vector lanes and the scalar tail.
        const int n = 7;
        var y = new float[models.L * n];
        for (var l = 0; l < models.L; l++)
            for (var p = 0; p < n; p++) y[l * n + p] = (float)(fa * models.Spectra[0][l] + fb * models.Spectra[2][l]);
        var model = new int[n];
        var sse = new double[n];
        solver.Solve(new MesmaSolver.Buffers { Y = y, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Model = model, Sse = sse }, new MesmaSolver.Scratch());
        for (var p = 0; p < n; p++)
        {
            var reference = MesmaReference.Solve(models, solver, Enumerable.Range(0, models.L).Select(l => (double)y[l * n + p]).ToArray());
            Assert.Equal(reference.Model, model[p]);
            if (modelled)
            {
                // The true two-spectrum model (level 2 beats level 1 by far more than the gain).
                Assert.Equal([0, 2], models.Spectrum(model[p]));
                var x = solver.Fractions(model[p], y, n, p);
                Assert.Equal(fa, x[0], 1e-5);
                Assert.Equal(fb, x[1], 1e-5);
            }
            else if (model[p] >= 0)
            {
                // Another model may fit within the constraints, never the refused true one.
                Assert.NotEqual([0, 2], models.Spectrum(model[p]));
                var x = solver.Fractions(model[p], y, n, p);
                Assert.All(x, v => Assert.InRange(v, -0.05, 1.05));
                Assert.InRange(1 - x.Sum(), 0, 0.8);
            }
        }
    }

    [Fact]
    public void Result_DoesNotDependOnTheChunkAPixelFallsIn()
    {
        var (models, scene) = Setup(3, 4, [2, 3], 700, 41);
        var solver = new MesmaSolver(models);
        var (model, sse) = SolveAll(solver, scene);
        // The same pixels, shifted by 37 inside a larger buffer: other chunk boundaries and vector lanes.
        const int shift = 37;
        var n = scene.Pixels + shift;
        var y = new float[scene.Bands * n];
        for (var l = 0; l < scene.Bands; l++)
            for (var p = 0; p < scene.Pixels; p++) y[l * n + shift + p] = scene.Y[l * scene.Pixels + p];
        var m2 = new int[n];
        var s2 = new double[n];
        var valid = Enumerable.Repeat((byte)1, n).ToArray();
        solver.Solve(new MesmaSolver.Buffers { Y = y, Pixels = n, Valid = valid, Model = m2, Sse = s2 }, new MesmaSolver.Scratch());
        for (var p = 0; p < scene.Pixels; p++)
        {
            Assert.Equal(model[p], m2[shift + p]);
            Assert.Equal(BitConverter.DoubleToInt64Bits(sse[p]), BitConverter.DoubleToInt64Bits(s2[shift + p]));
        }
    }

    [Fact]
    public void Models_AreEveryOnePerClassCombination_AndTheLimitIsEnforcedWithTheCount()
    {
        var lib = Usgs.Value;
        var (idx, classOf) = MesmaScenes.PickClassed(lib, 3, 4, 0.12, 5);
        var spectra = idx.Select(i => lib[i]).ToArray();
        var names = new[] { "a", "b", "c" };
        var m = new MesmaModels(spectra, classOf, names, idx.Select(i => $"s{i}").ToArray(), new MesmaSettings { Levels = [2, 3] });
        Assert.Equal(3 * 16 + 64, m.Count + m.Singular);
        for (var i = 0; i < m.Count; i++) Assert.Equal(m.Level[i], m.Spectrum(i).Select(s => classOf[s]).Distinct().Count());
        var e = Assert.Throws<MesmaException>(() => new MesmaModels(spectra, classOf, names, idx.Select(i => $"s{i}").ToArray(), new MesmaSettings { Levels = [2, 3], MaxModels = 100 }));
        Assert.Contains("112 models", e.Message);
        var empty = Assert.Throws<MesmaException>(() => new MesmaModels(spectra, classOf, ["a", "b", "c", "d"], idx.Select(i => $"s{i}").ToArray(), new MesmaSettings()));
        Assert.Contains("class 'd' has no spectra", empty.Message);
    }

    [Fact]
    public void Gaussian_Resampling_OfALinearSpectrum_IsTheLineAtTheCentre_AndGapsAreNotCovered()
    {
        // A straight line is kept by any symmetric response: an independent check of the weights.
        var x = Enumerable.Range(0, 300).Select(i => 400.0 + 2 * i).Where(w => w is < 1300 or > 1500).ToArray();
        var lib = new SpectralLibrary("line", [x.Select(w => 0.1 + 1e-4 * w).ToArray()], ["line"], x);
        double[] scene = [500, 700.5, 900, 1400];
        var (s, report) = SpectralResampler.Resample(lib, scene, [10, 10, 10, 10]);
        Assert.Equal([0, 1, 2], report.Covered);
        Assert.Equal(3, s[0].Length);
        // Centred on a library sample the samples are symmetric: exact. Off the grid (700.5) the response's cut at
        // ±3σ falls unevenly between samples: within 1e-5 of the line.
        Assert.Equal(0.1 + 1e-4 * scene[0], s[0][0], 1e-12);
        Assert.Equal(0.1 + 1e-4 * scene[2], s[0][2], 1e-12);
        Assert.Equal(0.1 + 1e-4 * scene[1], s[0][1], 1e-5);
        Assert.Equal(2, report.LargestGapNm, 1e-9);
        var (lin, rl) = SpectralResampler.Resample(lib, scene, null);
        Assert.Contains("linear", rl.Method);
        Assert.Equal(0.1 + 1e-4 * 700.5, lin[0][1], 1e-12);
    }
}
