using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;
using HyperUnmix.Geo.Unmixing.Tests.Solvers;

namespace HyperUnmix.Geo.Unmixing.Tests.Extraction;

public class ResidualElbowTests
{
    /// <summary>P materials with distinct absorption features (a Gaussian band each, on a flat continuum).</summary>
    private static EndmemberSet Distinct(int p, int bands = 100)
    {
        var spectra = Enumerable.Range(0, p).Select(j => Enumerable.Range(0, bands).Select(b =>
            0.25 + 0.4 * Math.Exp(-Math.Pow((b - (j + 0.5) * bands / (double)p) / (bands / (2.5 * p)), 2))).ToArray()).ToArray();
        return EndmemberSet.FromSpectra(spectra);
    }

    /// <summary>
    /// Linear mixtures of P materials at 40 dB: the elbow is P, the curve never rises, and the residual at P is the
    /// noise's (within 25% of the residual with the true endmembers).
    /// </summary>
    [Theory]
    [InlineData(3, 1L, false)]
    [InlineData(3, 1L, true)]
    [InlineData(4, 2L, true)]
    public void Estimate_KnownMixture_FindsTheNumberOfMaterials(int p, long seed, bool distinct)
    {
        var (r, trueRms, curve) = Run(distinct ? Distinct(p) : AbundanceSolverTests.Materials(p), seed);
        Assert.True(p == r.Count, $"p {p}: P {r.Count}, residuals {curve}, true endmembers {trueRms:G3}");
        Assert.InRange(r.Residuals[p - 1], trueRms * 0.9, trueRms * 1.25);
        for (var k = 1; k < r.Residuals.Length; k++) Assert.True(r.Residuals[k] <= r.Residuals[k - 1], $"residual rose at P = {k + 1}");
    }

    /// <summary>
    /// Where it errs, measured: 4 and 5 of these library-like materials read as 3 and 4 (one of them is nearly a
    /// mixture of the others, so it lowers the residual by less than the threshold); never by more than one.
    /// </summary>
    [Theory]
    [InlineData(4, 2L)]
    [InlineData(5, 3L)]
    public void Estimate_SimilarMaterials_IsWithinOne(int p, long seed)
    {
        var (r, trueRms, curve) = Run(AbundanceSolverTests.Materials(p), seed);
        Assert.True(Math.Abs(r.Count - p) <= 1, $"p {p}: P {r.Count}, residuals {curve}, true endmembers {trueRms:G3}");
    }

    private static (ElbowResult Result, double TrueRms, string Curve) Run(EndmemberSet truth, long seed)
    {
        var p = truth.Count;
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 60, Height = 60, SnrDb = 40, Seed = seed, PurePixels = 2 });
        var r = ResidualElbow.Estimate(scene.CubeAsDouble(), scene.Bands, scene.Pixels, 12, seed: 42);
        var res = new float[scene.Pixels];
        new AbundanceSolver(truth, LinearMethod.Nnls).SolveTile(new TileBuffers { Y = scene.Cube, Pixels = scene.Pixels, Valid = Enumerable.Repeat((byte)1, scene.Pixels).ToArray(), Abundances = new float[p * scene.Pixels], Residual = res }, new TileScratch());
        var trueRms = Math.Sqrt(res.Average(v => (double)v * v));
        return (r, trueRms, string.Join(" ", r.Residuals.Select(v => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Estimate_SameInput_SameResult()
    {
        var truth = AbundanceSolverTests.Materials(4);
        var scene = SceneGenerator.Generate(truth, new SceneOptions { Width = 40, Height = 40, SnrDb = 30, Seed = 5 });
        var a = ResidualElbow.Estimate(scene.CubeAsDouble(), scene.Bands, scene.Pixels, 12, seed: 42);
        var b = ResidualElbow.Estimate(scene.CubeAsDouble(), scene.Bands, scene.Pixels, 12, seed: 42);
        Assert.Equal(a.Residuals, b.Residuals);
        Assert.Equal(a.Count, b.Count);
    }
}
