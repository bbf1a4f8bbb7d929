using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Tests.Deep;

/// <summary>Every hand-written gradient against central finite differences.</summary>
public class GradientTests
{
    private const int L = 7, N = 6, P = 3;

    private static void AssertClose(double analytic, double numeric, string what, double absolute = 5e-4)
    {
        var tol = absolute + 2e-2 * Math.Max(Math.Abs(analytic), Math.Abs(numeric));
        Assert.True(Math.Abs(analytic - numeric) <= tol, $"{what}: analytic {analytic:G6}, finite difference {numeric:G6}");
    }

    /// <summary>
    /// The MLP test's loss is about 18 computed in float32: each evaluation is rounded by ~1e-6 (a few ulps), which a
    /// central difference with h = 1e-3 turns into ~1e-3 of noise (1.7e-3 seen, depending on the back-end's order).
    /// </summary>
    private const double FloatNoise = 3e-3;

    [Theory]
    [MemberData(nameof(Backends.Names), MemberType = typeof(Backends))]
    public void Mlp_EveryLayerWeightBiasAndInput_MatchesFiniteDifferences(string backend)
    {
        var blas = Backends.Get(backend);
        var rng = new Rng(5);
        var layout = new MlpLayout([3, 4, 5, 2], [0, 16, 41], [12, 36, 51]);
        var theta = Enumerable.Range(0, 53).Select(_ => (float)rng.NextGaussian()).ToArray();
        const int batch = 4;
        var input = Enumerable.Range(0, batch * 3).Select(_ => (float)rng.NextGaussian()).ToArray();
        var weights = Enumerable.Range(0, batch * 2).Select(_ => (float)rng.NextGaussian()).ToArray();
        var mlp = new Mlp(layout, blas);
        var ws = new Mlp.Workspace(layout, batch);
        double Loss(float[] t, float[] x)
        {
            mlp.Forward(t, x, batch, ws);
            return ws.Output.Zip(weights).Sum(z => (double)z.First * z.Second);
        }
        Loss(theta, input);
        var grad = new float[53];
        var inputGrad = new float[batch * 3];
        mlp.Backward(theta, input, batch, ws, weights, grad, inputGrad);
        const float h = 1e-3f;
        for (var i = 0; i < theta.Length; i++)
        {
            var t = (float[])theta.Clone();
            t[i] += h;
            var up = Loss(t, input);
            t[i] -= 2 * h;
            AssertClose(grad[i], (up - Loss(t, input)) / (2 * h), $"theta[{i}]", FloatNoise);
        }
        for (var i = 0; i < input.Length; i++)
        {
            var x = (float[])input.Clone();
            x[i] += h;
            var up = Loss(theta, x);
            x[i] -= 2 * h;
            AssertClose(inputGrad[i], (up - Loss(theta, x)) / (2 * h), $"input[{i}]", FloatNoise);
        }
    }

    [Fact]
    public void MlpColumns_FeatureMajorPasses_AgreeWithTheSampleMajorOnes()
    {
        // The apply path runs the network feature-major (one column per pixel); the fit runs it sample-major and is
        // checked against finite differences above. Same network, same answers, transposed.
        var rng = new Rng(11);
        var layout = new MlpLayout([3, 4, 5, 2], [0, 16, 41], [12, 36, 51]);
        var theta = Enumerable.Range(0, 53).Select(_ => (float)rng.NextGaussian()).ToArray();
        const int batch = 13;
        var input = Enumerable.Range(0, batch * 3).Select(_ => (float)rng.NextGaussian()).ToArray();
        var outGrad = Enumerable.Range(0, batch * 2).Select(_ => (float)rng.NextGaussian()).ToArray();
        var rows = new Mlp(layout, Backends.Get("managed"));
        var rws = new Mlp.Workspace(layout, batch);
        rows.Forward(theta, input, batch, rws);
        var inputGrad = new float[batch * 3];
        rows.Backward(theta, input, batch, rws, outGrad, new float[53], inputGrad);

        static float[] T(float[] x, int r, int c) { var t = new float[x.Length]; for (var i = 0; i < r; i++) for (var j = 0; j < c; j++) t[j * r + i] = x[i * c + j]; return t; }
        var cols = new Mlp(layout, ReproducibleBlas.Instance);
        var cws = new Mlp.Workspace(layout, batch);
        cols.ForwardColumns(theta, T(input, batch, 3), batch, cws);
        var outT = T(rws.Output, batch, 2);
        for (var i = 0; i < outT.Length; i++) Assert.Equal(outT[i], cws.Output[i], 1e-4);
        var acc = Enumerable.Repeat(0.5f, batch * 3).ToArray();      // accumulates into what is there
        cols.BackwardInputColumns(theta, batch, cws, T(outGrad, batch, 2), 2f, acc);
        var expected = T(inputGrad, batch, 3);
        for (var i = 0; i < acc.Length; i++) Assert.Equal(0.5 + 2 * expected[i], acc[i], 1e-4);
    }

