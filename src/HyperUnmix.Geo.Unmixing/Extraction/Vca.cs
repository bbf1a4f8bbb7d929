using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>The outcome of VCA: endmembers at the data's scale and how they were found.</summary>
internal sealed record VcaResult(double[] Endmembers, int Bands, int Count, int[] PixelIndices, double SnrDb, bool ProjectiveProjection);

/// <summary>
/// Vertex Component Analysis (Nascimento &amp; Bioucas-Dias 2005): estimate the SNR, project onto the signal
/// subspace (p−1 dimensional affine subspace below the threshold 15 + 10 log10(p) dB, projective projection above
/// it), then repeatedly pick the pixel with the largest projection on a random direction orthogonal to the
/// vertices found so far. The endmembers are columns of the denoised data Yp, i.e. at the data's own scale.
/// </summary>
internal static class Vca
{
    /// <param name="y">L x N row-major samples (one column per pixel).</param>
    /// <param name="snrDb">A known SNR; estimated from the data when null.</param>
    /// <param name="axes">The pixels' eigen-decompositions when the caller shares them (<see cref="PrincipalAxes"/>).</param>
    public static VcaResult Extract(double[] y, int l, int n, int p, long seed, double? snrDb = null, IBlas? blas = null, PrincipalAxes? axes = null)
    {
        blas ??= Blas.Default;
        if (p < 1) throw new ArgumentOutOfRangeException(nameof(p), p, "the number of endmembers must be at least 1");
        if (p > l) throw new ArgumentOutOfRangeException(nameof(p), p, $"P = {p} is larger than the band count {l}");
        if (n < p) throw new ArgumentException($"VCA needs at least P = {p} valid pixels, got {n}");

        axes = PrincipalAxes.For(axes, y, l, n, blas);
        var (mean, centred, ud) = axes.Centred;
        var udP = Dense.LeadingColumns(ud, l, p);
        var xp = Dense.Project(blas, udP, centred, l, n, p);

        var snr = snrDb ?? EstimateSnr(y, xp, mean, l, n, p);
        var threshold = 15 + 10 * Math.Log10(p);
        double[] simplex; // p x N
        Func<int, double[]> denoised;
        var projective = snr >= threshold;
        if (!projective)
        {
            var d = p - 1;
            simplex = new double[p * n];
            double c = 0;
            for (var j = 0; j < n; j++)
            {
                double s = 0;
                for (var k = 0; k < d; k++) { var v = xp[k * n + j]; s += v * v; }
                c = Math.Max(c, s);
            }
            c = Math.Sqrt(c);
            Array.Copy(xp, simplex, d * n);
            Array.Fill(simplex, c, d * n, n);
            denoised = j =>
            {
                var col = (double[])mean.Clone();
                for (var k = 0; k < d; k++)
                    for (var i = 0; i < l; i++) col[i] += udP[i * p + k] * xp[k * n + j];
                return col;
            };
        }
        else
        {
            var u2 = axes.Raw;
            var ud2 = Dense.LeadingColumns(u2, l, p);
            var x2 = Dense.Project(blas, ud2, y, l, n, p);
            var u = new double[p];
            for (var k = 0; k < p; k++)
            {
                double s = 0;
                for (var j = 0; j < n; j++) s += x2[k * n + j];
                u[k] = s / n;
            }
            simplex = new double[p * n];
            for (var j = 0; j < n; j++)
            {
                double dot = 0;
                for (var k = 0; k < p; k++) dot += x2[k * n + j] * u[k];
                if (Math.Abs(dot) < 1e-300) dot = 1e-300;
                for (var k = 0; k < p; k++) simplex[k * n + j] = x2[k * n + j] / dot;
            }
            denoised = j =>
            {
                var col = new double[l];
                for (var k = 0; k < p; k++)
                    for (var i = 0; i < l; i++) col[i] += ud2[i * p + k] * x2[k * n + j];
                return col;
            };
        }

        var rng = new Rng(seed);
        var a = Matrix<double>.Build.Dense(p, p);
        a[p - 1, 0] = 1;
        var indices = new int[p];
        for (var i = 0; i < p; i++)
        {
            var w = Vector<double>.Build.Dense(p, _ => rng.NextGaussian());
            var f = w - a * (a.PseudoInverse() * w);
            var norm = f.L2Norm();
            if (norm < 1e-300) f = w; else f /= norm;
            var best = 0;
            var bestValue = -1.0;
            for (var j = 0; j < n; j++)
            {
                double v = 0;
                for (var k = 0; k < p; k++) v += f[k] * simplex[k * n + j];
                v = Math.Abs(v);
                if (v > bestValue) { bestValue = v; best = j; }
            }
            indices[i] = best;
            for (var k = 0; k < p; k++) a[k, i] = simplex[k * n + best];
        }

        var e = new double[l * p];
        for (var i = 0; i < p; i++)
        {
            var col = denoised(indices[i]);
            for (var r = 0; r < l; r++) e[r * p + i] = col[r];
        }
        return new VcaResult(e, l, p, indices, snr, projective);
    }

    /// <summary>SNR estimate of the reference VCA: signal power from the p-dimensional projection.</summary>
    private static double EstimateSnr(double[] y, double[] xp, double[] mean, int l, int n, int p)
    {
        double py = 0, px = 0, mm = 0;
        foreach (var v in y) py += v * v;
        for (var i = 0; i < p * n; i++) px += xp[i] * xp[i];
        foreach (var v in mean) mm += v * v;
        py /= n;
        px = px / n + mm;
        var num = px - (double)p / l * py;
        var den = py - px;
        if (den <= 0) return double.PositiveInfinity;
        if (num <= 0) return double.NegativeInfinity;
        return 10 * Math.Log10(num / den);
    }
}
