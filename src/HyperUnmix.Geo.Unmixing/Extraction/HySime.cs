using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>The HySime estimate: the signal subspace dimension, plus the noise estimate it was based on.</summary>
public sealed record HySimeResult(int Count, double[] NoiseVariance, double[] SignalEigenvalues);

/// <summary>
/// HySime (Bioucas-Dias &amp; Nascimento 2008): noise estimated per band by regression on all other bands, then
/// the subspace that minimises the mean squared error between the signal and its projection: the eigen-directions
/// of the signal correlation whose signal power exceeds twice their noise power.
/// </summary>
internal static class HySime
{
    /// <param name="y">L x N row-major samples.</param>
    public static HySimeResult Estimate(double[] y, int l, int n, IBlas? blas = null)
    {
        blas ??= Blas.Default;
        if (n <= l) throw new ArgumentException($"HySime needs more valid pixels ({n}) than bands ({l})");
        var noise = EstimateNoise(y, l, n, blas, out var rr);
        var x = new double[l * n];
        for (var i = 0; i < x.Length; i++) x[i] = y[i] - noise[i];
        var rx = Dense.ToMatrix(Dense.Gram(blas, x, l, n, n), l, l);
        var ry = Dense.ToMatrix(rr, l, l) / n;
        var rw = new double[l];
        for (var i = 0; i < l; i++)
        {
            double s = 0;
            for (var j = 0; j < n; j++) { var v = noise[i * n + j]; s += v * v; }
            rw[i] = s / n;
        }
        var (e, values) = Dense.EigenDescending(rx);
        var traceTerm = rx.Trace() / l / 1e5;
        var count = 0;
        for (var k = 0; k < l; k++)
        {
            var ek = e.Column(k);
            var py = ek * (ry * ek);
            double pn = 0;
            for (var i = 0; i < l; i++) pn += ek[i] * ek[i] * (rw[i] + traceTerm);
            if (-py + 2 * pn < 0) count++;
        }
        return new HySimeResult(Math.Max(count, 1), rw, values);
    }

    /// <summary>Multiple-regression noise estimate: w_i = y_i − β_iᵀ Y with β_i fitted on the other bands.</summary>
    private static double[] EstimateNoise(double[] y, int l, int n, IBlas blas, out double[] rr)
    {
        rr = Dense.Gram(blas, y, l, n, 1);
        var rrM = Dense.ToMatrix(rr, l, l);
        var reg = Matrix<double>.Build.DenseIdentity(l) * (1e-6 * rrM.Trace() / l);
        var rri = (rrM + reg).Inverse();
        var beta = new double[l * l];
        for (var i = 0; i < l; i++)
        {
            var xx = rri - rri.Column(i).OuterProduct(rri.Row(i)) / rri[i, i];
            var rra = rrM.Column(i).Clone();
            rra[i] = 0;
            var b = xx * rra;
            b[i] = 0;
            for (var j = 0; j < l; j++) beta[i * l + j] = b[j];
        }
        var w = (double[])y.Clone();
        blas.Gemm(false, false, l, n, l, -1.0, beta, l, y, n, 1.0, w, n);
        return w;
    }
}
