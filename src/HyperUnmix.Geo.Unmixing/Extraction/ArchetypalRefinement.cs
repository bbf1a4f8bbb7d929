using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>Settings of <see cref="ArchetypalRefinement"/>.</summary>
internal sealed record ArchetypalOptions
{
    /// <summary>Outer iterations (each: <see cref="AbundanceSteps"/> steps on A, then <see cref="EndmemberSteps"/> on B).</summary>
    public int Iterations { get; init; } = 60;
    public int AbundanceSteps { get; init; } = 5;
    public int EndmemberSteps { get; init; } = 5;
    /// <summary>How often (in outer iterations) the candidate endmembers are scored by their full-data residual.</summary>
    public int CheckEvery { get; init; } = 2;
    /// <summary>Weight the starting B spreads over all pixels (the rest sits on the starting pixel), so that every pixel can gain weight.</summary>
    public double Spread { get; init; } = 0.05;
    /// <summary>
    /// Dimensions of the principal subspace of the unit-length pixels the iterations run in (0: all bands). The
    /// signal lives in a few dimensions; the rest is mostly noise, and each iteration costs in proportion to this.
    /// </summary>
    public int Subspace { get; init; } = 0;
    /// <summary>Refine on unit-length pixels (shape only) rather than the pixels as they are.</summary>
    public bool UnitLength { get; init; } = true;
}

/// <summary>What refinement produced.</summary>
/// <param name="Endmembers">L x P row-major, each column a convex combination of the pixels' directions, at the scale of the pixels it combines.</param>
/// <param name="Bt">Bᵀ, P x N row-major, each row stochastic: E's column j is Σ_i Bt[j, i] y_i / ‖y_i‖ (before scaling).</param>
/// <param name="Residuals">Full-data residual ‖Ŷ − E A*‖_F / ‖Ŷ‖_F (A* = FCLS) at each check, the start first.</param>
/// <param name="Chosen">Index into <see cref="Residuals"/> of the endmembers returned (the lowest).</param>
internal sealed record ArchetypalResult(double[] Endmembers, int Bands, int Count, double[] Bt, double[] Residuals, int Chosen, int Iterations)
{
    public double InitialResidual => Residuals[0];
    public double ChosenResidual => Residuals[Chosen];
}

