using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Synthetic;
using HyperUnmix.Geo.Unmixing.Tests.Solvers;

namespace HyperUnmix.Geo.Unmixing.Tests.Extraction;

public class VcaTests
{
    [Theory]
    [InlineData(3, 1L)]
    [InlineData(5, 2L)]
    [InlineData(6, 3L)]
    public void Extract_PurePixelScene40dB_RecoversEndmembersAtDataScale(int p, long seed)
    {
        var truth = AbundanceSolverTests.Materials(p);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 50, Height = 50, SnrDb = 40, Seed = seed, PurePixels = 2 });
        var r = Vca.Extract(scene.CubeAsDouble(), scene.Bands, scene.Pixels, p, seed: 42, blas: Backends.OpenBlasOrFail());
        var est = Enumerable.Range(0, p).Select(j => Enumerable.Range(0, scene.Bands).Select(i => r.Endmembers[i * p + j]).ToArray()).ToArray();
        var refs = Enumerable.Range(0, p).Select(truth.Spectrum).ToArray();
        var score = UnmixingMetrics.Score(est, refs, null, null);
        Assert.True(score.MeanSadRadians < 0.02, $"mean SAD {score.MeanSadRadians:F4} rad");
        // At the data's scale: each matched spectrum has the reference's magnitude (OTB's VCA gets this wrong).
        for (var j = 0; j < p; j++)
        {
            var ratio = Norm(est[score.Match[j]]) / Norm(refs[j]);
            Assert.InRange(ratio, 0.95, 1.05);
        }
    }

    [Fact]
    public void Extract_SameSeed_SameResult_DifferentSeedMayDiffer()
    {
        var truth = AbundanceSolverTests.Materials(4);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 30, Height = 30, SnrDb = 30, Seed = 9 });
        var y = scene.CubeAsDouble();
        var a = Vca.Extract(y, scene.Bands, scene.Pixels, 4, 7);
        var b = Vca.Extract(y, scene.Bands, scene.Pixels, 4, 7);
        Assert.Equal(a.PixelIndices, b.PixelIndices);
        Assert.Equal(a.Endmembers, b.Endmembers);
    }

    /// <summary>
    /// Decompositions shared between VCA, N-FINDR and every P of the residual's elbow change no bit of what they
    /// find (high SNR and low: both of VCA's projections), and are never used for other pixels.
    /// </summary>
    [Theory]
    [InlineData(40.0)]
    [InlineData(10.0)]
    public void SharedAxes_GiveTheSameEndmembers_AndOnlyForTheirOwnPixels(double snr)
    {
        var truth = AbundanceSolverTests.Materials(4);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 30, Height = 30, SnrDb = snr, Seed = 9 });
        var y = scene.CubeAsDouble();
        int l = scene.Bands, n = scene.Pixels;
        var axes = new PrincipalAxes(y, l, n, Blas.Default);
        foreach (var p in new[] { 2, 3, 4 })
        {
            var alone = Vca.Extract(y, l, n, p, 7);
            var shared = Vca.Extract(y, l, n, p, 7, axes: axes);
            Assert.Equal(alone.ProjectiveProjection, shared.ProjectiveProjection);
            Assert.Equal(snr > 25, shared.ProjectiveProjection);   // each SNR really takes its own branch
            Assert.Equal(alone.Endmembers, shared.Endmembers);
            Assert.Equal(NFindr.Refine(y, l, n, alone.PixelIndices).Endmembers, NFindr.Refine(y, l, n, shared.PixelIndices, axes: axes).Endmembers);
        }
        Assert.Same(axes, PrincipalAxes.For(axes, y, l, n, Blas.Default));
        var copy = (double[])y.Clone();
        Assert.NotSame(axes, PrincipalAxes.For(axes, copy, l, n, Blas.Default));
    }

    [Fact]
    public void Extract_PLargerThanBands_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Vca.Extract(new double[5 * 100], 5, 100, 6, 1));
        Assert.Contains("band count", ex.Message);
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}

