using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>The outcome of N-FINDR: the chosen pixels and the simplex volume they span.</summary>
/// <param name="Endmembers">L x P row-major: the chosen pixels as they are in the data.</param>
/// <param name="Volume">|det| of the simplex matrix in the (P−1)-dimensional principal subspace (proportional to the volume).</param>
/// <param name="Swaps">Replacements made from the starting pixels.</param>
internal sealed record NFindrResult(double[] Endmembers, int Bands, int Count, int[] PixelIndices, double Volume, int Swaps);

/// <summary>
/// N-FINDR (Winter 1999): the P pixels spanning the largest simplex in the data's (P−1)-dimensional principal
/// subspace, found by deterministic swaps from a starting set (VCA's pixels). For position j, replacing its vertex by
/// pixel v scales the volume by (M⁻¹ [1; v])_j, M being the simplex matrix of homogeneous coordinates; so one
/// matrix inverse per position scores every pixel, and the best one is swapped in when it grows the volume. Sweeps
/// repeat until none does. Runs on the raw data (no normalisation), where the vertices are the purest pixels.
/// </summary>
internal static class NFindr
{
    /// <param name="y">L x N row-major samples (one column per pixel).</param>
    /// <param name="start">P starting pixel indices (e.g. VCA's).</param>
    /// <param name="axes">The pixels' eigen-decompositions when the caller shares them (<see cref="PrincipalAxes"/>).</param>
    public static NFindrResult Refine(double[] y, int l, int n, int[] start, IBlas? blas = null, int maxSweeps = 50, PrincipalAxes? axes = null)
    {
        blas ??= Blas.Default;
        var p = start.Length;
        if (p < 1) throw new ArgumentException("N-FINDR needs at least one starting pixel");
        if (p > l) throw new ArgumentOutOfRangeException(nameof(start), p, $"P = {p} is larger than the band count {l}");
        if (n < p) throw new ArgumentException($"N-FINDR needs at least P = {p} pixels, got {n}");
        if (start.Any(i => i < 0 || i >= n)) throw new ArgumentOutOfRangeException(nameof(start), "a starting pixel is outside the data");
        var indices = (int[])start.Clone();
        var swaps = 0;
        var volume = 0.0;
        if (p > 1)
        {
            // Coordinates in the (P−1)-dimensional principal subspace: z = Uᵀ(y − mean).
            var d = p - 1;
            var (_, centred, u) = PrincipalAxes.For(axes, y, l, n, blas).Centred;
            var z = Dense.ProjectOnVectors(blas, u, centred, l, n, d);

            var m = Matrix<double>.Build.Dense(p, p);
            void SetVertex(int j, int pixel)
            {
                m[0, j] = 1;
                for (var k = 0; k < d; k++) m[k + 1, j] = z[k * n + pixel];
            }
            for (var j = 0; j < p; j++) SetVertex(j, indices[j]);
            var scores = new double[n];
            for (var sweep = 0; sweep < maxSweeps; sweep++)
            {
                var changed = false;
                for (var j = 0; j < p; j++)
                {
                    var det = m.Determinant();
                    if (Math.Abs(det) < 1e-300)
                    {
                        // Degenerate start (repeated or collinear pixels): nudge with the farthest pixel from the others' mean.
                        indices[j] = Farthest(z, d, n, indices, j);
                        SetVertex(j, indices[j]);
                        changed = true;
                        continue;
                    }
                    var row = m.Inverse().Row(j);
                    // scores[i] = (M⁻¹ [1; z_i])_j: the factor by which pixel i would scale the volume at position j.
                    for (var i = 0; i < n; i++) scores[i] = row[0];
                    for (var k = 0; k < d; k++)
                    {
                        var r = row[k + 1];
                        for (var i = 0; i < n; i++) scores[i] += r * z[k * n + i];
                    }
                    var best = indices[j];
                    var bestScore = 1.0;
                    for (var i = 0; i < n; i++)
                        if (Math.Abs(scores[i]) > bestScore * (1 + 1e-9)) { bestScore = Math.Abs(scores[i]); best = i; }
                    if (best != indices[j])
                    {
                        indices[j] = best;
                        SetVertex(j, best);
                        swaps++;
                        changed = true;
                    }
                }
                if (!changed) break;
            }
            volume = Math.Abs(m.Determinant());
        }
        var e = new double[l * p];
        for (var i = 0; i < l; i++)
            for (var j = 0; j < p; j++) e[i * p + j] = y[i * n + indices[j]];
        return new NFindrResult(e, l, p, indices, volume, swaps);
    }

    private static int Farthest(double[] z, int d, int n, int[] indices, int skip)
    {
        var centre = new double[d];
        var others = indices.Where((_, k) => k != skip).ToArray();
        foreach (var o in others)
            for (var k = 0; k < d; k++) centre[k] += z[k * n + o] / Math.Max(1, others.Length);
        var best = 0;
        var bestDist = -1.0;
        for (var i = 0; i < n; i++)
        {
            double s = 0;
            for (var k = 0; k < d; k++) { var v = z[k * n + i] - centre[k]; s += v * v; }
            if (s > bestDist && !others.Contains(i)) { bestDist = s; best = i; }
        }
        return best;
    }
}
