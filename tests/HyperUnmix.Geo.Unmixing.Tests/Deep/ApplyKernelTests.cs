using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Unmixing.Tests.Deep;

/// <summary>
/// The deep apply's kernel against independent facts: a plain double-precision implementation of the same
/// projected-gradient iterations on the full objective, the sorted simplex projection, and the unpruned network.
/// </summary>
public sealed class ApplyKernelTests
{
    /// <param name="scaled">Fit on the pixels divided by their scale (the scaled model's NNLS sum) and return the model for that scale, as the pipeline does.</param>
    private static MtlModel Model(MixingModel mixing, int bands, int p, out SyntheticScene scene, int epochs = 40, bool keepNetwork = false, bool scaled = false)
    {
        var wl = SyntheticSpectra.Wavelengths(bands);
        var rng = new Rng(5);
        var e = EndmemberSet.FromSpectra(Enumerable.Range(0, p).Select(_ => SyntheticSpectra.Random(rng, wl)).ToArray(), null, wl);
        scene = SceneGenerator.Generate(e, new SceneOptions { Width = 25, Height = 20, Model = mixing, SnrDb = 30, Seed = 2 });
        var y = scene.CubeAsDouble();
        if (scaled)
        {
            var scales = new float[scene.Pixels];
            new AbundanceSolver(e, LinearMethod.Fcls, scale: PixelScale.Scale).SolveTile(TileBuffers.AllValid(scene.Cube, scene.Pixels, p) with { Scales = scales }, new TileScratch());
            for (var i = 0; i < y.Length; i++) y[i] /= scales[i % scene.Pixels];
        }
        var model = MtlTrainer.Fit(y, bands, scene.Pixels, e,
            new MtlOptions { RowHidden = [16, 32], ColumnHidden = [12, 24], MaxEpochs = epochs, Seed = 4, RequireNonlinearGain = !keepNetwork }).Model;
        return scaled ? model.WithPixelScale(PixelScale.Scale) : model;
    }

    /// <summary>Per pixel, in double: f(a) = ‖W_c a + g(a) − y‖² + α‖E a − y‖² and its gradient, by plain loops.</summary>
    private static double Objective(MtlModel m, double[] y, double[] a, double[]? grad)
    {
        int l = m.Bands, p = m.Count;
        var layout = m.ColumnLayout;
        var s = layout.Sizes;
        var th = m.ColumnTheta;
        var acts = Forward(m, a);
        var r1 = new double[l];
        var r2 = new double[l];
        double f = 0;
        for (var b = 0; b < l; b++)
        {
            double lin = 0, e = 0;
            for (var j = 0; j < p; j++) { lin += m.Wc[b * p + j] * a[j]; e += m.ENormalised[b * p + j] * a[j]; }
            r1[b] = acts[^1][b] + lin - y[b];
            r2[b] = e - y[b];
            f += r1[b] * r1[b] + m.Alpha * r2[b] * r2[b];
        }
        if (grad is null) return f;
        for (var j = 0; j < p; j++)
        {
            double g = 0;
            for (var b = 0; b < l; b++) g += 2 * (m.Wc[b * p + j] * r1[b] + m.Alpha * m.ENormalised[b * p + j] * r2[b]);
            grad[j] = g;
        }
        var delta = r1.Select(v => 2 * v).ToArray();
        for (var k = layout.Layers - 1; k >= 0; k--)
        {
            var input = new double[s[k]];
            for (var i = 0; i < s[k]; i++)
                for (var o = 0; o < s[k + 1]; o++) input[i] += th[layout.WeightOffsets[k] + i * s[k + 1] + o] * delta[o];
            if (k > 0) for (var i = 0; i < s[k]; i++) if (acts[k][i] <= 0) input[i] = 0;
            delta = input;
        }
        for (var j = 0; j < p; j++) grad[j] += delta[j];
        return f;
    }

