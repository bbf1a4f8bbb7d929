using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Tests.Solvers;

public class ActiveSetTests
{
    /// <summary>A random QP from a random L x P "endmember" matrix and a random pixel (possibly outside the cone).</summary>
    private static (double[] G, double[] B) RandomProblem(Rng rng, int p, int l = 20)
    {
        var e = Enumerable.Range(0, l * p).Select(_ => rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, l).Select(_ => rng.NextDouble() * 1.5 - 0.2).ToArray();
        var g = new double[p * p];
        var b = new double[p];
        for (var i = 0; i < p; i++)
        {
            for (var r = 0; r < l; r++) b[i] += e[r * p + i] * y[r];
            for (var j = 0; j < p; j++)
                for (var r = 0; r < l; r++) g[i * p + j] += e[r * p + i] * e[r * p + j];
        }
        return (g, b);
    }

    private static double Objective(double[] g, double[] b, double[] a)
    {
        var p = a.Length;
        double f = 0;
        for (var i = 0; i < p; i++)
        {
            f -= b[i] * a[i];
            for (var j = 0; j < p; j++) f += 0.5 * a[i] * g[i * p + j] * a[j];
        }
        return f;
    }

    /// <summary>
    /// The warm start (the support of the equality-constrained or unconstrained solution, as the solver passes it, or
    /// of any other guess) changes the path, not the answer: the same support and the same bits as the cold start
    /// on every random problem, in fewer iterations in all.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Solve_WarmStart_SameBitsAsColdInFewerIterations(bool sumToOne)
    {
        var rng = new Rng(sumToOne ? 31 : 32);
        int cold = 0, warm = 0, guessed = 0;
        for (var trial = 0; trial < 300; trial++)
        {
            var p = 2 + trial % 9;
            var (g, b) = RandomProblem(rng, p);
            var a = new double[p];
            cold += ActiveSet.Solve(g, b, sumToOne, a, new double[ActiveSet.ScratchLength(p)]);
            // The equality-constrained (sum-to-one) or unconstrained solution, negative entries and all.
            var gm = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(p, p, (i, j) => g[i * p + j]);
            var x = gm.Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(b));
            if (sumToOne)
            {
                var ones = gm.Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(p, 1.0));
                x -= ones * ((x.Sum() - 1) / ones.Sum());
            }
            var fromSolution = x.ToArray();
            warm += ActiveSet.Solve(g, b, sumToOne, fromSolution, new double[ActiveSet.ScratchLength(p)], warm: true);
            var fromGuess = Enumerable.Range(0, p).Select(_ => rng.NextDouble() - 0.3).ToArray();
            guessed += ActiveSet.Solve(g, b, sumToOne, fromGuess, new double[ActiveSet.ScratchLength(p)], warm: true);
            for (var i = 0; i < p; i++)
            {
                Assert.True(a[i] == fromSolution[i], $"trial {trial}: {a[i]:R} cold, {fromSolution[i]:R} from the solution");
                Assert.True(a[i] == fromGuess[i], $"trial {trial}: {a[i]:R} cold, {fromGuess[i]:R} from a guess");
            }
        }
        Assert.True(warm < cold, $"{warm} iterations warm, {cold} cold");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Solve_RandomProblems_SatisfiesKktConditions(bool sumToOne)
    {
        var rng = new Rng(sumToOne ? 11 : 12);
        for (var trial = 0; trial < 300; trial++)
        {
            var p = 2 + trial % 9;
            var (g, b) = RandomProblem(rng, p);
            var a = new double[p];
            ActiveSet.Solve(g, b, sumToOne, a, new double[ActiveSet.ScratchLength(p)]);

            // Primal feasibility.
            Assert.All(a, v => Assert.True(v >= 0));
            if (sumToOne) Assert.Equal(1.0, a.Sum(), 1e-12);
            // Stationarity with complementary slackness: gradient = ν on the support, ≥ ν off it.
            var grad = Enumerable.Range(0, p).Select(i => Enumerable.Range(0, p).Sum(j => g[i * p + j] * a[j]) - b[i]).ToArray();
            var support = Enumerable.Range(0, p).Where(i => a[i] > 0).ToArray();
            var nu = sumToOne ? support.Average(i => grad[i]) : 0;
            var scale = g.Max(Math.Abs) + b.Max(Math.Abs);
            foreach (var i in support) Assert.True(Math.Abs(grad[i] - nu) < 1e-9 * scale, $"trial {trial}: stationarity violated at {i}");
            foreach (var i in Enumerable.Range(0, p).Except(support)) Assert.True(grad[i] - nu > -1e-9 * scale, $"trial {trial}: negative multiplier at {i}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Solve_SmallProblems_AgreesWithBruteForceOverActiveSets(bool sumToOne)
    {
        var rng = new Rng(sumToOne ? 21 : 22);
        for (var trial = 0; trial < 200; trial++)
        {
            var p = 2 + trial % 4;
            var (g, b) = RandomProblem(rng, p, 8);
            var a = new double[p];
            ActiveSet.Solve(g, b, sumToOne, a, new double[ActiveSet.ScratchLength(p)]);
            var best = BruteForce(g, b, p, sumToOne);
            Assert.Equal(Objective(g, b, best), Objective(g, b, a), 1e-9);
            for (var i = 0; i < p; i++) Assert.Equal(best[i], a[i], 1e-7);
        }
    }

    /// <summary>
    /// On the simplex, bᵀa and (b + c1)ᵀa differ by the constant c, so adding c1 to b must not move the FCLS
    /// solution, however large c is next to G (a pixel of huge magnitude whose Eᵀy is nearly flat).
    /// </summary>
    [Theory]
    [InlineData(0.5)]
    [InlineData(1e6)]
    [InlineData(1099511627776.0)]
    [InlineData(-4398046511104.0)]
    public void Solve_SumToOne_HugeCommonOffsetInB_GivesTheSolutionWithoutIt(double offset)
    {
        var rng = new Rng(41);
        for (var trial = 0; trial < 200; trial++)
        {
            var p = 2 + trial % 4;
            var (g, b) = RandomProblem(rng, p, 8);
            // Multiples of 2⁻¹⁰, so that b + offset is exact up to offsets of 2⁴² and only the solver can lose digits.
            for (var i = 0; i < p; i++) b[i] = Math.Round(b[i] * 1024) / 1024;
            var shifted = b.Select(v => v + offset).ToArray();
            var a = new double[p];
            ActiveSet.Solve(g, shifted, true, a, new double[ActiveSet.ScratchLength(p)]);
            Assert.All(a, v => Assert.True(v >= 0, $"trial {trial}: negative abundance {v}"));
            Assert.Equal(1.0, a.Sum(), 1e-12);
            var best = BruteForce(g, b, p, true);
            for (var i = 0; i < p; i++) Assert.Equal(best[i], a[i], 1e-7);
        }
    }

    /// <summary>
    /// Pixels of huge magnitude (byte-swapped data reaches 3e38): when b's entries are further apart than G's
    /// scale can compensate, the FCLS solution is the vertex of the largest b; tiny pixels leave only ½aᵀGa.
    /// </summary>
    [Theory]
    [InlineData(1e-30)]
    [InlineData(1e10)]
    [InlineData(1e30)]
    [InlineData(1e36)]
    [InlineData(3e38)]
    [InlineData(1e42)]
    public void Solve_SumToOne_ExtremeMagnitudes_StaysOnTheSimplexAndMatchesTheReference(double magnitude)
    {
        var rng = new Rng(43);
        for (var trial = 0; trial < 200; trial++)
        {
            var p = 2 + trial % 9;
            var (g, b) = RandomProblem(rng, p, 12);
            for (var i = 0; i < p; i++) b[i] *= magnitude;
            var a = new double[p];
            ActiveSet.Solve(g, b, true, a, new double[ActiveSet.ScratchLength(p)]);
            Assert.All(a, v => Assert.True(v >= 0, $"trial {trial}: negative abundance {v}"));
            Assert.Equal(1.0, a.Sum(), 1e-12);
            var sorted = b.OrderDescending().ToArray();
            if (magnitude < 1)
            {
                var best = BruteForce(g, b, p, true);
                for (var i = 0; i < p; i++) Assert.Equal(best[i], a[i], 1e-7);
            }
            else if (sorted[0] - sorted[1] > 4 * g.Max(Math.Abs))
            {
                var top = Array.IndexOf(b, sorted[0]);
                for (var i = 0; i < p; i++) Assert.Equal(i == top ? 1.0 : 0.0, a[i], 1e-12);
            }
        }
    }

    [Theory]
    [InlineData(1e-30)]
    [InlineData(1e30)]
    [InlineData(1e42)]
    public void Solve_NonNegative_ExtremeMagnitudes_ScaleWithB(double magnitude)
    {
        // Without the sum-to-one constraint the problem is homogeneous: a(sb) = s·a(b).
        var rng = new Rng(45);
        for (var trial = 0; trial < 100; trial++)
        {
            var p = 2 + trial % 9;
            var (g, b) = RandomProblem(rng, p, 12);
            var a = new double[p];
            ActiveSet.Solve(g, b, false, a, new double[ActiveSet.ScratchLength(p)]);
            var big = new double[p];
            ActiveSet.Solve(g, b.Select(v => v * magnitude).ToArray(), false, big, new double[ActiveSet.ScratchLength(p)]);
            for (var i = 0; i < p; i++) Assert.Equal(a[i], big[i] / magnitude, 1e-9);
        }
    }

    /// <summary>Every support set: solve the equality-constrained problem on it, keep the feasible minimum.</summary>
    private static double[] BruteForce(double[] g, double[] b, int p, bool sumToOne)
    {
        double[]? best = null;
        var bestF = double.PositiveInfinity;
        for (var mask = sumToOne ? 1 : 0; mask < 1 << p; mask++)
        {
            var f = Enumerable.Range(0, p).Where(i => (mask >> i & 1) == 1).ToArray();
            var a = new double[p];
            if (f.Length > 0)
            {
                var n = f.Length + (sumToOne ? 1 : 0);
                var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n);
                var rhs = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(n);
                for (var r = 0; r < f.Length; r++)
                {
                    for (var c = 0; c < f.Length; c++) m[r, c] = g[f[r] * p + f[c]];
                    rhs[r] = b[f[r]];
                    if (sumToOne) { m[r, f.Length] = 1; m[f.Length, r] = 1; }
                }
                if (sumToOne) rhs[f.Length] = 1;
                var z = m.Solve(rhs);
                if (Enumerable.Range(0, f.Length).Any(t => z[t] < -1e-12)) continue;
                for (var t = 0; t < f.Length; t++) a[f[t]] = Math.Max(z[t], 0);
            }
            var obj = Objective(g, b, a);
            if (obj < bestF) { bestF = obj; best = a; }
        }
        return best!;
    }
}
