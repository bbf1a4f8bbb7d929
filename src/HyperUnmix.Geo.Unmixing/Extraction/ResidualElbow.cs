using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>The residual curve behind <see cref="ResidualElbow"/>'s choice.</summary>
/// <param name="Residuals">RMS residual of the pixels' best non-negative fit with P = 1, 2, ... endmembers ([P - 1]).</param>
/// <param name="Gains">Relative drop of the residual from P to P + 1 ([P - 1]).</param>
/// <param name="Uncertain">The choice is close: a gain within a factor 1.5 of the threshold decides it.</param>
internal sealed record ElbowResult(int Count, double[] Residuals, double[] Gains, bool Uncertain);

/// <summary>
/// The number of endmembers as the elbow of the unmixing residual: for P = 1, 2, ... a set of P endmembers is fitted
/// to the pixels (NNLS, so brightness is free) and the RMS residual recorded; P is the smallest count past which one
/// more endmember lowers the residual by less than <see cref="Threshold"/>. On real scenes HySime counts
/// every direction that rises above its noise estimate (correlated noise, variability within a material), which is
/// many more than the materials an analyst names (44 on Samson, 3 materials); the residual asks instead whether one
/// more spectrum explains the pixels materially better. docs/endmembers.md has the measurements behind the threshold.
/// </summary>
internal static class ResidualElbow
{
    /// <summary>One more endmember must lower the residual by at least this share to count.</summary>
    public const double Threshold = 0.30;

    /// <summary>
    /// The smallest count the estimate gives: two endmembers are a line in spectral space, rarely what a scene holds
    /// (on one EnMAP tile the elbow alone said 2); <c>-p 2</c> still asks for it.
    /// </summary>
    public const int MinCount = 3;

    /// <param name="y">L x N, band-major.</param>
    /// <param name="maxCount">Largest P tried.</param>
    /// <param name="maxPixels">Pixels the residual is measured on (an evenly spread subset).</param>
    /// <param name="axes">The pixels' eigen-decompositions, when the caller shares them with its extraction (<see cref="PrincipalAxes"/>).</param>
    public static ElbowResult Estimate(double[] y, int l, int n, int maxCount, long seed, int maxPixels = 4000, PrincipalAxes? axes = null,
        CancellationToken cancel = default)
    {
        // Every P's VCA and N-FINDR use the same decompositions of the same pixels: taken once.
        axes = PrincipalAxes.For(axes, y, l, n, LinearAlgebra.Blas.Default);
        maxCount = Math.Max(MinCount, Math.Min(maxCount, Math.Min(l, n - 1)));
        var m = Math.Min(n, maxPixels);
        var idx = Enumerable.Range(0, m).Select(i => (int)((long)i * n / m)).ToArray();
        var yf = new float[l * m];
        for (var b = 0; b < l; b++)
            for (var k = 0; k < m; k++) yf[b * m + k] = (float)y[b * n + idx[k]];
        // Sets grown one endmember at a time: each step adds, to the best set of the step before, the candidate pixel
        // that lowers the residual most; the set N-FINDR (from VCA's pixels) extracts for the same P replaces it when it fits better.
        // The curve therefore cannot rise (sets extracted anew for each P are not nested, and on real scenes P + 1 of
        // them often fit worse than P), and it is never worse than what the extraction itself would give.
        var chosen = new List<double[]>();
        var residual = new float[m];
        for (var k = 0; k < m; k++)
        {
            double s2 = 0;
            for (var b = 0; b < l; b++) s2 += (double)yf[b * m + k] * yf[b * m + k];
            residual[k] = (float)Math.Sqrt(s2 / l);
        }
        var residuals = new List<double>();
        var gains = new List<double>();
        var count = maxCount;
        for (var p = 1; p <= maxCount + 1 && p <= Math.Min(l, n - 1); p++)
        {
            cancel.ThrowIfCancellationRequested();
            var best = (Set: new List<double[]>(), Rms: double.PositiveInfinity, Residual: Array.Empty<float>());
            foreach (var c in Candidates(residual))
            {
                var set = new List<double[]>(chosen) { Pixel(yf, l, m, c) };
                var r = new float[m];
                var rms = Residual(yf, l, m, set, r);
                if (rms < best.Rms) best = (set, rms, r);
            }
            if (p >= 2)
            {
                var vca = Vca.Extract(y, l, n, p, seed, axes: axes);
                foreach (var e in new[] { NFindr.Refine(y, l, n, vca.PixelIndices, axes: axes).Endmembers })
                {
                    var set = Enumerable.Range(0, p).Select(j => Enumerable.Range(0, l).Select(b => e[b * p + j]).ToArray()).ToList();
                    var r = new float[m];
                    var rms = Residual(yf, l, m, set, r);
                    if (rms < best.Rms) best = (set, rms, r);
                }
            }
            if (best.Set.Count == 0) break;
            chosen = best.Set;
            residual = best.Residual;
            residuals.Add(best.Rms);
            if (p == 1) continue;
            gains.Add((residuals[^2] - residuals[^1]) / Math.Max(residuals[^2], 1e-30));
            // The first P (at least MinCount) whose next endmember gains less than the threshold.
            if (p > MinCount && gains[^1] < Threshold) { count = p - 1; break; }
        }
        // Close: a deciding gain near the threshold, or the last gain taken near it.
        var at = count - 1;
        var uncertain = count == maxCount || Near(gains, at) || Near(gains, at + 1) || Near(gains, at - 1);
        return new ElbowResult(count, residuals.ToArray(), gains.ToArray(), uncertain);
    }

