namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>Exact Euclidean projection onto the probability simplex {a ≥ 0, Σa = 1} (Duchi et al. 2008).</summary>
internal static class Simplex
{
    /// <summary>Projects <paramref name="v"/> in place; <paramref name="sorted"/> is scratch of the same length.</summary>
    public static void Project(Span<float> v, Span<float> sorted)
    {
        var n = v.Length;
        v.CopyTo(sorted);
        if (n <= 16)
        {
            // Insertion sort: a few compares for the usual P, where Span.Sort's set-up costs more than the sort.
            for (var i = 1; i < n; i++)
            {
                var x = sorted[i];
                var k = i - 1;
                while (k >= 0 && sorted[k] > x) { sorted[k + 1] = sorted[k]; k--; }
                sorted[k + 1] = x;
            }
        }
        else sorted[..n].Sort();
        // Largest ρ with u_ρ − (Σ_{i≤ρ} u_i − 1)/ρ > 0, u sorted decreasingly.
        double cumulative = 0, theta = 0;
        for (var i = 0; i < n; i++)
        {
            double u = sorted[n - 1 - i];
            cumulative += u;
            var t = (cumulative - 1) / (i + 1);
            if (u - t > 0) theta = t;
        }
        for (var i = 0; i < n; i++) v[i] = (float)Math.Max(v[i] - theta, 0);
    }

    /// <summary>Projects every column of a P x N row-major matrix.</summary>
    public static void ProjectColumns(Span<float> a, int p, int n)
    {
        Span<float> col = stackalloc float[p];
        Span<float> scratch = stackalloc float[p];
        for (var j = 0; j < n; j++)
        {
            for (var i = 0; i < p; i++) col[i] = a[i * n + j];
            Project(col, scratch);
            for (var i = 0; i < p; i++) a[i * n + j] = col[i];
        }
    }
}
