using System.Runtime.Intrinsics;
using HyperUnmix.Geo.Unmixing.Extraction;

namespace HyperUnmix.Geo.Unmixing.Tests.Extraction;

/// <summary>The refinement's vectorised mirror-descent steps against the definitions they replace (Math.Exp, one pixel at a time).</summary>
public class MirrorStepsTests
{
    [Fact]
    public void ExpNonPositive_MatchesMathExp_WithinTwoUlpsOnTheWholeRange()
    {
        var worst = 0.0;
        var rng = new Random(5);
        var xs = Enumerable.Range(0, 200_000).Select(_ => -rng.NextDouble() * 708)
            .Concat([0.0, -1e-300, -1e-17, -1e-9, -0.3465, -0.3466, -0.5, -0.6931471805599453, -1, -2, -20, -700, -707.99, -708]).ToArray();
        foreach (var x in xs)
        {
            var want = Math.Exp(x);
            var got = MirrorSteps.ExpNonPositive(x);
            worst = Math.Max(worst, Math.Abs(got - want) / want);
        }
        Assert.True(worst < 4.5e-16, $"worst relative error {worst:E2}");
        // Below the range the factor is e^-708 (3e-308), which any weight times it takes to zero, as e^x would.
        Assert.Equal(Math.Exp(-708), MirrorSteps.ExpNonPositive(-5000), 1e-320);
        Assert.Equal(1.0, MirrorSteps.ExpNonPositive(0));
    }

    [Fact]
    public void ExpNonPositive_EveryLaneGivesTheScalarBits()
    {
        var rng = new Random(6);
        for (var t = 0; t < 20_000; t++)
        {
            var x = Vector256.Create(-rng.NextDouble() * 50, -rng.NextDouble() * 800, -rng.NextDouble(), -rng.NextDouble() * 1e-3);
            var v = MirrorSteps.ExpNonPositive(x);
            for (var k = 0; k < 4; k++) Assert.Equal(BitConverter.DoubleToInt64Bits(MirrorSteps.ExpNonPositive(x[k])), BitConverter.DoubleToInt64Bits(v[k]));
        }
    }

    /// <summary>The step as it was written before: a_j e^(−η (g_j − min g)) / Σ, Math.Exp, one pixel at a time.</summary>
    private static double[] Reference(double[] a, double[] g, double eta, int n, int p, bool[] columnOk, bool alongRows)
    {
        var r = (double[])a.Clone();
        if (!alongRows)
            for (var i = 0; i < n; i++)
            {
                var min = Enumerable.Range(0, p).Min(j => g[j * n + i]);
                var w = Enumerable.Range(0, p).Select(j => Math.Max(a[j * n + i], 1e-300) * Math.Exp(-eta * (g[j * n + i] - min))).ToArray();
                for (var j = 0; j < p; j++) r[j * n + i] = w[j] / w.Sum();
            }
        else
            for (var j = 0; j < p; j++)
            {
                var min = Enumerable.Range(0, n).Where(i => columnOk[i]).Min(i => g[j * n + i]);
                var w = Enumerable.Range(0, n).Select(i => columnOk[i] ? Math.Max(a[j * n + i], 1e-300) * Math.Exp(-eta * (g[j * n + i] - min)) : 0).ToArray();
                for (var i = 0; i < n; i++) r[j * n + i] = w[i] / w.Sum();
            }
        return r;
    }

    private static (double[] A, double[] G) Problem(int n, int p, int seed)
    {
        var rng = new Random(seed);
        var a = new double[p * n];
        var g = Enumerable.Range(0, p * n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        for (var i = 0; i < n; i++)
        {
            double s = 0;
            for (var j = 0; j < p; j++) s += a[j * n + i] = rng.NextDouble() < 0.1 ? 0 : rng.NextDouble();
            if (s == 0) a[i] = s = 1;
            for (var j = 0; j < p; j++) a[j * n + i] /= s;
        }
        return (a, g);
    }

    [Theory]
    [InlineData(1027, 5, 3.0)]
    [InlineData(6, 3, 0.5)]
    [InlineData(3, 10, 40.0)]
    public void PixelSteps_AreTheMirrorStepOnEachPixelsSimplex(int n, int p, double eta)
    {
        var (a, g) = Problem(n, p, 11);
        var want = Reference(a, g, eta, n, p, [], alongRows: false);
        var got = (double[])a.Clone();
        MirrorSteps.PixelSteps(got, g, eta, n, p, 0, n);
        for (var k = 0; k < got.Length; k++) Assert.Equal(want[k], got[k], 1e-14);
        for (var i = 0; i < n; i++) Assert.Equal(1.0, Enumerable.Range(0, p).Sum(j => got[j * n + i]), 1e-14);
        // Any split into ranges gives the same bits (each pixel's step is its own).
        var split = (double[])a.Clone();
        MirrorSteps.PixelSteps(split, g, eta, n, p, 0, n / 3);
        MirrorSteps.PixelSteps(split, g, eta, n, p, n / 3, n);
        Assert.Equal(got, split);
    }

    [Theory]
    [InlineData(1027, 5)]
    [InlineData(7, 2)]
    public void WeightSteps_AreTheMirrorStepOverThePixels_AndInvalidPixelsKeepNoWeight(int n, int p)
    {
        var (b, g) = Problem(n, p, 12);
        var ok = Enumerable.Range(0, n).Select(i => i % 7 != 3).ToArray();
        for (var j = 0; j < p; j++)
        {
            for (var i = 0; i < n; i++) if (!ok[i]) b[j * n + i] = 0;
            var s = Enumerable.Range(0, n).Sum(i => b[j * n + i]);
            if (s == 0) { b[j * n] = 1; s = 1; }
            for (var i = 0; i < n; i++) b[j * n + i] /= s;
        }
        // The gradient of an invalid pixel is the smallest: it must neither set the minimum nor gain weight.
        for (var j = 0; j < p; j++) g[j * n + 3] = -100;
        var want = Reference(b, g, 0.7, n, p, ok, alongRows: true);
        var got = (double[])b.Clone();
        var valid = ok.Select(v => v ? 1.0 : 0.0).ToArray();
        for (var j = 0; j < p; j++) MirrorSteps.WeightSteps(got, g, 0.7, j, n, valid);
        for (var k = 0; k < got.Length; k++) Assert.Equal(want[k], got[k], 1e-14);
        for (var j = 0; j < p; j++)
        {
            Assert.Equal(1.0, Enumerable.Range(0, n).Sum(i => got[j * n + i]), 1e-12);
            Assert.All(Enumerable.Range(0, n).Where(i => !ok[i]), i => Assert.Equal(0.0, got[j * n + i]));
        }
    }
}