    private static double[] ProjectSorted(double[] v)
    {
        var u = v.OrderByDescending(x => x).ToArray();
        double cum = 0, theta = 0;
        for (var i = 0; i < u.Length; i++)
        {
            cum += u[i];
            var t = (cum - 1) / (i + 1);
            if (u[i] - t > 0) theta = t;
        }
        return v.Select(x => Math.Max(x - theta, 0)).ToArray();
    }

    /// <param name="triangular">
    /// Whether the reduced objective's R is the QR's triangle (A has full column rank) or Σ Vᵀ from an SVD: with 10
    /// bands A has 20 rows for 24 + 3 columns (fewer after pruning), so its rank is short and the SVD path runs.
    /// </param>
    [Theory]
    [InlineData(nameof(MixingModel.Ppnm), 60, 3, true)]
    [InlineData(nameof(MixingModel.Fan), 90, 5, true)]
    [InlineData(nameof(MixingModel.Ppnm), 10, 3, false)]
    public void Apply_FollowsTheProjectedGradientOnTheFullObjective_ComputedIndependentlyInDouble(string mixingName, int bands, int p, bool triangular)
    {
        var mixing = Enum.Parse<MixingModel>(mixingName);
        // The network kept whatever the nonlinearity test says: a linear model's apply is FCLS and would test nothing here.
        var m = Model(mixing, bands, p, out var scene, keepNetwork: true);
        Assert.False(m.IsLinear);
        Assert.Equal(triangular, m.Subspace.Triangular);
        int n = scene.Pixels, l = bands;
        var valid = Enumerable.Repeat((byte)1, n).ToArray();
        var got = new float[p * n];
        var residual = new float[n];
        // Every pixel the network's solution: the kernel under test (the pixel test has its own test below).
        m.Apply(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = got, Residual = residual, NoData = -1 }, m.CreateWorkspace(), new MtlModel.ApplyStart { EveryPixel = true });
        var start = new float[p * n];
        new AbundanceSolver(m.Endmembers, LinearMethod.Fcls).SolveTile(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = start, Residual = new float[n], NoData = -1 }, new TileScratch());

        var close = 0;
        double worst = 0;
        for (var px = 0; px < n; px++)
        {
            var y = Enumerable.Range(0, l).Select(b => scene.Cube[b * n + px] / m.Scale).ToArray();
            var a = Enumerable.Range(0, p).Select(j => (double)start[j * n + px]).ToArray();
            var g = new double[p];
            double step = m.InitialStep, f = Objective(m, y, a, null);
            var f0 = f;
            for (var it = 0; it < m.ApplyIterations; it++)
            {
                Objective(m, y, a, g);
                var trial = ProjectSorted(a.Select((v, j) => v - step * g[j]).ToArray());
                var ft = Objective(m, y, trial, null);
                if (ft <= f) { a = trial; f = ft; step = Math.Min(step * 1.5, m.InitialStep * 64); }
                else step *= 0.5;
            }
            var mine = Enumerable.Range(0, p).Select(j => (double)got[j * n + px]).ToArray();
            var diff = Enumerable.Range(0, p).Max(j => Math.Abs(mine[j] - a[j]));
            worst = Math.Max(worst, diff);
            if (diff < 1e-4) close++;
            // Independent facts about the kernel's answer: on the simplex, no worse than its start, and its residual
            // is the model's reconstruction RMSE at that answer.
            Assert.Equal(1.0, mine.Sum(), 1e-5);
            Assert.True(mine.All(v => v >= 0));
            var fm = Objective(m, y, mine, null);
            Assert.True(fm <= f0 * (1 + 1e-5) + 1e-12, $"pixel {px}: objective {fm} above its start {f0}");
            var rm = ReconstructionRmse(m, y, mine);
            Assert.Equal(rm, residual[px], Math.Max(1e-6, rm * 1e-3));
        }
        // Step acceptance compares values that agree to rounding, so a few pixels may take another path; nearly all
        // must land on the reference's iterate.
        Assert.True(close >= n * 0.98, $"{close} of {n} pixels within 1e-4 of the double reference (worst {worst:G3})");
    }

    /// <summary>
    /// The pixel test (<see cref="MtlModel.NetworkGain"/>): each pixel gets, bit for bit, either the network's solution
    /// and residual (where its squared residual is at most half the linear start's) or the linear solver's own answer
    /// and residual; the count returned is the pixels that pass, with or without the test applied. Both outcomes must occur on the scene, and the same
    /// holds for the scaled model, whose linear start is the scaled solver's (on an MLM scene: under the scaled model
    /// the FAN, GBM and PPNM scenes here leave the network no pixel where it halves the residual).
    /// </summary>
    [Theory]
    [InlineData(nameof(MixingModel.Fan), false)]
    [InlineData(nameof(MixingModel.Mlm), true)]
    public void Apply_GivesThePixelTheNetworksSolutionOnlyWhereItRemovesHalfTheLinearResidual(string mixingName, bool scaled)
    {
        var m = Model(Enum.Parse<MixingModel>(mixingName), 60, 3, out var scene, keepNetwork: true, scaled: scaled);
        Assert.False(m.IsLinear);
        int n = scene.Pixels, p = m.Count;
        var valid = Enumerable.Repeat((byte)1, n).ToArray();
        valid[7] = 0;
        (float[] A, float[] R, int Count) Run(bool everyPixel)
        {
            var a = new float[p * n];
            var r = new float[n];
            var count = m.Apply(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = a, Residual = r, NoData = -1 }, m.CreateWorkspace(), new MtlModel.ApplyStart { EveryPixel = everyPixel });
            return (a, r, count);
        }
        var network = Run(everyPixel: true);
        var tested = Run(everyPixel: false);
        var linA = new float[p * n];
        var linR = new float[n];
        new AbundanceSolver(m.Endmembers, LinearMethod.Fcls, scale: scaled ? PixelScale.Scale : PixelScale.None)
            .SolveTile(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = linA, Residual = linR, NoData = -1 }, new TileScratch());
        var expected = 0;
        for (var px = 0; px < n; px++)
        {
            if (valid[px] == 0)
            {
                Assert.Equal(-1f, tested.R[px]);
                continue;
            }
            var takesNetwork = (double)network.R[px] * network.R[px] <= 0.5 * ((double)linR[px] * linR[px]);
            if (takesNetwork) expected++;
            var (a, r) = takesNetwork ? (network.A, network.R) : (linA, linR);
            Assert.Equal(r[px], tested.R[px]);
            for (var j = 0; j < p; j++) Assert.Equal(a[j * n + px], tested.A[j * n + px]);
        }
        Assert.Equal(expected, tested.Count);
        // The run without the test counts the same pixels (the fit's held-out checks read the count from it).
        Assert.Equal(expected, network.Count);
        Assert.InRange(expected, 1, n - 2);
    }

    /// <summary>The column network's activations for a, layer by layer (input first), in double.</summary>
    private static List<double[]> Forward(MtlModel m, double[] a)
    {
        var layout = m.ColumnLayout;
        var s = layout.Sizes;
        var th = m.ColumnTheta;
        var acts = new List<double[]> { a };
        for (var k = 0; k < layout.Layers; k++)
        {
            var x = acts[^1];
            var z = new double[s[k + 1]];
            for (var o = 0; o < z.Length; o++)
            {
                double v = th[layout.BiasOffsets[k] + o];
                for (var i = 0; i < s[k]; i++) v += th[layout.WeightOffsets[k] + i * s[k + 1] + o] * x[i];
                z[o] = k < layout.Layers - 1 ? Math.Max(v, 0) : v;
            }
            acts.Add(z);
        }
        return acts;
    }

    /// <summary>‖W_c a + g(a) − y‖ as the model reports it: RMSE over the bands, in data units.</summary>
    private static double ReconstructionRmse(MtlModel m, double[] y, double[] a)
    {
        int l = m.Bands, p = m.Count;
        var output = Forward(m, a)[^1];
        double ss = 0;
        for (var b = 0; b < l; b++)
        {
            var lin = 0.0;
            for (var j = 0; j < p; j++) lin += m.Wc[b * p + j] * a[j];
            var d = output[b] + lin - y[b];
            ss += d * d;
        }
        return m.Scale * Math.Sqrt(ss / l);
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void SimplexStep_IsTheSortedProjection_AndAColumnsResultDoesNotDependOnItsPosition()
    {
        var rng = new Rng(9);
        foreach (var p in new[] { 1, 2, 3, 5, 8, 13 })
        {
            const int m = 37; // vectors and a scalar tail
            var at = Enumerable.Range(0, p * m).Select(i => (float)Math.Round(rng.NextDouble() * 4, i % 3 == 0 ? 1 : 6) - 1f).ToArray();
            var grad = Enumerable.Range(0, p * m).Select(_ => (float)rng.NextGaussian()).ToArray();
            var step = Enumerable.Range(0, m).Select(i => i % 5 == 0 ? 0f : (float)rng.NextDouble()).ToArray();
            var trial = new float[p * m];
            SimplexStep.Run(trial, at, grad, step, p, m);
            for (var px = 0; px < m; px++)
            {
                var v = Enumerable.Range(0, p).Select(j => (double)(at[j * m + px] - step[px] * grad[j * m + px])).ToArray();
                var expected = ProjectSorted(v);
                for (var j = 0; j < p; j++) Assert.Equal(expected[j], trial[j * m + px], 1e-6);
                // Every column again, alone (the scalar path) and at the last place of a batch of 9: the same bits.
                foreach (var (count, place) in new[] { (1, 0), (9, 8) })
                {
                    var a1 = new float[p * count];
                    var g1 = new float[p * count];
                    var s1 = new float[count];
                    for (var j = 0; j < p; j++) { a1[j * count + place] = at[j * m + px]; g1[j * count + place] = grad[j * m + px]; }
                    s1[place] = step[px];
                    var t1 = new float[p * count];
                    SimplexStep.Run(t1, a1, g1, s1, p, count);
                    for (var j = 0; j < p; j++) Assert.Equal(trial[j * m + px], t1[j * count + place]);
                }
            }
        }
    }

    [Fact]
    public void Prune_DropsUnitsThatReachNoOutput_AndLeavesEveryOutputBitForBit()
    {
        var rng = new Rng(2);
        var layout = new MlpLayout([4, 6, 5, 7], [0, 30, 65], [24, 60, 100]);
        var theta = Enumerable.Range(0, 107).Select(_ => (float)rng.NextGaussian()).ToArray();
        // Unit 1 of the last hidden layer, and unit 3 of the first (which then only feeds... unit 1), reach nothing.
        for (var o = 0; o < 7; o++) theta[65 + 1 * 7 + o] = 0;
        for (var o = 0; o < 5; o++) theta[30 + 3 * 5 + o] = o == 1 ? 2f : 0f;
        var (pruned, pt) = MtlModel.Prune(layout, theta);
        Assert.Equal([4, 5, 4, 7], pruned.Sizes);
        const int batch = 21;
        var input = Enumerable.Range(0, 4 * batch).Select(_ => (float)rng.NextGaussian()).ToArray();
        var full = new Mlp.Workspace(layout, batch);
        var small = new Mlp.Workspace(pruned, batch);
        new Mlp(layout, ReproducibleBlas.Instance).ForwardColumns(theta, input, batch, full);
        new Mlp(pruned, ReproducibleBlas.Instance).ForwardColumns(pt, input, batch, small);
        Assert.Equal(full.Output.AsSpan(0, 7 * batch).ToArray(), small.Output.AsSpan(0, 7 * batch).ToArray());
    }
}
