using HyperUnmix.Geo.Unmixing.Synthetic;
using HyperUnmix.Geo.Unmixing.Tests.Solvers;

namespace HyperUnmix.Geo.Unmixing.Tests.Synthetic;

public class SceneGeneratorTests
{
    [Theory]
    [InlineData(nameof(MixingModel.Lmm))]
    [InlineData(nameof(MixingModel.Fan))]
    [InlineData(nameof(MixingModel.Gbm))]
    [InlineData(nameof(MixingModel.Ppnm))]
    [InlineData(nameof(MixingModel.Mlm))]
    public void Generate_AbundancesOnSimplex_NoiseAtRequestedSnr(string modelName)
    {
        var model = Enum.Parse<MixingModel>(modelName);
        var e = AbundanceSolverTests.Materials(4, 80);
        var o = new SceneOptions { Width = 40, Height = 40, Model = model, SnrDb = 25, Seed = 3, MaxPurity = 0.8, PurePixels = 0 };
        var noisy = SceneGenerator.Generate(e, o);
        var clean = SceneGenerator.Generate(e, o with { SnrDb = double.PositiveInfinity });
        var n = noisy.Pixels;
        for (var px = 0; px < n; px++)
        {
            var col = Enumerable.Range(0, 4).Select(j => noisy.Abundances[j * n + px]).ToArray();
            Assert.Equal(1.0, col.Sum(), 1e-12);
            Assert.All(col, v => Assert.InRange(v, 0, 0.8 + 1e-12));
        }
        double signal = 0, noise = 0;
        for (var i = 0; i < clean.Cube.Length; i++) { signal += (double)clean.Cube[i] * clean.Cube[i]; var d = noisy.Cube[i] - (double)clean.Cube[i]; noise += d * d; }
        Assert.Equal(25, 10 * Math.Log10(signal / noise), 0.2);
    }

    [Fact]
    public void Generate_Fan_AddsExactlyTheBilinearTerms()
    {
        var e = AbundanceSolverTests.Materials(3, 30);
        var o = new SceneOptions { Width = 5, Height = 5, SnrDb = double.PositiveInfinity, Seed = 1 };
        var lin = SceneGenerator.Generate(e, o);
        var fan = SceneGenerator.Generate(e, o with { Model = MixingModel.Fan });
        var n = lin.Pixels;
        for (var px = 0; px < n; px++)
            for (var b = 0; b < e.Bands; b++)
            {
                double cross = 0;
                for (var i = 0; i < 3; i++)
                    for (var j = i + 1; j < 3; j++) cross += lin.Abundances[i * n + px] * lin.Abundances[j * n + px] * e.E[b * 3 + i] * e.E[b * 3 + j];
                Assert.Equal(lin.Cube[b * n + px] + cross, fan.Cube[b * n + px], 1e-6);
            }
    }
}
