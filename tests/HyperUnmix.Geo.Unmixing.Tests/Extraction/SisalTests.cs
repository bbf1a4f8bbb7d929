using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Synthetic;
using HyperUnmix.Geo.Unmixing.Tests.Solvers;
using MathNet.Numerics.LinearAlgebra;
using Xunit.Abstractions;

namespace HyperUnmix.Geo.Unmixing.Tests.Extraction;

public class SisalTests(ITestOutputHelper output)
{
    /// <summary>
    /// No pixel is purer than 0.8 (issue 19, item 3): the vertices are outside the data, where no pixel picker can
    /// reach. SISAL's minimum-volume simplex recovers them; VCA, on the same pixels, stops at the purest pixels.
    /// Both coordinate frames (whitened, sisal.m's default, and not).
    /// </summary>
    [Theory]
    [InlineData("vegetation,soil,clay", 60.0, true)]
    [InlineData("vegetation,soil,clay", double.PositiveInfinity, true)]
    [InlineData("vegetation,soil,clay", 60.0, false)]
    [InlineData("vegetation,soil,asphalt,clay", 60.0, true)]
    [InlineData("vegetation,soil,clay,concrete", 60.0, true)]
    [InlineData("vegetation,soil,clay,concrete", double.PositiveInfinity, false)]
    public void NoPurePixels_RecoversTheVertices_WhereVcaCannot(string materials, double snr, bool spherize)
    {
        var truth = Materials(materials);
        var p = truth.Count;
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = snr, Seed = p, PurePixels = 0, MaxPurity = 0.8 });
        Assert.True(scene.Abundances.Max() <= 0.8 + 1e-12);
        var y = scene.CubeAsDouble();
        var r = Sisal.Extract(y, scene.Bands, scene.Pixels, p, 42, new SisalOptions { Spherize = spherize });
        var vca = Vca.Extract(y, scene.Bands, scene.Pixels, p, 42);
        var sisal = Score(r.Endmembers, truth);
        var picked = Score(vca.Endmembers, truth);
        double offSisal = VertexError(r.Endmembers, truth, sisal.Match), offVca = VertexError(vca.Endmembers, truth, picked.Match);
        output.WriteLine($"{materials}, SNR {snr}, spherize {spherize}: SISAL mean SAD {sisal.MeanSadRadians:F5} rad, vertices off by {offSisal:F4}; " +
                         $"VCA {picked.MeanSadRadians:F5} rad, {offVca:F4}; hinge {r.Hinge:G3}");
        Assert.True(sisal.MeanSadRadians < 0.01, $"SISAL mean SAD {sisal.MeanSadRadians:F4} rad");
        Assert.True(offSisal < 0.03, $"a SISAL vertex is {offSisal:F3} off in abundance");
        Assert.True(picked.MeanSadRadians > 0.04 && picked.MeanSadRadians > 5 * sisal.MeanSadRadians,
            $"VCA {picked.MeanSadRadians:F4} rad, SISAL {sisal.MeanSadRadians:F4} rad: the scene does not tell a minimum-volume method from a pixel picker");
        Assert.True(offVca > 0.15, $"VCA's vertices only {offVca:F3} off");
        // At the data's scale: each vertex has its material's magnitude.
        for (var j = 0; j < p; j++)
            Assert.InRange(Norm(Column(r.Endmembers, p, sisal.Match[j])) / Norm(truth.Spectrum(j)), 0.98, 1.02);
        Assert.Equal(80, r.Iterations);
    }

    /// <summary>
    /// A dark material (water, reflectance 0.005-0.09) without pure pixels: its vertex is found to within a few
    /// hundredths of abundance, but the spectral angle of so short a vector magnifies any offset (SAD 0.05-0.3 rad
    /// here at 60 dB), so the vertices are compared in abundance terms. VCA is 0.2-0.8 off.
    /// </summary>
    [Theory]
    [InlineData("vegetation,soil,water")]
    [InlineData("vegetation,soil,water,asphalt")]
    public void NoPurePixels_DarkMaterial_VertexWithinAFewHundredths(string materials)
    {
        var truth = Materials(materials);
        var p = truth.Count;
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = 60, Seed = 1, PurePixels = 0, MaxPurity = 0.8 });
        var y = scene.CubeAsDouble();
        var r = Sisal.Extract(y, scene.Bands, scene.Pixels, p, 42);
        var vca = Vca.Extract(y, scene.Bands, scene.Pixels, p, 42);
        double offSisal = VertexError(r.Endmembers, truth, Score(r.Endmembers, truth).Match), offVca = VertexError(vca.Endmembers, truth, Score(vca.Endmembers, truth).Match);
        output.WriteLine($"{materials}: SISAL vertices off by {offSisal:F4}, VCA {offVca:F4}");
        Assert.True(offSisal < 0.04, $"a SISAL vertex is {offSisal:F3} off in abundance");
        Assert.True(offVca > 0.15, $"VCA's vertices only {offVca:F3} off");
    }

    [Theory]
    [InlineData("vegetation,soil,clay")]
    [InlineData("vegetation,soil,asphalt,clay,concrete")]
    public void PurePixelsNoiseless_RecoversTheEndmembersTightly(string materials)
    {
        var truth = Materials(materials);
        var p = truth.Count;
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 40, Height = 40, SnrDb = double.PositiveInfinity, Seed = p, PurePixels = 1 });
        var r = Sisal.Extract(scene.CubeAsDouble(), scene.Bands, scene.Pixels, p, 42);
        var score = Score(r.Endmembers, truth);
        var off = VertexError(r.Endmembers, truth, score.Match);
        output.WriteLine($"{materials}: SADs {string.Join(", ", score.SadRadians.Select(v => v.ToString("G3")))}, vertices off by {off:G3}");
        Assert.True(score.SadRadians.Max() < 5e-3, $"largest SAD {score.SadRadians.Max():G3} rad");
        Assert.True(off < 5e-3, $"a vertex is {off:G3} off in abundance");
        // The nearest pixels are the pure ones.
        for (var j = 0; j < p; j++)
            Assert.Equal(1.0, scene.Abundances[j * scene.Pixels + r.NearestPixels[score.Match[j]]], 1e-6);
    }

    /// <summary>
    /// The hinge's job: on noiseless data every pixel is inside the returned simplex, i.e. its abundances under the
    /// endmembers (least squares with sum-to-one) are non-negative up to a small violation. The hinge is a soft
    /// constraint and sisal.m's 80 iterations do not reach its optimum: a few pixels stay up to 0.01 outside (P = 3
    /// without pure pixels; 0.001 for P = 4), while a simplex shrunk without the hinge would leave the data far behind.
    /// </summary>
    [Theory]
    [InlineData(3, 0)]
    [InlineData(4, 0)]
    [InlineData(4, 1)]
    public void Noiseless_TheSimplexContainsEveryPixel(int p, int purePixels)
    {
        var truth = AbundanceSolverTests.Materials(p);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 50, Height = 50, SnrDb = double.PositiveInfinity, Seed = 3, PurePixels = purePixels, MaxPurity = 0.85 });
        int l = scene.Bands, n = scene.Pixels;
        var y = scene.CubeAsDouble();
        var r = Sisal.Extract(y, l, n, p, 42);
        // [E; 1ᵀ] a = [y; 1] in the least-squares sense: exact here, the pixels lying in the simplex's affine hull.
        var a = Matrix<double>.Build.Dense(l + 1, p, (i, j) => i < l ? r.Endmembers[i * p + j] : 1);
        var qr = a.QR();
        double lowest = double.PositiveInfinity, worstResidual = 0;
        var b = Vector<double>.Build.Dense(l + 1);
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < l; k++) b[k] = y[k * n + i];
            b[l] = 1;
            var x = qr.Solve(b);
            lowest = Math.Min(lowest, x.Minimum());
            worstResidual = Math.Max(worstResidual, (a * x - b).L2Norm() / b.L2Norm());
        }
        output.WriteLine($"P = {p}, pure pixels {purePixels}: lowest abundance {lowest:G3}, worst relative residual {worstResidual:G3}, hinge {r.Hinge:G3}");
        Assert.True(worstResidual < 1e-5, $"relative residual {worstResidual:G3}: the endmembers are off the pixels' affine set");
        Assert.True(lowest > -0.02, $"a pixel outside the simplex: abundance {lowest:G3}");
        Assert.True(r.Hinge / n < 5e-5, $"mean violation {r.Hinge / n:G3} per pixel");
        // And the simplex is not loose: some pixel is on (near) each facet.
        Assert.True(lowest < 1e-2, $"lowest abundance {lowest:G3}");
    }

    [Fact]
    public void SameInputAndSeed_SameBits()
    {
        var truth = AbundanceSolverTests.Materials(4);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 30, Height = 30, SnrDb = 30, Seed = 9, PurePixels = 0, MaxPurity = 0.9 });
        var y = scene.CubeAsDouble();
        var a = Sisal.Extract(y, scene.Bands, scene.Pixels, 4, 7);
        var b = Sisal.Extract((double[])y.Clone(), scene.Bands, scene.Pixels, 4, 7);
        Assert.Equal(a.Endmembers.Select(BitConverter.DoubleToInt64Bits), b.Endmembers.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(a.NearestPixels, b.NearestPixels);
        Assert.Equal(BitConverter.DoubleToInt64Bits(a.Objective), BitConverter.DoubleToInt64Bits(b.Objective));
        // Shared axes change no bit either.
        var axes = new PrincipalAxes(y, scene.Bands, scene.Pixels, HyperUnmix.Geo.Unmixing.LinearAlgebra.Blas.Default);
        var c = Sisal.Extract(y, scene.Bands, scene.Pixels, 4, 7, axes: axes);
        Assert.Equal(a.Endmembers.Select(BitConverter.DoubleToInt64Bits), c.Endmembers.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Sisal.Extract(new double[5 * 100], 5, 100, 6, 1));
        Assert.Contains("band count", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sisal.Extract(new double[5 * 100], 5, 100, 0, 1));
        var few = Assert.Throws<ArgumentException>(() => Sisal.Extract(new double[10 * 3], 10, 3, 4, 1));
        Assert.Contains("at least P = 4", few.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sisal.Extract(new double[10 * 30], 10, 30, 3, 1, new SisalOptions { Tau = 0 }));
    }

    [Fact]
    public void OneEndmember_IsTheMean()
    {
        var y = new double[] { 1, 2, 3, 4, 10, 20, 30, 40 }; // 2 bands x 4 pixels
        var r = Sisal.Extract(y, 2, 4, 1, 1);
        Assert.Equal([2.5, 25.0], r.Endmembers);
        Assert.Single(r.NearestPixels);
    }

    [Fact]
    public void Cancelled_Throws()
    {
        var truth = AbundanceSolverTests.Materials(3);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 20, Height = 20, Seed = 2 });
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Sisal.Extract(scene.CubeAsDouble(), scene.Bands, scene.Pixels, 3, 1, cancel: cts.Token));
    }

    [Fact]
    public void Extractor_IsListedAsSisal_AndReturnsItsResult()
    {
        var extractor = EndmemberExtractors.Get("sisal");
        Assert.IsType<SisalExtractor>(extractor);
        Assert.Equal("sisal", EndmemberExtractors.Names.Last());
        var truth = AbundanceSolverTests.Materials(3);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 30, Height = 30, SnrDb = 50, Seed = 4, PurePixels = 0, MaxPurity = 0.8 });
        var y = scene.CubeAsDouble();
        var x = extractor.Extract(y, scene.Bands, scene.Pixels, 3, 42, null, CancellationToken.None);
        var direct = Sisal.Extract(y, scene.Bands, scene.Pixels, 3, 42);
        Assert.Equal(direct.Endmembers, x.E);
        Assert.Equal(direct.NearestPixels, x.PixelIndices);
        Assert.Equal("SISAL from VCA (seed 42), 80 iterations, tau 1", x.Source);
        Assert.Equal(direct.VcaSnrDb, x.SnrDb);
    }

    private static EndmemberSet Materials(string names)
    {
        var materials = names.Split(',');
        var wl = SyntheticSpectra.Wavelengths(120);
        return EndmemberSet.FromSpectra(materials.Select(m => SyntheticSpectra.Create(m, wl)).ToArray(), materials);
    }

    private static UnmixingScore Score(double[] e, EndmemberSet truth) =>
        UnmixingMetrics.Score(Enumerable.Range(0, truth.Count).Select(j => Column(e, truth.Count, j)).ToArray(), Enumerable.Range(0, truth.Count).Select(truth.Spectrum).ToArray(), null, null);

    /// <summary>
    /// How far the estimated vertices are from the true ones in abundance terms: the largest |x − e_j| entry, x each
    /// estimate's coordinates in the true endmembers (least squares with sum-to-one): independent of a material's brightness.
    /// </summary>
    private static double VertexError(double[] e, EndmemberSet truth, int[] match)
    {
        int l = truth.Bands, p = truth.Count;
        var qr = Matrix<double>.Build.Dense(l + 1, p, (i, j) => i < l ? truth.E[i * p + j] : 1).QR();
        double worst = 0;
        for (var j = 0; j < p; j++)
        {
            var x = qr.Solve(Vector<double>.Build.Dense(l + 1, i => i < l ? e[i * p + match[j]] : 1));
            for (var k = 0; k < p; k++) worst = Math.Max(worst, Math.Abs(x[k] - (k == j ? 1 : 0)));
        }
        return worst;
    }

    private static double[] Column(double[] e, int p, int j) => Enumerable.Range(0, e.Length / p).Select(b => e[b * p + j]).ToArray();

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}
