using System.Runtime.CompilerServices;

namespace HyperUnmix.Geo.Unmixing.Solvers;

/// <summary>
/// Exact solution of the small convex QP  min ½aᵀGa − bᵀa  s.t. a ≥ 0 (and 1ᵀa = 1 when sum-to-one), by a
/// primal active-set method (Lawson–Hanson, generalised to the equality constraint). Allocation-free: all work
/// is in caller-provided scratch. Terminates with the KKT conditions satisfied to a relative tolerance.
/// </summary>
/// <remarks>
/// b = Eᵀy spans every magnitude float data can hold (byte-swapped files reach 3e38, dark pixels 1e-30), while G
/// is fixed. Without sum-to-one the problem is homogeneous, a(sb) = s·a(b), so b is solved at G's scale (an exact
/// power-of-two rescaling). With it, b and b + c1 give the same solution (1ᵀa = 1 turns c1 into a constant), so b
/// is shifted by its largest entry: at the optimum the free entries of b lie within a few |G| of the largest, so
/// the final subproblem has a small right-hand side instead of huge ones that cancel, and the KKT tolerance
/// follows b's spread, not its offset.
/// </remarks>
internal static class ActiveSet
{
    /// <summary>Scratch length needed for P unknowns.</summary>
    public static int ScratchLength(int p) => (p + 1) * (p + 2) + 4 * p + 2;

    /// <summary>Solves the QP. <paramref name="g"/> is P x P row-major (symmetric positive definite).</summary>
    /// <returns>The number of active-set iterations (0 when the starting point was optimal).</returns>
    /// <param name="warm">
    /// Start from the support of the values <paramref name="a"/> holds (the unconstrained or sum-to-one solution, whose
    /// positive entries are usually the optimum's support), not from every variable (sum-to-one) or none: the same
    /// iterations from a point nearer the end. The optimum is unique and the answer is the last subproblem's solution
    /// on the final support, so a run that ends on the same support gives the same bits.
    /// </param>
    // Fully optimised from the first call (here and in the helpers): a scene's pixels are solved before tiered
    // compilation would promote the code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Solve(ReadOnlySpan<double> g, ReadOnlySpan<double> b, bool sumToOne, Span<double> a, Span<double> scratch, bool warm = false)
    {
        var p = a.Length;
        var m = scratch[..((p + 1) * (p + 2))];          // augmented KKT system, row stride p + 2
        var z = scratch.Slice(m.Length, p + 1);          // subproblem solution (+ multiplier)
        var grad = scratch.Slice(m.Length + p + 1, p);
        Span<bool> free = stackalloc bool[p];
        Span<int> idx = stackalloc int[p];

        var conditioned = scratch.Slice(m.Length + 2 * p + 1, p);
        double gMax = 0, bMax = 0;
        for (var i = 0; i < p * p; i++) gMax = Math.Max(gMax, Math.Abs(g[i]));
        var exponent = 0;
        if (sumToOne)
        {
            var top = double.NegativeInfinity;
            foreach (var v in b) top = Math.Max(top, v);
            for (var i = 0; i < p; i++) conditioned[i] = b[i] - top;
        }
        else
        {
            foreach (var v in b) bMax = Math.Max(bMax, Math.Abs(v));
            if (bMax == 0) { a.Clear(); return 0; }
            exponent = Math.ILogB(gMax) - Math.ILogB(bMax);
            for (var i = 0; i < p; i++) conditioned[i] = Math.ScaleB(b[i], exponent);
        }
        b = conditioned;
        bMax = 0;
        foreach (var v in b) bMax = Math.Max(bMax, Math.Abs(v));
        var tol = 1e-11 * Math.Max(Math.Max(gMax, bMax), 1e-300);

        double support = 0;
        if (warm)
            foreach (var v in a) if (v > 0) support += v;
        if (support > 0 && double.IsFinite(support))
        {
            // A feasible start on the given support: the positive entries, on the simplex (sum-to-one) or at the
            // conditioned b's scale (non-negative).
            for (var i = 0; i < p; i++)
            {
                free[i] = a[i] > 0;
                a[i] = !free[i] ? 0 : sumToOne ? a[i] / support : Math.ScaleB(a[i], exponent);
            }
        }
        else if (sumToOne) { a.Fill(1.0 / p); free.Fill(true); }
        else { a.Clear(); free.Clear(); }

        var maxIter = 30 * p + 30;
        int iter;
        for (iter = 0; iter < maxIter; iter++)
        {
            var nf = 0;
            for (var i = 0; i < p; i++) if (free[i]) idx[nf++] = i;
            if (sumToOne && nf == 0)
            {
                // No support satisfies 1ᵀa = 1. Steps towards subproblem solutions of huge magnitude (far-apart
                // b) can round every free variable to zero at once; resume from the vertex of the largest b,
                // which is where such a b's optimum lies (b was shifted so that its largest entry is 0).
                free[b.IndexOf(0.0)] = true;
                continue;
            }
            var feasible = true;
            if (nf > 0)
            {
                SolveSubproblem(g, b, sumToOne, idx[..nf], m, z);
                for (var t = 0; t < nf; t++) if (z[t] <= 0) { feasible = false; break; }
            }
            if (feasible)
            {
                a.Clear();
                for (var t = 0; t < nf; t++) a[idx[t]] = z[t];
                // Exactly on the simplex, whatever rounding the bordered solve left in 1ᵀz.
                if (sumToOne) Renormalise(a);
                // Multipliers of the bound constraints: λ = Ga − b − ν1, ν from the free variables (0 without ASC).
                for (var i = 0; i < p; i++)
                {
                    double s = -b[i];
                    for (var j = 0; j < p; j++) s += g[i * p + j] * a[j];
                    grad[i] = s;
                }
                double nu = 0;
                if (sumToOne && nf > 0) { for (var t = 0; t < nf; t++) nu += grad[idx[t]]; nu /= nf; }
                int worst = -1;
                var worstValue = -tol;
                for (var i = 0; i < p; i++)
                {
                    if (free[i]) continue;
                    var lambda = grad[i] - nu;
                    if (lambda < worstValue) { worstValue = lambda; worst = i; }
                }
                if (worst < 0) return Unscale(a, exponent, iter);
                free[worst] = true;
                continue;
            }
            // Move from a towards z until the first free variable hits zero; it becomes active.
            var alpha = 1.0;
            var blocking = -1;
            for (var t = 0; t < nf; t++)
            {
                if (z[t] > 0) continue;
                var ai = a[idx[t]];
                var step = ai / (ai - z[t]);
                if (step < alpha || blocking < 0) { alpha = Math.Min(alpha, step); blocking = t; }
            }
            for (var t = 0; t < nf; t++)
            {
                var i = idx[t];
                a[i] += alpha * (z[t] - a[i]);
                if (t == blocking || a[i] <= 0) { a[i] = 0; free[i] = false; }
            }
            if (sumToOne) Renormalise(a);
        }
        return Unscale(a, exponent, iter);
    }

