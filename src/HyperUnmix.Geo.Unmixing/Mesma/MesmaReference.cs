using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>
/// Brute-force MESMA, the reference the fast solver is checked and timed against: for every pixel and every model,
/// a least-squares solve on the model's raw spectra (Householder QR of the L x k matrix, as a naive implementation
/// does) and the residual computed from the spectrum itself; the same constraints and level rule.
/// </summary>
internal static class MesmaReference
{
    /// <summary>One pixel (L values, reflectance): the chosen model (-1: none), its fractions and squared error.</summary>
    public static (int Model, double[] Fractions, double Sse) Solve(MesmaModels m, MesmaSolver rule, ReadOnlySpan<double> y)
    {
        var st = m.Settings;
        var L = m.L;
        var yv = Vector<double>.Build.DenseOfArray(y.ToArray());
        var nl = m.Levels.Length;
        var bestSse = Enumerable.Repeat(double.PositiveInfinity, nl).ToArray();
        var bestModel = Enumerable.Repeat(-1, nl).ToArray();
        var bestX = new double[nl][];
        var maxSse = L * st.MaxRmse * st.MaxRmse;
        for (var q = 0; q < nl; q++)
            for (var mi = m.LevelStarts[q]; mi < m.LevelStarts[q + 1]; mi++)
            {
                var idx = m.Spectrum(mi).ToArray();
                var e = Matrix<double>.Build.Dense(L, idx.Length, (l, a) => m.Spectra[idx[a]][l]);
                var x = e.QR().Solve(yv);
                var sse = (yv - e * x).L2Norm();
                sse *= sse;
                var sum = x.Sum();
                if (x.Any(v => v < st.MinFraction || v > st.MaxFraction)) continue;
                if (sum < 1 - st.MaxShade || sum > 1 - st.MinShade || sse > maxSse) continue;
                if (sse < bestSse[q]) { bestSse[q] = sse; bestModel[q] = mi; bestX[q] = x.ToArray(); }
            }
        var cq = -1;
        for (var q = 0; q < nl; q++)
        {
            if (bestModel[q] < 0) continue;
            if (cq < 0 || rule.Better(cq, q, bestSse[cq], bestSse[q], L)) cq = q;
        }
        return cq < 0 ? (-1, [], double.NaN) : (bestModel[cq], bestX[cq], bestSse[cq]);
    }

    /// <summary>
    /// Brute force as a careful implementation does it (the MESMA QGIS plugin's order): per model, the pseudo-inverse
    /// P = (E_Iᵀ E_I)⁻¹ E_Iᵀ once (from the raw spectra, QR), then for every pixel x = P y and the residual y − E_I x
    /// computed on the L bands: 3 L k operations per model and pixel instead of the Gram solver's k² + k.
    /// <paramref name="y"/>: L x n band-sequential. Returns each pixel's chosen model and squared error.
    /// </summary>
    public static (int[] Model, double[] Sse) SolvePseudoInverse(MesmaModels m, MesmaSolver rule, ReadOnlySpan<float> y, int n)
    {
        var st = m.Settings;
        var L = m.L;
        var nl = m.Levels.Length;
        var bestSse = new double[nl * n];
        var bestModel = new int[nl * n];
        Array.Fill(bestSse, double.PositiveInfinity);
        Array.Fill(bestModel, -1);
        var maxSse = L * st.MaxRmse * st.MaxRmse;
        var yd = new double[L];
        var x = new double[4];
        for (var q = 0; q < nl; q++)
            for (var mi = m.LevelStarts[q]; mi < m.LevelStarts[q + 1]; mi++)
            {
                var idx = m.Spectrum(mi).ToArray();
                var k = idx.Length;
                var e = Matrix<double>.Build.Dense(L, k, (l, a) => m.Spectra[idx[a]][l]);
                var pinv = e.QR().Solve(Matrix<double>.Build.DenseIdentity(L)).ToRowMajorArray();
                var er = e.ToRowMajorArray();
                for (var p = 0; p < n; p++)
                {
                    for (var l = 0; l < L; l++) yd[l] = y[l * n + p];
                    double sum = 0;
                    var ok = true;
                    for (var a = 0; a < k; a++)
                    {
                        double s = 0;
                        for (var l = 0; l < L; l++) s += pinv[a * L + l] * yd[l];
                        x[a] = s;
                        sum += s;
                        ok &= s >= st.MinFraction && s <= st.MaxFraction;
                    }
                    double sse = 0;
                    for (var l = 0; l < L; l++)
                    {
                        var r = yd[l];
                        for (var a = 0; a < k; a++) r -= er[l * k + a] * x[a];
                        sse += r * r;
                    }
                    if (!ok || sum < 1 - st.MaxShade || sum > 1 - st.MinShade || sse > maxSse) continue;
                    if (sse < bestSse[q * n + p]) { bestSse[q * n + p] = sse; bestModel[q * n + p] = mi; }
                }
            }
        var model = new int[n];
        var chosen = new double[n];
        for (var p = 0; p < n; p++)
        {
            var cq = -1;
            for (var q = 0; q < nl; q++)
            {
                if (bestModel[q * n + p] < 0) continue;
                if (cq < 0 || rule.Better(cq, q, bestSse[cq * n + p], bestSse[q * n + p], L)) cq = q;
            }
            model[p] = cq < 0 ? -1 : bestModel[cq * n + p];
            chosen[p] = cq < 0 ? double.NaN : bestSse[cq * n + p];
        }
        return (model, chosen);
    }
}
