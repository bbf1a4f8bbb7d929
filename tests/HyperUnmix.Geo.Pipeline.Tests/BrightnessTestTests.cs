using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>
/// The brightness decision on samples whose answer is known: linear mixtures with a dark material (water) and no
/// shading must keep the plain model (the scaled one would read water as shade); the same materials under
/// illumination 0.3-1 need the scaled model.
/// </summary>
public sealed class BrightnessTestTests
{
    private static (PixelSample Sample, EndmemberSet Endmembers) Scene(double minIllumination, int seed, double noise = 0.003, string[]? materials = null)
    {
        var wl = SyntheticSpectra.Wavelengths(100);
        var names = materials ?? ["vegetation", "soil", "water"];
        var spectra = names.Select(n => SyntheticSpectra.Create(n, wl)).ToArray();
        var e = EndmemberSet.FromSpectra(spectra, names, wl);
        const int n = 3000, l = 100;
        var rng = new Random(seed);
        var y = new double[l * n];
        for (var k = 0; k < n; k++)
        {
            var a = names.Select(_ => -Math.Log(1 - rng.NextDouble())).ToArray();
            var sum = a.Sum();
            var s = minIllumination + (1 - minIllumination) * rng.NextDouble();
            for (var b = 0; b < l; b++)
            {
                double v = 0;
                for (var j = 0; j < a.Length; j++) v += spectra[j][b] * a[j] / sum;
                // Noise 0.003: about 40 dB of a mid-bright pixel.
                y[b * n + k] = s * v + noise * Normal(rng);
            }
        }
        return (new PixelSample(y, l, n, true), e);
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DarkMaterialWithoutShading_KeepsThePlainModel(int seed)
    {
        var (sample, e) = Scene(minIllumination: 1, seed);
        var d = BrightnessTest.Decide(sample, e);
        Assert.Equal(PixelScale.None, d.Scale);
        // With the true endmembers the extra freedom of the scaled model buys next to nothing.
        Assert.InRange(d.ResidualRatio, 1, 1.1);
        Assert.Contains("brightness is composition", d.Reason);
        // The endmembers span the signal: the off-plane spread decides, and without shading it is the noise's, 1
        // (whitened by HySime's noise estimate, itself within about 20% here: 0.91 and 0.83 on these two scenes; an
        // unwhitened variance would be about 1e-5, an uncentred one above 3).
        Assert.Equal("off-plane spread", d.DecidedBy);
        Assert.Equal(3, d.SignalDimensions);
        Assert.InRange(d.OffPlaneSpread, 0.75, 1.3);
        // Far from the threshold, every endmember direction populated: a confident call.
        Assert.False(d.Uncertain);
        Assert.DoesNotContain("close call", d.Reason);
    }

    /// <summary>
    /// Two of five materials only in small patches (1% of the pixels each), 64 bands, 30 dB, no shading: HySime counts
    /// fewer signal dimensions than the five endmembers, so the spread is measured in directions that are not all
    /// populated. The call (the plain model, right here) is made, and said to be uncertain: on the same kind of scene
    /// under shading the spread stays as low and the call is wrong (docs/endmembers.md).
    /// </summary>
    [Fact]
    public void RareMaterials_FewerSignalDimensionsThanEndmembers_CallIsUncertain()
    {
        var lib = EndmemberFiles.LoadLibrary(Repo.Dataset("usgs_library/usgs_1995_library_aviris224.csv"))
            .Select(["Magnetite HS78.3B", "Kaolinite CM9", "Montmorillonite SWy-1", "Buddingtonite GDS85 D-206", "Calcite WS272"]);
        var e = lib.SelectBands(Enumerable.Range(0, 64).Select(i => (int)Math.Round(i * 223.0 / 63)).ToArray());
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 100, Height = 100, SnrDb = 30, Seed = 1, RareCount = 2, RareFraction = 0.01 });
        var d = BrightnessTest.Decide(new PixelSample(scene.CubeAsDouble(), e.Bands, scene.Pixels, true), e);
        Assert.Equal("off-plane spread", d.DecidedBy);
        Assert.True(d.SignalDimensions < 5, $"HySime counts {d.SignalDimensions}");
        Assert.Equal(PixelScale.None, d.Scale);
        Assert.True(d.Uncertain);
        Assert.Contains("close call", d.Reason);
        Assert.Contains($"HySime counts {d.SignalDimensions} signal dimensions", d.Reason);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DarkMaterialUnderShading_NoisyEnoughToFoolTheResidualRatio_ChoosesTheScaledModel(int seed)
    {
        // Water under illumination 0.3-1 at about 30 dB: FCLS reads the shade as water and fits nearly as well as the
        // scaled model (ratio under 2), but the pixels leave the sum-to-one plane, by more than the noise.
        var (sample, e) = Scene(minIllumination: 0.3, seed, noise: 0.01);
        var d = BrightnessTest.Decide(sample, e);
        Assert.True(d.ResidualRatio < BrightnessTest.Threshold, $"ratio {d.ResidualRatio}: the scene should fool it");
        Assert.Equal("off-plane spread", d.DecidedBy);
        Assert.True(d.OffPlaneSpread > BrightnessTest.SpreadThreshold, $"spread {d.OffPlaneSpread}");
        Assert.Equal(PixelScale.Scale, d.Scale);
        Assert.Contains("spread off the sum-to-one plane", d.Reason);
    }

    [Fact]
    public void MoreSignalThanEndmembers_TheResidualRatioDecides()
    {
        // Four materials mixed, three endmembers given (as on real scenes, where HySime counts far more dimensions
        // than P): the spread measures nothing there (the plane is not the endmembers'), and is not used.
        var (sample, _) = Scene(minIllumination: 1, seed: 3, materials: ["vegetation", "soil", "water", "concrete"]);
        var wl = SyntheticSpectra.Wavelengths(100);
        string[] three = ["vegetation", "soil", "water"];
        var e = EndmemberSet.FromSpectra(three.Select(n => SyntheticSpectra.Create(n, wl)).ToArray(), three, wl);
        var d = BrightnessTest.Decide(sample, e);
        Assert.Equal("residual ratio", d.DecidedBy);
        Assert.Equal(4, d.SignalDimensions);
        Assert.True(double.IsNaN(d.OffPlaneSpread));
        Assert.Equal(d.ResidualRatio > BrightnessTest.Threshold ? PixelScale.Scale : PixelScale.None, d.Scale);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Shading_ChoosesTheScaledModel(int seed)
    {
        var (sample, e) = Scene(minIllumination: 0.3, seed);
        var d = BrightnessTest.Decide(sample, e);
        Assert.Equal(PixelScale.Scale, d.Scale);
        Assert.True(d.ResidualRatio > BrightnessTest.Threshold, $"ratio {d.ResidualRatio}");
        Assert.Contains("shading", d.Reason);
    }
}
