using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Tests.Deep;

public class IrpropTests
{
    private static Irprop One(StepBounds b) => new(1, [(0, 1, b)]);

    [Fact]
    public void Update_SameSign_GrowsStepBy1Point2UpToTheBound()
    {
        var r = One(new StepBounds(0.1f, 1e-6f, 0.2f));
        var w = new float[] { 0 };
        r.Update(w, [1f], 10);         // first step: no previous gradient
        Assert.Equal(-0.1f, w[0], 6);
        r.Update(w, [1f], 9);          // same sign: 0.12
        Assert.Equal(0.12f, r.Step(0), 6);
        Assert.Equal(-0.22f, w[0], 6);
        r.Update(w, [1f], 8);          // 0.144
        r.Update(w, [1f], 7);          // 0.1728
        r.Update(w, [1f], 6);          // capped at 0.2
        Assert.Equal(0.2f, r.Step(0), 6);
    }

    [Fact]
    public void Update_SignFlipWithRisingLoss_BacktracksAndHalvesTheStep()
    {
        var r = One(new StepBounds(0.1f, 0.03f, 1f));
        var w = new float[] { 1 };
        r.Update(w, [1f], 5);          // w = 0.9
        r.Update(w, [1f], 4);          // step 0.12, w = 0.78
        r.Update(w, [-1f], 4.5);       // flip, loss rose: revert the last update, halve the step
        Assert.Equal(0.9f, w[0], 6);
        Assert.Equal(0.06f, r.Step(0), 6);
        r.Update(w, [-1f], 4.4);       // gradient was zeroed: plain step with the halved size
        Assert.Equal(0.96f, w[0], 6);
        r.Update(w, [1f], 4.3);        // flip with falling loss: no revert, halve, but not below the minimum
        Assert.Equal(0.96f, w[0], 6);
        Assert.Equal(0.03f, r.Step(0), 6);
    }

    [Fact]
    public void Update_Quadratic_ConvergesToTheMinimum()
    {
        var r = One(new StepBounds(0.5f, 1e-7f, 1f));
        var w = new float[] { -4 };
        for (var i = 0; i < 200; i++)
        {
            var g = 2 * (w[0] - 3);
            r.Update(w, [g], (w[0] - 3) * (w[0] - 3));
        }
        Assert.Equal(3, w[0], 3);
    }
}

public class SimplexTests
{
    [Fact]
    public void Project_RandomVectors_LandsOnTheSimplexAtTheClosestPoint()
    {
        var rng = new Rng(17);
        for (var trial = 0; trial < 500; trial++)
        {
            var p = 1 + trial % 8;
            var v = Enumerable.Range(0, p).Select(_ => (float)(3 * rng.NextGaussian())).ToArray();
            var w = (float[])v.Clone();
            Simplex.Project(w, new float[p]);
            Assert.All(w, x => Assert.True(x >= 0));
            Assert.Equal(1.0, w.Sum(x => (double)x), 1e-5);
            // Reference: bisection on θ for Σ max(v − θ, 0) = 1.
            double lo = v.Min() - 1, hi = v.Max();
            for (var k = 0; k < 200; k++)
            {
                var mid = (lo + hi) / 2;
                if (v.Sum(x => Math.Max(x - mid, 0)) > 1) lo = mid; else hi = mid;
            }
            for (var i = 0; i < p; i++) Assert.Equal(Math.Max(v[i] - lo, 0), w[i], 1e-5);
            // No random simplex point is closer.
            var d = Dist(v, w);
            var q = new double[p];
            for (var k = 0; k < 50; k++)
            {
                rng.NextDirichlet(0.5, q);
                Assert.True(Dist(v, q.Select(x => (float)x).ToArray()) >= d - 1e-5);
            }
        }
    }

    private static double Dist(float[] a, float[] b) => Math.Sqrt(a.Zip(b).Sum(t => Math.Pow(t.First - t.Second, 2)));
}
