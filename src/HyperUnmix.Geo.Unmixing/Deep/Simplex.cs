namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>Exact Euclidean projection onto the probability simplex {a ≥ 0, Σa = 1} (Duchi et al. 2008).</summary>
public static class Simplex
{
    /// <summary>Projects <paramref name="v"/> in place; <paramref name="sorted"/> is scratch of the same length.</summary>
    public static void Project(Span<float> v, Span<float> sorted)
    {
        var n = v.Length;
        v.CopyTo(sorted);
        sorted[..n].Sort();
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
