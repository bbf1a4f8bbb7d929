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

    /// <summary>
    /// Rare materials: each only in its 2 x 2 patches (whole patches, on the 2 x 2 grid, none shared) covering the
    /// requested share, at 0.4-1 with the pixel's background composition scaled into the rest; absent elsewhere; one
    /// pure pixel in its patches; the background materials' pure pixels outside every patch.
    /// </summary>
    [Fact]
    public void Generate_RareMaterials_OnlyInTheirPatches_WithThePixelsBackgroundInTheRest()
    {
        var e = AbundanceSolverTests.Materials(5, 40);
        var o = new SceneOptions { Width = 60, Height = 40, SnrDb = double.PositiveInfinity, Seed = 7, RareCount = 2, RareFraction = 0.02 };
        var scene = SceneGenerator.Generate(e, o);
        // The three background materials alone: the same Dirichlet draws (the abundances of a linear scene without noise
        // use no other random numbers before them).
        var plain = SceneGenerator.Generate(AbundanceSolverTests.Materials(3, 40), o with { RareCount = 0 });
        var n = scene.Pixels;
        var patchPixels = new HashSet<int>();
        for (var r = 3; r < 5; r++)
        {
            var present = Enumerable.Range(0, n).Where(px => scene.Abundances[r * n + px] > 0).ToArray();
            // 2% of 2,400 pixels = 48 = 12 whole 2 x 2 patches aligned on the grid.
            Assert.Equal(48, present.Length);
            foreach (var px in present)
            {
                int x = px % o.Width, y = px / o.Width, x0 = x - x % 2, y0 = y - y % 2;
                foreach (var q in new[] { y0 * o.Width + x0, y0 * o.Width + x0 + 1, (y0 + 1) * o.Width + x0, (y0 + 1) * o.Width + x0 + 1 })
                    Assert.True(scene.Abundances[r * n + q] > 0, $"rare material {r}: pixel {q} of the patch of {px} is empty");
                Assert.True(patchPixels.Add(px), $"pixel {px} is in two rare materials' patches");
            }
            Assert.Equal(1, present.Count(px => scene.Abundances[r * n + px] == 1));
            Assert.All(present.Where(px => scene.Abundances[r * n + px] < 1), px => Assert.InRange(scene.Abundances[r * n + px], 0.4, 1));
        }
        for (var px = 0; px < n; px++)
        {
            var col = Enumerable.Range(0, 5).Select(j => scene.Abundances[j * n + px]).ToArray();
            Assert.Equal(1.0, col.Sum(), 1e-12);
            Assert.All(col, v => Assert.True(v >= 0));
            var pureBackground = col.Take(3).Any(v => v == 1);
            if (pureBackground) Assert.DoesNotContain(px, patchPixels);
        }
        // One pure pixel per background material (PurePixels = 1).
        for (var j = 0; j < 3; j++) Assert.Equal(1, Enumerable.Range(0, n).Count(px => scene.Abundances[j * n + px] == 1));
        // A patch pixel that is not pure keeps the background's proportions: the draw of the scene without the rare
        // materials (the draws come first, in the same order).
        var mixed = patchPixels.First(px => scene.Abundances[3 * n + px] is > 0 and < 1 || scene.Abundances[4 * n + px] is > 0 and < 1);
        var rest = 1 - scene.Abundances[3 * n + mixed] - scene.Abundances[4 * n + mixed];
        var unscaled = Enumerable.Range(0, 3).Select(j => scene.Abundances[j * n + mixed] / rest).ToArray();
        var drawn = Enumerable.Range(0, 3).Select(j => plain.Abundances[j * n + mixed]).ToArray();
        Assert.True(drawn.All(v => v < 1), "the plain scene put a pure pixel there: choose another seed");
        var sum = drawn.Sum();
        for (var j = 0; j < 3; j++) Assert.Equal(drawn[j] / sum, unscaled[j], 1e-9);
    }

    [Theory]
    [InlineData(2, 5, 0.01, null)]
    [InlineData(0, 4, 0.01, null)]
    [InlineData(2, 5, 0.5, null)] // 1,250 patches each: the 2,500 cells exactly
    [InlineData(2, 5, 0.6, "do not fit")]
    [InlineData(2, 5, 0, "must be in (0, 1]")]
    [InlineData(-1, 4, 0.01, "must not be negative")]
    [InlineData(4, 4, 0.01, "at least one endmember")]
    public void RareProblem_NamesWhatCannotBeMade(int rare, int p, double fraction, string? problem)
    {
        var o = new SceneOptions { Width = 100, Height = 100, RareCount = rare, RareFraction = fraction };
        var why = SceneGenerator.RareProblem(o, p);
        if (problem is null)
        {
            Assert.Null(why);
            var scene = SceneGenerator.Generate(AbundanceSolverTests.Materials(p, 20), o with { SnrDb = double.PositiveInfinity });
            Assert.Equal(p * scene.Pixels, scene.Abundances.Length);
        }
        else
        {
            Assert.Contains(problem, why);
            Assert.Throws<ArgumentException>(() => SceneGenerator.Generate(AbundanceSolverTests.Materials(p, 20), o));
        }
    }
}