    /// <summary>Undoes the power-of-two rescaling of b (a solution of the homogeneous problem scales with b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Unscale(Span<double> a, int exponent, int iterations)
    {
        if (exponent != 0)
            for (var i = 0; i < a.Length; i++) a[i] = Math.ScaleB(a[i], -exponent);
        return iterations;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Renormalise(Span<double> a)
    {
        double s = 0;
        foreach (var v in a) s += v;
        if (s > 0) for (var i = 0; i < a.Length; i++) a[i] /= s;
    }

    /// <summary>Solves G_FF z = b_F (and, with sum-to-one, the bordered system with 1ᵀz = 1) by Gaussian elimination.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SolveSubproblem(ReadOnlySpan<double> g, ReadOnlySpan<double> b, bool sumToOne, ReadOnlySpan<int> f, Span<double> m, Span<double> z)
    {
        var p = (int)Math.Round(Math.Sqrt(g.Length));
        var nf = f.Length;
        var n = sumToOne ? nf + 1 : nf;
        var stride = n + 1;
        for (var r = 0; r < nf; r++)
        {
            for (var c = 0; c < nf; c++) m[r * stride + c] = g[f[r] * p + f[c]];
            if (sumToOne) m[r * stride + nf] = 1;
            m[r * stride + n] = b[f[r]];
        }
        if (sumToOne)
        {
            for (var c = 0; c < nf; c++) m[nf * stride + c] = 1;
            m[nf * stride + nf] = 0;
            m[nf * stride + n] = 1;
        }
        for (var col = 0; col < n; col++)
        {
            var piv = col;
            for (var r = col + 1; r < n; r++)
                if (Math.Abs(m[r * stride + col]) > Math.Abs(m[piv * stride + col])) piv = r;
            if (piv != col)
                for (var c = 0; c <= n; c++) (m[col * stride + c], m[piv * stride + c]) = (m[piv * stride + c], m[col * stride + c]);
            var d = m[col * stride + col];
            if (d == 0) d = 1e-300;
            for (var r = col + 1; r < n; r++)
            {
                var factor = m[r * stride + col] / d;
                if (factor == 0) continue;
                for (var c = col; c <= n; c++) m[r * stride + c] -= factor * m[col * stride + c];
            }
        }
        for (var r = n - 1; r >= 0; r--)
        {
            var s = m[r * stride + n];
            for (var c = r + 1; c < n; c++) s -= m[r * stride + c] * z[c];
            var d = m[r * stride + r];
            z[r] = s / (d == 0 ? 1e-300 : d);
        }
    }
}