/// <summary>
/// Endmember refinement that cannot leave the data: E = Ŷ B (archetypal analysis, Cutler &amp; Breiman 1994), each
/// endmember a convex combination of the unit-length pixels Ŷ (B column-stochastic), abundances A on the simplex,
/// minimising ‖Ŷ − Ŷ B A‖². Updated as in EDAA (Zouaoui et al. 2023): entropic mirror descent (multiplicative,
/// softmax-normalised steps, which keep B and A stochastic by construction), step 1/σ_max(E)² for A and
/// √(P/N) of it for B. Started from given pixels (N-FINDR's), not from random matrices: deterministic and far
/// fewer iterations. The iterate returned is the one with the lowest full-data FCLS residual among those checked,
/// the start included, so refinement never makes that residual worse; no ground truth is involved.
/// <para>
/// Unit-length pixels make the fit about spectral shape: illumination and shading change a pixel's length, not
/// the material. Within the deep model's terms this is the row branch's parametrisation of E (learned through B,
/// so it stays in the data's hull).
/// </para>
/// </summary>
internal static class ArchetypalRefinement
{
    /// <param name="y">L x N row-major pixels (data units; pixels of zero length are given no weight).</param>
    /// <param name="start">P starting pixel indices.</param>
    public static ArchetypalResult Refine(double[] y, int l, int n, int[] start, ArchetypalOptions? options = null, IBlas? blas = null,
        CancellationToken cancel = default)
    {
        var o = options ?? new ArchetypalOptions();
        blas ??= Blas.Default;
        var p = start.Length;
        if (p < 1 || p > l) throw new ArgumentOutOfRangeException(nameof(start), p, $"P must be between 1 and the band count {l}");
        if (n < p) throw new ArgumentException($"refinement needs at least P = {p} pixels, got {n}");
        if (start.Any(i => i < 0 || i >= n)) throw new ArgumentOutOfRangeException(nameof(start), "a starting pixel is outside the data");

        var norms = PixelNorms(y, l, n);
        var yh = new double[l * n];
        for (var b = 0; b < l; b++)
            for (var i = 0; i < n; i++) yh[b * n + i] = norms[i] > 0 ? (o.UnitLength ? y[b * n + i] / norms[i] : y[b * n + i]) : 0;
        var total = norms.Count(v => v > 0);
        if (total < p) throw new ArgumentException($"only {total} pixels are not zero, fewer than P = {p}");
        var full = yh;
        var lFull = l;
        if (o.Subspace > 0 && o.Subspace < l)
        {
            // X = Uₖᵀ Ŷ, Uₖ the leading eigenvectors of Ŷ Ŷᵀ: the iterations see k rows instead of L.
            var k = Math.Max(o.Subspace, p);
            yh = Dense.ProjectOnLeadingEigenvectors(blas, yh, l, n, k);
            l = k;
        }

        // B, held as Bᵀ (P x N, each endmember's weights a row, which its steps walk): most weight on the starting
        // pixels, a little everywhere (multiplicative steps cannot grow a zero).
        var valid = Array.ConvertAll(norms, v => v > 0 ? 1.0 : 0.0);
        var bt = new double[p * n];
        for (var j = 0; j < p; j++)
            for (var i = 0; i < n; i++) bt[j * n + i] = valid[i] * (o.Spread / total);
        for (var j = 0; j < p; j++) bt[j * n + start[j]] += 1 - o.Spread;
        var e = new double[l * p];
        blas.Gemm(false, true, l, p, n, 1.0, yh, n, bt, n, 0.0, e, p);

        // A: FCLS at the start, moved slightly off the simplex's faces for the same reason.
        var check = new FclsCheck(yh, l, n, p);
        var r0 = check.Residual(e);
        var a = new double[p * n];
        for (var i = 0; i < a.Length; i++) a[i] = 0.95 * check.Abundances[i] + 0.05 / p;
        var yNorm = Math.Sqrt(yh.Sum(v => v * v));
        var residuals = new List<double> { r0 / yNorm };
        var best = (double[])bt.Clone();
        var chosen = 0;

        var gradA = new double[p * n];
        var ety = new double[p * n];
        var ete = new double[p * p];
        var rat = new double[l * p];
        var yat = new double[l * p];
        var aat = new double[p * p];
        var gradB = new double[p * n];
        var etaA = 1 / Math.Max(SpectralNormSquared(e, l, p), 1e-12);
        var etaB = etaA * Math.Sqrt((double)p / n);
        var iterations = 0;
        for (var t = 1; t <= o.Iterations; t++)
        {
            cancel.ThrowIfCancellationRequested();
            // ∇_A ½‖Ŷ − E A‖² = −Eᵀ(Ŷ − E A) = EᵀE A − EᵀŶ: EᵀŶ and EᵀE are fixed while E is, so each step costs
            // a P x P x N product instead of the residual's and Eᵀ R's (L x P x N each).
            blas.Gemm(true, false, p, n, l, 1.0, e, p, yh, n, 0.0, ety, n);
            blas.Gemm(true, false, p, p, l, 1.0, e, p, e, p, 0.0, ete, p);
            for (var k = 0; k < o.AbundanceSteps; k++)
            {
                Array.Copy(ety, gradA, ety.Length);
                blas.Gemm(false, false, p, n, p, 1.0, ete, p, a, n, -1.0, gradA, n);
                // On one thread: a step over 10,000 pixels takes about 0.2 ms, and two threads' hand-offs cost what they
                // save (0.10-0.13 s against 0.09-0.10 s over the 500 steps, both kinds alike).
                MirrorSteps.PixelSteps(a, gradA, etaA, n, p, 0, n);
            }
            // ∇_B ½‖Ŷ − Ŷ B A‖² = −Ŷᵀ (R Aᵀ), R Aᵀ = Ŷ Aᵀ − E (A Aᵀ): Ŷ Aᵀ and A Aᵀ are fixed while A is.
            blas.Gemm(false, true, l, p, n, 1.0, yh, n, a, n, 0.0, yat, p);
            blas.Gemm(false, true, p, p, n, 1.0, a, n, a, n, 0.0, aat, p);
            for (var k = 0; k < o.EndmemberSteps; k++)
            {
                Array.Copy(yat, rat, yat.Length);
                blas.Gemm(false, false, l, p, p, -1.0, e, p, aat, p, 1.0, rat, p);
                // (∇_B)ᵀ = −(R Aᵀ)ᵀ Ŷ, P x N like Bᵀ.
                blas.Gemm(true, false, p, n, l, -1.0, rat, p, yh, n, 0.0, gradB, n);
                for (var j = 0; j < p; j++) MirrorSteps.WeightSteps(bt, gradB, etaB, j, n, valid);
                blas.Gemm(false, true, l, p, n, 1.0, yh, n, bt, n, 0.0, e, p);
            }
            iterations = t;
            if (t % o.CheckEvery == 0 || t == o.Iterations)
            {
                var r = check.Residual(e);
                residuals.Add(r / yNorm);
                if (residuals[^1] < residuals[chosen]) { chosen = residuals.Count - 1; Array.Copy(bt, best, best.Length); }
            }
        }

        // The chosen directions (in all bands), each at the scale of the pixels it combines (B-weighted mean length).
        l = lFull;
        e = new double[l * p];
        blas.Gemm(false, true, l, p, n, 1.0, full, n, best, n, 0.0, e, p);
        for (var j = 0; j < p; j++)
        {
            double s = 0;
            for (var i = 0; i < n; i++) s += best[j * n + i] * norms[i];
            if (o.UnitLength)
                for (var b = 0; b < l; b++) e[b * p + j] *= s;
        }
        return new ArchetypalResult(e, l, p, best, residuals.ToArray(), chosen, iterations);
    }