    public static TheoryData<string, MtlOptions> Terms => new()
    {
        { "NMF term only", new MtlOptions { RowBranch = false, ColumnBranch = false, Alpha = 1, Beta = 0, Lambda = 0 } },
        { "row branch only", new MtlOptions { ColumnBranch = false, Alpha = 0, Beta = 0, Lambda = 0 } },
        { "column branch only", new MtlOptions { RowBranch = false, Alpha = 0, Beta = 0, Lambda = 0 } },
        { "linear branches", new MtlOptions { Nonlinear = false, Alpha = 0, Beta = 0, Lambda = 0 } },
        { "latent penalty", new MtlOptions { RowBranch = false, ColumnBranch = false, Alpha = 0, Beta = 0.7, Lambda = 0 } },
        { "weight penalty", new MtlOptions { Alpha = 0, Beta = 0, Lambda = 0.3 } with { RowBranch = true, ColumnBranch = true } },
        { "whole objective", new MtlOptions { Alpha = 0.8, Beta = 0.05, Lambda = 0.02 } },
    };

    [Theory]
    [MemberData(nameof(Terms))]
    public void Objective_EachTermAndTheWhole_MatchFiniteDifferences(string term, MtlOptions options)
    {
        // A positive endmember step makes the row branch part of the objective.
        options = options with { RowHidden = [4, 5], ColumnHidden = [3, 4], EndmemberSteps = new StepBounds(1e-3f, 0f, 1e-3f) };
        var rng = new Rng(term.Length);
        var y = Enumerable.Range(0, L * N).Select(_ => (float)rng.NextDouble()).ToArray();
        var net = new MtlNetwork(y, L, N, P, options, Backends.OpenBlasOrFail());
        var theta = Enumerable.Range(0, net.Count).Select(_ => (float)(0.5 * rng.NextGaussian())).ToArray();
        var grad = new float[net.Count];
        net.Evaluate(theta, grad);
        var scratch = new float[net.Count];
        const float h = 1e-3f;
        for (var i = 0; i < net.Count; i++)
        {
            var t = (float[])theta.Clone();
            t[i] += h;
            var up = net.Evaluate(t, scratch);
            t[i] -= 2 * h;
            AssertClose(grad[i], (up - net.Evaluate(t, scratch)) / (2 * h), $"{term}: parameter {i} of {net.Count}");
        }
    }