public class HySimeTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Estimate_LmmScene30dB_ReturnsTrueP(int p)
    {
        // Distinct spectra: HySime rightly merges endmembers whose differences are below the noise (as the
        // built-in dark materials water/asphalt/shade are at 30 dB), so the test uses well-separated ones.
        var wl = SyntheticSpectra.Wavelengths(100);
        var rng = new Rng(100 + p);
        var truth = EndmemberSet.FromSpectra(Enumerable.Range(0, p).Select(_ => SyntheticSpectra.Random(rng, wl)).ToArray());
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = 30, Seed = p });
        var r = HySime.Estimate(scene.CubeAsDouble(), scene.Bands, scene.Pixels, Backends.OpenBlasOrFail());
        Assert.Equal(p, r.Count);
    }

    [Fact]
    public void NoiseVariance_IsEachBandsLeastSquaresResidualOnTheOtherBands()
    {
        // Band i's ridge regression on the other bands (ridge λ = 1e-6 trace(Y Yᵀ) / L, as the estimate adds): its
        // normal equations (Xᵀ X + λ I) β = Xᵀ y_i solved directly, for the first, a middle and the last band; the
        // estimate (from Y Yᵀ alone, through R⁻¹'s rank-one updates) must give the same noise power ‖y_i − X β‖² / N.
        var truth = AbundanceSolverTests.Materials(4, bands: 30);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 20, Height = 20, SnrDb = 30, Seed = 5 });
        int l = scene.Bands, n = scene.Pixels;
        var y = scene.CubeAsDouble();
        var r = HySime.Estimate(y, l, n, Backends.OpenBlasOrFail());
        var lambda = 1e-6 * y.Sum(v => v * v) / l;
        foreach (var band in new[] { 0, 7, l - 1 })
        {
            var x = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, l - 1, (k, c) => y[(c < band ? c : c + 1) * n + k]);
            var t = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(n, k => y[band * n + k]);
            var normal = x.TransposeThisAndMultiply(x) + MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseIdentity(l - 1) * lambda;
            var direct = t - x * normal.Cholesky().Solve(x.TransposeThisAndMultiply(t));
            var power = direct.DotProduct(direct) / n;
            Assert.True(Math.Abs(r.NoiseVariance[band] - power) < 1e-6 * power, $"band {band}: {r.NoiseVariance[band]} against {power}");
            // Not a trivial residual: the noise at 30 dB is a few percent of the band.
            Assert.InRange(power / (t.DotProduct(t) / n), 1e-6, 0.04);
        }
    }

    [Fact]
    public void OntoSignalSubspace_BringsNoisyPurePixelsCloserToTheirMaterials_AndKeepsTheSubspace()
    {
        // Vegetation, soil and water (dark: 0.005-0.09) at 30 dB: the pure pixels carry noise in every band, the
        // signal lives in HySime's few dimensions; projected, each is closer to its true spectrum, water by far.
        var truth = AbundanceSolverTests.Materials(3);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = 30, Seed = 3, PurePixels = 1 });
        int l = scene.Bands, n = scene.Pixels, p = truth.Count;
        var y = scene.CubeAsDouble();
        var hysime = HySime.Estimate(y, l, n, Backends.OpenBlasOrFail());
        var k = HySime.SubspaceDimension(hysime, p);
        Assert.InRange(k, p, 6);
        var pixels = new double[l * p];
        for (var j = 0; j < p; j++)
        {
            var purest = Enumerable.Range(0, n).MaxBy(i => scene.Abundances[j * n + i]);
            for (var b = 0; b < l; b++) pixels[b * p + j] = y[b * n + purest];
        }
        var projected = HySime.OntoSignalSubspace(pixels, l, p, hysime, k, Backends.OpenBlasOrFail());
        double[] Column(double[] e, int j) => Enumerable.Range(0, l).Select(b => e[b * p + j]).ToArray();
        for (var j = 0; j < p; j++)
        {
            double before = UnmixingMetrics.Sad(Column(pixels, j), truth.Spectrum(j)), after = UnmixingMetrics.Sad(Column(projected, j), truth.Spectrum(j));
            Assert.True(after < before, $"{truth.Names[j]}: {after} rad projected, {before} as a pixel");
            if (truth.Names[j] == "water") Assert.True(after < before / 2, $"water: {after} rad projected, {before} as a pixel");
        }
        // A projection: what is already in the subspace stays where it is.
        var again = HySime.OntoSignalSubspace(projected, l, p, hysime, k, Backends.OpenBlasOrFail());
        for (var i = 0; i < again.Length; i++) Assert.Equal(projected[i], again[i], 1e-12);
    }

    [Fact]
    public void Estimate_FewerPixelsThanBands_Throws()
    {
        Assert.Throws<ArgumentException>(() => HySime.Estimate(new double[50 * 10], 50, 10));
    }
}

public class HfcVdTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Estimate_LmmScene30dB_GivesPOrPMinusOne_AndShrinksWithPf(int p)
    {
        // HFC counts sources through the mean's energy; it is known to land on P or P - 1 (one source can carry no
        // mean difference). Distinct spectra as in the HySime test.
        var wl = SyntheticSpectra.Wavelengths(100);
        var rng = new Rng(100 + p);
        var truth = EndmemberSet.FromSpectra(Enumerable.Range(0, p).Select(_ => SyntheticSpectra.Random(rng, wl)).ToArray());
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = 30, Seed = 1 });
        var vd = HfcVd.Estimate(scene.CubeAsDouble(), scene.Bands, scene.Pixels, [1e-3, 1e-4, 1e-5], Backends.OpenBlasOrFail());
        Assert.InRange(vd[0], p - 1, p);
        Assert.True(vd[0] >= vd[1] && vd[1] >= vd[2], $"not monotone in Pf: {string.Join(", ", vd)}");
    }

    [Fact]
    public void Estimate_ZeroMeanWhiteNoise_FindsNoSignal()
    {
        var rng = new Rng(9);
        const int l = 40, n = 5000;
        var y = Enumerable.Range(0, l * n).Select(_ => rng.NextGaussian()).ToArray();
        Assert.InRange(HfcVd.Estimate(y, l, n, [1e-3])[0], 0, 1);
    }
}