    /// <summary>‖y_i‖ for every pixel (column).</summary>
    public static double[] PixelNorms(double[] y, int l, int n)
    {
        var norms = new double[n];
        for (var b = 0; b < l; b++)
            for (var i = 0; i < n; i++) { var v = y[b * n + i]; norms[i] += v * v; }
        for (var i = 0; i < n; i++) norms[i] = Math.Sqrt(norms[i]);
        return norms;
    }

    /// <summary>
    /// FCLS of the (unit-length, projected) pixels for candidate endmembers, with the pixels converted and the
    /// buffers allocated once for all the checks of a refinement. The two halves of the pixels are solved on two
    /// threads: each pixel's FCLS is its own (the same bits in any tile, the tiles' guarantee), and the residual is
    /// summed over all pixels in one order afterwards.
    /// </summary>
    private sealed class FclsCheck
    {
        private readonly int _l, _n, _p;
        /// <summary>The two halves' first pixel and count, and their pixels (L x count, band-major floats).</summary>
        private readonly (int Start, int Count, float[] Y)[] _halves;
        private readonly byte[] _valid;
        private readonly float[] _residual;
        private readonly TileScratch[] _scratch = [new(), new()];

        public FclsCheck(double[] yh, int l, int n, int p)
        {
            (_l, _n, _p) = (l, n, p);
            _valid = Enumerable.Repeat((byte)1, n).ToArray();
            _residual = new float[n];
            Abundances = new float[p * n];
            _halves = [(0, n / 2, []), (n / 2, n - n / 2, [])];
            for (var h = 0; h < 2; h++)
            {
                var (start, count, _) = _halves[h];
                var part = new float[l * count];
                for (var b = 0; b < l; b++)
                    for (var i = 0; i < count; i++) part[b * count + i] = (float)yh[b * n + start + i];
                _halves[h].Y = part;
            }
        }

        public float[] Abundances { get; }

        /// <summary>Solves into <see cref="Abundances"/> and returns the residual ‖Ŷ − E A‖_F.</summary>
        public double Residual(double[] e)
        {
            var solver = new AbundanceSolver(new Endmembers.EndmemberSet(e, _l, _p), LinearMethod.Fcls);
            Parallel.For(0, 2, h =>
            {
                var (start, count, y) = _halves[h];
                if (count == 0) return;
                var all = new TileBuffers { Y = y, Pixels = _n, Valid = _valid, Abundances = Abundances, Residual = _residual };
                solver.SolveTile(all.Part(start, count, y), _scratch[h]);
            });
            double s = 0;
            foreach (var r in _residual) s += (double)r * r * _l;
            return Math.Sqrt(s);
        }
    }

    private static double SpectralNormSquared(double[] m, int rows, int cols) =>
        Math.Pow(MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rows, cols, (i, j) => m[i * cols + j]).L2Norm(), 2);
}