    /// <summary>
    /// With E fixed (the default fit) the auxiliary task is computed from EᵀE and Eᵀy, without the residual: the same
    /// loss and dA as the residual's form (which runs when E moves), abundances that match central finite differences,
    /// and products recomputed when E changes (the projection can clip the starting endmembers once).
    /// </summary>
    [Fact]
    public void FixedEndmembers_AuxiliaryTask_AsTheResidualFormAndFiniteDifferences()
    {
        var rng = new Rng(77);
        var y = Enumerable.Range(0, L * N).Select(_ => (float)rng.NextDouble()).ToArray();
        var options = new MtlOptions { RowBranch = false, ColumnBranch = false, Alpha = 0.7, Beta = 0, Lambda = 0 };
        var fixedE = new MtlNetwork(y, L, N, P, options, Backends.OpenBlasOrFail());
        var freeE = new MtlNetwork(y, L, N, P, options with { EndmemberSteps = new StepBounds(1e-3f, 0f, 1e-3f) }, Backends.OpenBlasOrFail());
        Assert.Equal(fixedE.Count, freeE.Count);
        foreach (var shift in new[] { 0f, 0.25f })
        {
            var theta = Enumerable.Range(0, fixedE.Count).Select(_ => (float)(0.5 * rng.NextGaussian() + shift)).ToArray();
            var g1 = new float[fixedE.Count];
            var g2 = new float[freeE.Count];
            var l1 = fixedE.Evaluate(theta, g1);
            var l2 = freeE.Evaluate(theta, g2);
            Assert.Equal(l2, l1, 1e-6 * l2);
            for (var i = fixedE.AOffset; i < fixedE.AOffset + P * N; i++) Assert.Equal(g2[i], g1[i], 1e-5);
            var scratch = new float[fixedE.Count];
            const float h = 1e-3f;
            for (var i = fixedE.AOffset; i < fixedE.AOffset + P * N; i++)
            {
                var t = (float[])theta.Clone();
                t[i] += h;
                var up = fixedE.Evaluate(t, scratch);
                t[i] -= 2 * h;
                AssertClose(g1[i], (up - fixedE.Evaluate(t, scratch)) / (2 * h), $"dA {i}");
            }
        }
    }

    [Fact]
    public void Objective_AtInitialisation_IsTheLinearModelsLoss()
    {
        var rng = new Rng(3);
        var e = Enumerable.Range(0, L * P).Select(_ => (float)rng.NextDouble()).ToArray();
        var a = new float[P * N];
        for (var n = 0; n < N; n++) { var col = new double[P]; rng.NextDirichlet(1, col); for (var j = 0; j < P; j++) a[j * N + n] = (float)col[j]; }
        var y = Enumerable.Range(0, L * N).Select(_ => (float)rng.NextDouble()).ToArray();
        var options = new MtlOptions { RowHidden = [4, 5], ColumnHidden = [3, 4], Alpha = 0.5, Beta = 0, Lambda = 0, EndmemberSteps = new StepBounds(1e-3f, 0f, 1e-3f) };
        var net = new MtlNetwork(y, L, N, P, options, Backends.OpenBlasOrFail());
        var loss = net.Evaluate(net.Initialise(e, a), new float[net.Count]);
        // With fixed endmembers (the default) the row branch is not computed: (1 + α) ‖Y − EA‖² / LN.
        var fixedE = new MtlNetwork(y, L, N, P, options with { EndmemberSteps = default }, Backends.OpenBlasOrFail());
        var fixedLoss = fixedE.Evaluate(fixedE.Initialise(e, a), new float[fixedE.Count]);
        double r = 0;
        for (var l = 0; l < L; l++)
            for (var n = 0; n < N; n++)
            {
                double ea = 0;
                for (var j = 0; j < P; j++) ea += e[l * P + j] * a[j * N + n];
                r += (y[l * N + n] - ea) * (y[l * N + n] - ea);
            }
        // Both branches reproduce E A exactly at the start (zero output layers): loss = (2 + α) ‖Y − EA‖² / LN.
        Assert.Equal((2 + 0.5) * r / (L * N), loss, 1e-5);
        Assert.Equal((1 + 0.5) * r / (L * N), fixedLoss, 1e-5);
    }

    /// <summary>
    /// The loss's sum of squares (sixteen running sums and a tail): Σ k² for k = 1..n is n(n + 1)(2n + 1)/6, exact in
    /// double for these n, so any lost lane, block or tail element shows; on random values it agrees with an exact
    /// decimal sum to double rounding.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(4099)]
    public void SumSquares_IsTheExactSumOfSquares(int n)
    {
        var x = Enumerable.Range(1, n).Select(k => (float)k).ToArray();
        Assert.Equal((double)n * (n + 1) * (2 * n + 1) / 6, MtlNetwork.SumSquares(x));
        var rng = new Rng(n);
        var r = Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
        var exact = r.Sum(v => (decimal)((double)v * v)); // a float's square is exact in double
        Assert.True(Math.Abs((double)exact - MtlNetwork.SumSquares(r)) <= 1e-14 * (double)exact, $"{MtlNetwork.SumSquares(r)} against {exact}");
    }
}
