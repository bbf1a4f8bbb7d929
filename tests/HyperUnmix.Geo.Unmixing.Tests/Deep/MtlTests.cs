using System.Text.Json.Nodes;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Unmixing.Tests.Deep;

public sealed class MtlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-mtl-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static EndmemberSet Distinct(int p, int bands, long seed)
    {
        var wl = SyntheticSpectra.Wavelengths(bands);
        var rng = new Rng(seed);
        return EndmemberSet.FromSpectra(Enumerable.Range(0, p).Select(_ => SyntheticSpectra.Random(rng, wl)).ToArray(), null, wl);
    }

    private static SyntheticScene Scene(MixingModel model, int side = 30, long seed = 1) =>
        SceneGenerator.Generate(Distinct(3, 60, 11), new SceneOptions { Width = side, Height = side, Model = model, SnrDb = 30, Seed = seed });

    private static readonly MtlOptions Small = new() { RowHidden = [16, 32], ColumnHidden = [8, 16], MaxEpochs = 60, Seed = 3 };

    private static float[] Fcls(EndmemberSet e, SyntheticScene s)
    {
        var a = new float[e.Count * s.Pixels];
        new AbundanceSolver(e, LinearMethod.Fcls).SolveTile(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray(), Abundances = a, Residual = new float[s.Pixels] }, new TileScratch());
        return a;
    }

    /// <summary>The fit's answer for its own pixels: the fitted model applied to them.</summary>
    private static float[] Applied(MtlFit fit, SyntheticScene s)
    {
        var a = new float[fit.Model.Count * s.Pixels];
        fit.Model.Apply(TileBuffers.AllValid(s.Cube, s.Pixels, fit.Model.Count) with { Abundances = a }, fit.Model.CreateWorkspace());
        return a;
    }

    private static double Rmse(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(s / a.Length);
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void Fit_SameSeed_GivesTheSameModelAndAbundances()
    {
        var s = Scene(MixingModel.Fan);
        var a = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small);
        var b = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small);
        Assert.Equal(Applied(a, s), Applied(b, s));
        Assert.Equal(a.Model.ColumnTheta, b.Model.ColumnTheta);
        Assert.Equal(a.Model.ENormalised, b.Model.ENormalised);
        Assert.Equal(a.LossHistory, b.LossHistory);
        Assert.True(a.FinalLoss < a.InitialLoss, "training did not lower the loss");
    }

    [Fact]
    public void Fit_LinearOnlyWithLargeAlpha_ConvergesToTheLinearSolution()
    {
        var s = Scene(MixingModel.Lmm);
        var options = Small with { Nonlinear = false, Alpha = 100, MaxEpochs = 300, EndmemberSteps = new StepBounds(1e-4f, 0, 1e-3f) };
        var fit = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, options);
        // With the networks off and the NMF term dominant, A must be the constrained least-squares answer for the
        // fitted E: FCLS with that E reproduces it.
        var fcls = Fcls(fit.Model.Endmembers, s);
        var diff = Math.Sqrt(fcls.Zip(Applied(fit, s)).Sum(t => (double)(t.First - t.Second) * (t.First - t.Second)) / fcls.Length);
        Assert.True(diff < 0.01, $"fitted A differs from FCLS(Y, E_fit) by RMSE {diff:G3}");
    }

    [Fact]
    public void Fit_SmallBilinearScene_BeatsVcaPlusFclsOnAbundances()
    {
        var s = Scene(MixingModel.Fan, side: 40, seed: 4);
        var y = s.CubeAsDouble();
        var vca = Vca.Extract(y, s.Bands, s.Pixels, 3, 42);
        var e0 = new EndmemberSet(vca.Endmembers, s.Bands, 3);
        var baseline = Fcls(e0, s);
        var fit = MtlTrainer.Fit(y, s.Bands, s.Pixels, e0, new MtlOptions { MaxEpochs = 150, Seed = 1 });
        // Compare after matching estimated to true endmembers (VCA order is arbitrary).
        var match = HyperUnmix.Geo.Unmixing.Metrics.UnmixingMetrics.Score(Enumerable.Range(0, 3).Select(e0.Spectrum).ToList(), Enumerable.Range(0, 3).Select(s.Endmembers.Spectrum).ToList(), null, null).Match;
        double Score(float[] a) => Math.Sqrt(Enumerable.Range(0, 3).Sum(j => Math.Pow(Rmse(a.AsSpan(match[j] * s.Pixels, s.Pixels), s.AbundanceMap(j)), 2) / 3));
        var before = Score(baseline);
        var after = Score(Applied(fit, s));
        Assert.True(after < before, $"deep model abundance RMSE {after:F4} is not below VCA+FCLS {before:F4}");
    }

    /// <summary>
    /// Issue 19, item 2: on a linear scene whose endmembers are a little off (as extracted ones are), the network lowers
    /// the held-out error by re-mixing the endmembers linearly, which moves the abundances away from those of the
    /// given endmembers. The nonlinearity test sees that a linear re-mix does as well, and the fit returns its linear
    /// start: FCLS with the given endmembers, pixel for pixel. Kept anyway, the network moves them.
    /// </summary>
    [Fact]
    public void Fit_LinearSceneWithImperfectEndmembers_ReturnsTheLinearStart()
    {
        var s = SceneGenerator.Generate(Distinct(3, 60, 11), new SceneOptions { Width = 40, Height = 40, Model = MixingModel.Lmm, SnrDb = 40, Seed = 2 });
        var rng = new Rng(5);
        var off = s.Endmembers.E.Select(v => v * (1 + 0.05 * rng.NextGaussian())).ToArray();
        var e = new EndmemberSet(off, s.Bands, 3);
        var fcls = Fcls(e, s);
        static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(t => Math.Abs(t.First - t.Second));

        var fit = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, e, Small);
        Assert.NotNull(fit.Test);
        Assert.False(fit.Test.Kept, fit.Test.Reason);
        Assert.True(MaxDiff(Applied(fit, s), fcls) < 1e-3, $"returned abundances differ from FCLS by {MaxDiff(Applied(fit, s), fcls):G3}");
        // The linear start's mixing model is E a: its apply is FCLS with the model's endmembers, bit for bit.
        Assert.True(fit.Model.IsLinear);
        Assert.Equal(Fcls(fit.Model.Endmembers, s), Applied(fit, s));

        var kept = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, e, Small with { RequireNonlinearGain = false });
        Assert.Null(kept.Test);
        Assert.True(MaxDiff(Applied(kept, s), fcls) > 1e-2, $"the kept network moved the abundances by only {MaxDiff(Applied(kept, s), fcls):G3}: the test above proves nothing");
        Assert.False(kept.Model.IsLinear);
    }

    /// <summary>The other side: on a strongly nonlinear scene (PPNM) with exact endmembers, the network explains what no linear re-mix can, and is kept.</summary>
    [Fact]
    public void Fit_NonlinearScene_KeepsTheNetwork()
    {
        var s = Scene(MixingModel.Ppnm, side: 60, seed: 2);
        var fit = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 150 });
        Assert.NotNull(fit.Test);
        Assert.True(fit.Test.Kept, fit.Test.Reason);
        Assert.True(fit.Test.DeepError < fit.Test.LinearError && fit.Test.Z < NonlinearityTest.Threshold, fit.Test.Reason);
        Assert.Equal(0, fit.Test.StoppedAt);
    }

    /// <summary>
    /// The gain check (<see cref="MtlOptions.GainCheckEpoch"/>): on the linear scene, where the network never gets 1%
    /// below the linear re-mix, the fit stops at the check and returns the same linear start, bit for bit, as a fit
    /// that runs on; with the check off it runs past that epoch (so the check really saved epochs).
    /// </summary>
    [Fact]
    public void Fit_NoGainByTheCheckEpoch_StopsThereWithTheSameAnswer()
    {
        var s = SceneGenerator.Generate(Distinct(3, 60, 11), new SceneOptions { Width = 40, Height = 40, Model = MixingModel.Lmm, SnrDb = 40, Seed = 2 });
        var rng = new Rng(5);
        var e = new EndmemberSet(s.Endmembers.E.Select(v => v * (1 + 0.05 * rng.NextGaussian())).ToArray(), s.Bands, 3);
        var options = Small with { MaxEpochs = 100, GainCheckEpoch = 20 };
        var stopped = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, e, options);
        var ran = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, e, options with { GainCheckEpoch = 0 });
        Assert.NotNull(stopped.Test);
        Assert.NotNull(ran.Test);
        Assert.Equal(20, stopped.Test.StoppedAt);
        Assert.Equal(21, stopped.Epochs);
        Assert.Contains("stopped at epoch 20", stopped.Test.Reason);
        Assert.True(ran.Epochs > 21, $"without the check the fit ran {ran.Epochs} epochs: the test proves nothing");
        Assert.False(stopped.Test.Kept || ran.Test.Kept, ran.Test.Reason);
        Assert.Equal(Applied(ran, s), Applied(stopped, s));
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void Apply_AnySplitIntoTilesAndThreads_GivesIdenticalResults()
    {
        var s = Scene(MixingModel.Ppnm, side: 45);
        var fit = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 20 });
        var m = fit.Model;
        int n = s.Pixels, p = m.Count, l = s.Bands;
        var whole = new float[p * n];
        var wholeR = new float[n];
        var valid = Enumerable.Range(0, n).Select(i => (byte)(i % 17 == 0 ? 0 : 1)).ToArray();
        m.Apply(new TileBuffers { Y = s.Cube, Pixels = n, Valid = valid, Abundances = whole, Residual = wholeR, NoData = -1 }, m.CreateWorkspace());
        foreach (var chunk in new[] { 100, 777, 1500 })
        {
            var starts = Enumerable.Range(0, (n + chunk - 1) / chunk).Select(i => i * chunk).ToArray();
            Parallel.ForEach(starts, new ParallelOptions { MaxDegreeOfParallelism = 2 }, () => m.CreateWorkspace(), (start, _, ws) =>
            {
                var k = Math.Min(chunk, n - start);
                var y = new float[l * k];
                for (var b = 0; b < l; b++) Array.Copy(s.Cube, b * n + start, y, b * k, k);
                var a = new float[p * k];
                var r = new float[k];
                m.Apply(new TileBuffers { Y = y, Pixels = k, Valid = valid.AsSpan(start, k), Abundances = a, Residual = r, NoData = -1 }, ws);
                for (var j = 0; j < p; j++)
                    for (var i = 0; i < k; i++) Assert.Equal(whole[j * n + start + i], a[j * k + i]);
                for (var i = 0; i < k; i++) Assert.Equal(wholeR[start + i], r[i]);
                return ws;
            }, _ => { });
        }
        Assert.Equal(-1f, whole[0]);
        // Apply solves each pixel on the simplex.
        for (var px = 1; px < 17; px++) Assert.Equal(1.0, Enumerable.Range(0, p).Sum(j => (double)whole[j * n + px]), 1e-5);
    }

    [Fact]
    public void Apply_WithPixelScale_StartsFromTheScaledModelsSolution_AndSavesTheScale()
    {
        // With no iterations the answer is the start: for PixelScale.Scale that is NNLS then a = b / Σb, exactly.
        var s = Scene(MixingModel.Fan, side: 20);
        var m = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 5 }).Model.WithPixelScale(PixelScale.Scale);
        var valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray();
        var a = new float[m.Count * s.Pixels];
        m.Apply(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = a, Residual = new float[s.Pixels], NoData = -1 }, m.CreateWorkspace(), new MtlModel.ApplyStart { Iterations = 0 });
        var expected = new float[m.Count * s.Pixels];
        new AbundanceSolver(m.Endmembers, LinearMethod.Fcls, scale: PixelScale.Scale).SolveTile(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = expected, Residual = new float[s.Pixels], NoData = -1 }, new TileScratch());
        Assert.Equal(expected, a);
        var path = Path.Combine(_dir, "scaled.model.json");
        m.Save(path);
        Assert.Equal(PixelScale.Scale, MtlModel.Load(path).PixelScale);
        // One vocabulary: the file says what --normalize says; a file from before the change ("sum") still loads.
        var text = File.ReadAllText(path);
        const string Written = "\"pixel_scale\":\\s*\"scale\"";
        Assert.Matches(Written, text);
        File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(text, Written, "\"pixel_scale\": \"sum\""));
        Assert.Equal(PixelScale.Scale, MtlModel.Load(path).PixelScale);
        File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(text, Written, "\"pixel_scale\": \"bright\""));
        Assert.Contains("expected one of none, scale, l2", Assert.Throws<MtlModelException>(() => MtlModel.Load(path)).Message);
        Assert.Equal(["none", "scale", "l2"], PixelScales.Names);
    }

    [Fact]
    public void Model_SaveLoad_AppliesIdentically_AndRefusesOtherBands()
    {
        var s = Scene(MixingModel.Mlm, side: 12);
        var m = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 10 }).Model;
        var path = Path.Combine(_dir, "m.model.json");
        m.Save(path);
        var back = MtlModel.Load(path);
        var valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray();
        var a = new float[3 * s.Pixels];
        var b = new float[3 * s.Pixels];
        m.Apply(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = a, Residual = new float[s.Pixels], NoData = -1 }, m.CreateWorkspace());
        back.Apply(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = b, Residual = new float[s.Pixels], NoData = -1 }, back.CreateWorkspace());
        Assert.Equal(a, b);
        var e = Assert.Throws<MtlModelException>(() => back.CheckScene("other.tif", 59, null));
        Assert.Contains("60 bands", e.Message);
        File.WriteAllText(path, "{\"format\":\"something else\"}");
        Assert.Throws<MtlModelException>(() => MtlModel.Load(path));
    }

    private string SavedModel(string name)
    {
        var s = Scene(MixingModel.Mlm, side: 12);
        var m = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 2 }).Model;
        var path = Path.Combine(_dir, name);
        m.Save(path);
        return path;
    }

    /// <summary>A model file edited by hand or crafted: every field is checked before anything is allocated or run.</summary>
    [Theory]
    [InlineData("apply_iterations", "1000000000", "apply_iterations")]
    [InlineData("apply_iterations", "-1", "apply_iterations")]
    [InlineData("scale", "0", "scale")]
    [InlineData("scale", "-2.5", "scale")]
    [InlineData("scale", "1e300", "scale")]
    [InlineData("alpha", "-1", "alpha")]
    [InlineData("alpha", "1e300", "alpha")]
    [InlineData("bands", "0", "bands")]
    [InlineData("bands", "2000000000", "bands")]
    [InlineData("endmembers", "0", "endmembers")]
    [InlineData("endmembers", "61", "endmembers")]
    [InlineData("column_layers", "[3, 70000, 70000, 60]", "column_layers")]
    [InlineData("column_layers", "[3, 2147483647, 2147483647, 60]", "column_layers")]
    [InlineData("column_layers", "[3, -4, 60]", "column_layers")]
    [InlineData("column_layers", "[3]", "column_layers")]
    public void Load_CraftedField_IsRefusedNamingFileAndField(string field, string json, string expected)
    {
        var path = SavedModel("crafted.model.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        root[field] = JsonNode.Parse(json);
        File.WriteAllText(path, root.ToJsonString());
        var e = Assert.Throws<MtlModelException>(() => MtlModel.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
        // Counts are computed without overflow: no negative size is ever reported for non-negative fields.
        if (!json.Contains('-')) Assert.DoesNotMatch(@"(?<![0-9Ee])-\d", e.Message[path.Length..]);
    }

    [Theory]
    [InlineData("E")]
    [InlineData("column_linear")]
    [InlineData("column_theta")]
    public void Load_NonFiniteWeights_AreRefusedNamingTheArray(string field)
    {
        var path = SavedModel("nan.model.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(root[field]!.GetValue<string>())).ToArray();
        values[values.Length / 2] = float.PositiveInfinity;
        root[field] = Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        File.WriteAllText(path, root.ToJsonString());
        var e = Assert.Throws<MtlModelException>(() => MtlModel.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void Apply_CancelledToken_StopsInsteadOfRunningItsIterations()
    {
        var s = Scene(MixingModel.Mlm, side: 12);
        var m = MtlTrainer.Fit(s.CubeAsDouble(), s.Bands, s.Pixels, s.Endmembers, Small with { MaxEpochs = 2 }).Model;
        var valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            m.Apply(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = new float[3 * s.Pixels], Residual = new float[s.Pixels], NoData = -1 }, m.CreateWorkspace(), new MtlModel.ApplyStart { Iterations = 10000, Cancel = cancel.Token }));
    }
}