    private static bool Near(List<double> gains, int i) => i >= 0 && i < gains.Count && gains[i] > Threshold / 1.5 && gains[i] < Threshold * 1.5;

    /// <summary>
    /// Pixels to try as the next endmember: 24 spread over the 5% worst explained (the very worst are often single
    /// odd pixels, which lower the residual little).
    /// </summary>
    private static IEnumerable<int> Candidates(float[] residual)
    {
        var order = Enumerable.Range(0, residual.Length).OrderByDescending(k => residual[k]).ThenBy(k => k).ToArray();
        var top = Math.Max(1, Math.Min(order.Length, Math.Max(24, order.Length / 20)));
        var tries = Math.Min(24, top);
        return Enumerable.Range(0, tries).Select(i => order[(int)((long)i * top / tries)]).Distinct();
    }

    private static double[] Pixel(float[] y, int l, int m, int k) => Enumerable.Range(0, l).Select(b => (double)y[b * m + k]).ToArray();

    /// <summary>RMS residual of the pixels' NNLS fit with these spectra as endmembers; each pixel's residual into <paramref name="perPixel"/>.</summary>
    private static double Residual(float[] y, int l, int m, List<double[]> spectra, float[] perPixel)
    {
        var p = spectra.Count;
        var e = new double[l * p];
        for (var b = 0; b < l; b++)
            for (var j = 0; j < p; j++) e[b * p + j] = spectra[j][b];
        return RmsResidual(y, l, m, e, p, perPixel);
    }

    /// <summary>
    /// RMS residual of the NNLS fit of the pixels (<paramref name="y"/>, L x N) with the endmembers <paramref name="e"/>
    /// (L x P): the scaled mixing model's residual, brightness free. Each pixel's residual goes to <paramref name="perPixel"/> when given.
    /// </summary>
    public static double RmsResidual(float[] y, int l, int n, double[] e, int p, float[]? perPixel = null)
    {
        perPixel ??= new float[n];
        new AbundanceSolver(new EndmemberSet(e, l, p), LinearMethod.Nnls).SolveTile(TileBuffers.AllValid(y, n, p) with { Residual = perPixel }, new TileScratch());
        return Math.Sqrt(perPixel.Average(r => (double)r * r));
    }
}
