using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.Distributions;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>
/// Virtual dimensionality by Harsanyi–Farrand–Chang (HFC, Chang &amp; Du 2004): a signal source shows up as an
/// eigenvalue of the correlation matrix larger than the matching eigenvalue of the covariance matrix (the mean's
/// energy); each difference is tested against its variance 2(λR² + λK²)/N at a false-alarm probability Pf.
/// A second opinion next to HySime.
/// </summary>
internal static class HfcVd
{
    /// <param name="y">L x N row-major samples.</param>
    /// <returns>The dimensionality for each false-alarm probability given.</returns>
    public static int[] Estimate(double[] y, int l, int n, IReadOnlyList<double> falseAlarm, IBlas? blas = null)
    {
        blas ??= Blas.Default;
        if (n <= l) throw new ArgumentException($"HFC-VD needs more valid pixels ({n}) than bands ({l})");
        var (_, centred) = Dense.CentreRows(y, l, n);
        var (_, lr) = Dense.EigenDescending(Dense.ToMatrix(Dense.Gram(blas, y, l, n, n), l, l));
        var (_, lk) = Dense.EigenDescending(Dense.ToMatrix(Dense.Gram(blas, centred, l, n, n), l, l));
        return falseAlarm.Select(pf =>
        {
            var z = Normal.InvCDF(0, 1, 1 - pf);
            var count = 0;
            for (var k = 0; k < l; k++)
            {
                var sigma = Math.Sqrt(2 * (lr[k] * lr[k] + lk[k] * lk[k]) / n);
                if (lr[k] - lk[k] > z * sigma) count++;
            }
            return count;
        }).ToArray();
    }
}
