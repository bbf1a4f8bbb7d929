using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Tests.Deep;

public class IrpropTests
{
    private static Irprop One(StepBounds b) => new(1, [(0, 1, b)]);

    [Trait("Category", "Determinism")]
    [Fact]
    public void Update_Vectorised_IsTheScalarRuleBitForBit()
    {
        // Two groups of odd lengths (vectors and scalar tails), gradients with both signs, zeros and sign flips,
        // the loss rising and falling: every parameter, step and stored update as a plain scalar iRprop+ gives them.
        var rng = new Rng(21);
        var groups = new (int Start, int Length, StepBounds Bounds)[] { (0, 37, new(0.01f, 1e-6f, 0.5f)), (37, 20, new(0.003f, 1e-7f, 0.05f)) };
        const int n = 57;
        var theta = Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
        var expected = (float[])theta.Clone();
        var opt = new Irprop(n, groups);
        var step = new float[n];
        var prevGrad = new float[n];
        var prevUpdate = new float[n];
        foreach (var g0 in groups) Array.Fill(step, g0.Bounds.Initial, g0.Start, g0.Length);
        var prevLoss = double.PositiveInfinity;
        for (var epoch = 0; epoch < 12; epoch++)
        {
            var grad = Enumerable.Range(0, n).Select(i => i % 7 == 0 ? 0f : (float)rng.NextGaussian()).ToArray();
            var loss = epoch % 3 == 2 ? 10.0 + epoch : 10.0 - epoch;
            opt.Update(theta, grad, loss);
            var rose = loss > prevLoss;
            foreach (var (start, length, b) in groups)
                for (var i = start; i < start + length; i++)
                {
                    var s = grad[i] * prevGrad[i];
                    if (s > 0)
                    {
                        step[i] = Math.Min(step[i] * Irprop.EtaPlus, b.Max);
                        var u = -MathF.Sign(grad[i]) * step[i];
                        expected[i] += u; prevUpdate[i] = u; prevGrad[i] = grad[i];
                    }
                    else if (s < 0)
                    {
                        step[i] = Math.Max(step[i] * Irprop.EtaMinus, b.Min);
                        if (rose) expected[i] -= prevUpdate[i];
                        prevUpdate[i] = 0; prevGrad[i] = 0;
                    }
                    else
                    {
                        var u = -MathF.Sign(grad[i]) * step[i];
                        expected[i] += u; prevUpdate[i] = u; prevGrad[i] = grad[i];
                    }
                }
            prevLoss = loss;
            for (var i = 0; i < n; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(theta[i]), $"epoch {epoch}, parameter {i}: {expected[i]:R} vs {theta[i]:R}");
                Assert.Equal(step[i], opt.Step(i));
            }
        }
    }

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
