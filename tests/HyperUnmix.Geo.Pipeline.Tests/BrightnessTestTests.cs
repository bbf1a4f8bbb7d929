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
    private static (PixelSample Sample, EndmemberSet Endmembers) Scene(double minIllumination, int seed)
    {
        var wl = SyntheticSpectra.Wavelengths(100);
        var names = new[] { "vegetation", "soil", "water" };
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
                // Noise at about 40 dB of a mid-bright pixel.
                y[b * n + k] = s * v + 0.003 * Normal(rng);
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
