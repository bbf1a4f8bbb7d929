using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>
/// Brute-force MESMA, the reference the fast solver is checked and timed against: for every pixel and every model,
/// a least-squares solve on the model's raw spectra (Householder QR of the L x k matrix, as a naive implementation
/// does) and the residual computed from the spectrum itself; the same constraints and level rule.
/// </summary>
public static class MesmaReference
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
}
