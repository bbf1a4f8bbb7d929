using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Unmixing.Tests.Extraction;

/// <summary>N-FINDR, the archetypal refinement and the scaled mixing model, against facts that hold by construction.</summary>
public class RefinementTests
{
    private static EndmemberSet Materials(int p, int bands = 60)
    {
        var wl = SyntheticSpectra.Wavelengths(bands);
        return EndmemberSet.FromSpectra(SyntheticSpectra.Create(p, wl), SyntheticSpectra.Materials.Take(p).ToArray(), wl);
    }

    [Fact]
    public void NFindr_NoiselessSimplexWithPurePixels_FindsExactlyTheVertices_FromAnyStart()
    {
        var e = Materials(4);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 30, Height = 30, SnrDb = double.PositiveInfinity, Seed = 3, MaxPurity = 0.8 });
        var y = s.CubeAsDouble();
        // The pure pixels are the only vertices (every other pixel is capped at 80 %).
        var pure = Enumerable.Range(0, e.Count).Select(j => Enumerable.Range(0, s.Pixels).Single(i => s.Abundances[j * s.Pixels + i] == 1)).ToArray();
        foreach (var start in new[] { new[] { 0, 1, 2, 3 }, new[] { 100, 200, 300, 400 }, new[] { 5, 5, 6, 7 } })
        {
            var r = NFindr.Refine(y, s.Bands, s.Pixels, start);
            Assert.Equal(pure.Order(), r.PixelIndices.Order());
            for (var i = 0; i < r.PixelIndices.Length; i++)
                for (var b = 0; b < s.Bands; b++) Assert.Equal(y[b * s.Pixels + r.PixelIndices[i]], r.Endmembers[b * 4 + i]);
        }
    }

    [Fact]
    public void NFindr_NeverShrinksTheVolumeOfItsStart()
    {
        var e = Materials(3);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 20, Height = 20, SnrDb = 25, Seed = 4 });
        var y = s.CubeAsDouble();
        var start = new[] { 10, 20, 30 };
        var none = NFindr.Refine(y, s.Bands, s.Pixels, start, maxSweeps: 0);
        var full = NFindr.Refine(y, s.Bands, s.Pixels, start);
        Assert.True(full.Volume >= none.Volume, $"{full.Volume} < {none.Volume}");
        Assert.True(full.Swaps > 0);
    }

    [Fact]
    public void Archetypal_BStaysColumnStochastic_ChosenResidualNeverAboveTheStart_AndSameInputSameResult()
    {
        var e = Materials(4);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 40, Height = 40, SnrDb = 30, Seed = 5, Spatial = true, IlluminationMin = 0.5 });
        var y = s.CubeAsDouble();
        var start = Vca.Extract(y, s.Bands, s.Pixels, 4, 1).PixelIndices;
        foreach (var sub in new[] { 0, 12 })
        {
            var o = new ArchetypalOptions { Iterations = 30, Subspace = sub };
            var r = ArchetypalRefinement.Refine(y, s.Bands, s.Pixels, start, o);
            for (var j = 0; j < 4; j++)
            {
                var column = Enumerable.Range(0, s.Pixels).Select(i => r.Bt[j * s.Pixels + i]).ToArray();
                Assert.All(column, v => Assert.True(v >= 0));
                Assert.Equal(1.0, column.Sum(), 1e-9);
            }
            Assert.True(r.ChosenResidual <= r.InitialResidual);
            Assert.Equal(r.Residuals.Min(), r.ChosenResidual);
            var again = ArchetypalRefinement.Refine(y, s.Bands, s.Pixels, start, o);
            Assert.Equal(r.Endmembers, again.Endmembers);
        }
    }

    [Fact]
    public void Archetypal_ImprovesNoisyExtractedPixels()
    {
        // Noisy data with a few pure pixels per material: N-FINDR picks the most extreme of them, noise included;
        // refinement must bring the spectra closer (SAD) without ground truth, by the residual alone.
        var e = Materials(4);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 50, Height = 50, SnrDb = 20, Seed = 6, PurePixels = 10, IlluminationMin = 0.6 });
        var y = s.CubeAsDouble();
        var vca = Vca.Extract(y, s.Bands, s.Pixels, 4, 1);
        var nf = NFindr.Refine(y, s.Bands, s.Pixels, vca.PixelIndices);
        var r = ArchetypalRefinement.Refine(y, s.Bands, s.Pixels, nf.PixelIndices, new ArchetypalOptions { Iterations = 60 });
        double Sad(double[] est) => UnmixingMetrics.Score(Enumerable.Range(0, 4).Select(new EndmemberSet(est, s.Bands, 4).Spectrum).ToList(),
            Enumerable.Range(0, 4).Select(e.Spectrum).ToList(), null, null).MeanSadRadians;
        Assert.True(Sad(r.Endmembers) < Sad(nf.Endmembers), $"{Sad(r.Endmembers)} vs {Sad(nf.Endmembers)}");
    }

    [Fact]
    public void ScaledModel_RecoversAbundancesUnderIlluminationWithADarkEndmember_WherePlainFclsCannot()
    {
        // vegetation, soil, water (dark), asphalt; every pixel scaled by a factor in [0.3, 1]; no noise.
        var e = Materials(4);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 30, Height = 30, SnrDb = double.PositiveInfinity, Seed = 7, IlluminationMin = 0.3 });
        var valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray();
        float[] Solve(PixelScale scale, out float[] residual, out float[] scales)
        {
            var a = new float[4 * s.Pixels];
            residual = new float[s.Pixels];
            scales = new float[s.Pixels];
            new AbundanceSolver(e, LinearMethod.Fcls, scale: scale).SolveTile(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = a, Residual = residual, NoData = -1, Scales = scales }, new TileScratch());
            return a;
        }
        double Rmse(float[] a) => Math.Sqrt(a.Select((v, i) => (v - s.Abundances[i]) * (v - s.Abundances[i])).Average());
        var scaled = Solve(PixelScale.Scale, out var r, out var sc);
        var plain = Solve(PixelScale.None, out _, out _);
        Assert.True(Rmse(scaled) < 1e-4, $"scaled model RMSE {Rmse(scaled)}");
        Assert.True(Rmse(plain) > 0.05, $"plain FCLS RMSE {Rmse(plain)}");
        for (var i = 0; i < s.Pixels; i++)
        {
            Assert.Equal(1.0, Enumerable.Range(0, 4).Sum(j => (double)scaled[j * s.Pixels + i]), 1e-5);
            Assert.True(sc[i] is >= 0.29f and <= 1.01f, $"pixel {i}: scale {sc[i]}");   // the illumination factor itself
            Assert.True(r[i] < 1e-5);
        }
        // Round trip: s E a reproduces the pixel.
        for (var b = 0; b < s.Bands; b += 7)
            for (var i = 0; i < s.Pixels; i += 13)
            {
                var recon = sc[i] * Enumerable.Range(0, 4).Sum(j => e.E[b * 4 + j] * scaled[j * s.Pixels + i]);
                Assert.Equal(s.Cube[b * s.Pixels + i], recon, 1e-4);
            }
    }

    [Fact]
    public void UnitLengthPixels_ResidualIsInDataUnits_AndScaleIsTheLength()
    {
        var e = Materials(3);
        var unit = e.UnitLength();
        for (var j = 0; j < 3; j++) Assert.Equal(1.0, Math.Sqrt(unit.Spectrum(j).Sum(x => x * x)), 1e-12);
        var s = SceneGenerator.Generate(e, new SceneOptions { Width = 10, Height = 10, SnrDb = 20, Seed = 8 });
        var valid = Enumerable.Repeat((byte)1, s.Pixels).ToArray();
        var a = new float[3 * s.Pixels];
        var r = new float[s.Pixels];
        var sc = new float[s.Pixels];
        new AbundanceSolver(unit, LinearMethod.Fcls, scale: PixelScale.L2).SolveTile(new TileBuffers { Y = s.Cube, Pixels = s.Pixels, Valid = valid, Abundances = a, Residual = r, NoData = -1, Scales = sc }, new TileScratch());
        for (var i = 0; i < s.Pixels; i++)
        {
            var length = Math.Sqrt(Enumerable.Range(0, s.Bands).Sum(b => (double)s.Cube[b * s.Pixels + i] * s.Cube[b * s.Pixels + i]));
            Assert.Equal(length, sc[i], 1e-4 * length);
            // residual RMSE = ‖y − ‖y‖ Ê a‖ / √L
            double ss = 0;
            for (var b = 0; b < s.Bands; b++)
            {
                var d = s.Cube[b * s.Pixels + i] - length * Enumerable.Range(0, 3).Sum(j => unit.E[b * 3 + j] * a[j * s.Pixels + i]);
                ss += d * d;
            }
            Assert.Equal(Math.Sqrt(ss / s.Bands), r[i], 1e-4 * length);
        }
    }
}
