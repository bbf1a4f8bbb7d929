using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>The HySime estimate: the signal subspace dimension, plus the noise estimate it was based on.</summary>
public sealed record HySimeResult(int Count, double[] NoiseVariance, double[] SignalEigenvalues)
{
    /// <summary>The signal correlation's eigenvectors (columns, by decreasing eigenvalue).</summary>
    internal Matrix<double>? Vectors { get; init; }
}

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
        // The noise w = y − β y and the signal x = β y (β: each band's regression on the others) are never formed:
        // their correlations follow from R = Y Yᵀ, so past that one product the estimate costs L x L x L, not L x N
        // arrays (an N x L copy of the sample was a third of its time, most of it in first touches of fresh memory).
        var rr = Dense.Gram(blas, y, l, n, 1);
        var beta = RegressionCoefficients(rr, l, blas);
        var t = new double[l * l];
        blas.Gemm(false, false, l, l, l, 1.0, beta, l, rr, l, 0.0, t, l);
        var rxArray = new double[l * l];
        blas.Gemm(false, true, l, l, l, 1.0, t, l, beta, l, 0.0, rxArray, l);
        // Noise power per band: (I − β) R (I − β)ᵀ's diagonal, R_ii − 2 (β R)_ii + (β R βᵀ)_ii, over N.
        var rw = new double[l];
        for (var i = 0; i < l; i++) rw[i] = Math.Max(rr[i * l + i] - 2 * t[i * l + i] + rxArray[i * l + i], 0) / n;
        for (var i = 0; i < l; i++)
            for (var j = 0; j <= i; j++) rxArray[i * l + j] = rxArray[j * l + i] = (rxArray[i * l + j] + rxArray[j * l + i]) / (2.0 * n);
        var rx = Dense.ToMatrix(rxArray, l, l);
        var (e, values) = Dense.EigenDescending(rx);
        var traceTerm = rx.Trace() / l / 1e5;
        // Each direction's signal power e_kᵀ R_y e_k (R_y = Y Yᵀ / N) against twice its noise power, for all k at
        // once: the diagonal of Eᵀ R_y E from one product.
        var ev = Dense.LeadingColumns(e, l, l);
        var rye = new double[l * l];
        blas.Gemm(false, false, l, l, l, 1.0 / n, rr, l, ev, l, 0.0, rye, l);
        var count = 0;
        for (var k = 0; k < l; k++)
        {
            double py = 0, pn = 0;
            for (var i = 0; i < l; i++)
            {
                py += ev[i * l + k] * rye[i * l + k];
                pn += ev[i * l + k] * ev[i * l + k] * (rw[i] + traceTerm);
            }
            if (-py + 2 * pn < 0) count++;
        }
        return new HySimeResult(Math.Max(count, 1), rw, values) { Vectors = e };
    }

    /// <summary>The dimension endmembers are projected onto: HySime's count, and at least P.</summary>
    public static int SubspaceDimension(HySimeResult hysime, int p) => Math.Max(hysime.Count, p);

    /// <summary>
    /// Endmembers projected onto the scene's signal subspace: E ← Uₖ Uₖᵀ E, Uₖ the k leading eigenvectors of
    /// HySime's signal correlation. An extracted endmember is a pixel (or, refined, a combination of a few), so it
    /// carries that pixel's noise in every band; the signal lives in the k dimensions HySime finds (those whose signal
    /// power exceeds twice their noise power), and the projection removes the noise in the other L − k, as VCA's
    /// original returns its pixels projected onto its subspace. It matters most for a dark material, whose pixels are
    /// mostly noise (docs/accuracy-linear.md: a dark endmember 21.6° off the truth comes to 4.1°).
    /// </summary>
    /// <param name="e">L x P row-major endmembers.</param>
    public static double[] OntoSignalSubspace(double[] e, int l, int p, HySimeResult hysime, int k, IBlas? blas = null)
    {
        blas ??= Blas.Default;
        if (hysime.Vectors is not { } vectors || vectors.RowCount != l)
            throw new ArgumentException("the HySime result holds no subspace of this band count");
        if (k < 1 || k > l) throw new ArgumentOutOfRangeException(nameof(k), k, $"the subspace dimension must be between 1 and {l}");
        var uk = Dense.LeadingColumns(vectors, l, k);
        var z = Dense.Project(blas, uk, e, l, p, k);
        var projected = new double[l * p];
        blas.Gemm(false, false, l, p, k, 1.0, uk, k, z, p, 0.0, projected, p);
        return projected;
    }

    /// <summary>
    /// The multiple-regression noise estimate's coefficients (L x L, row i = β_i, zero diagonal): w_i = y_i − β_iᵀ Y,
    /// β_i fitted on the other bands by least squares with a small ridge. With R = Y Yᵀ (+ ridge) and M = R⁻¹ R,
    /// β_i = M_:,i − R⁻¹_:,i M_ii / R⁻¹_ii with its i-th entry zeroed: the inverse of R without band i (a rank-one
    /// update of R⁻¹) times band i's correlations, for every band from one product.
    /// </summary>
    /// <param name="rr">Y Yᵀ, L x L row-major.</param>
    internal static double[] RegressionCoefficients(double[] rr, int l, IBlas blas)
    {
        var rrM = Dense.ToMatrix(rr, l, l);
        var reg = Matrix<double>.Build.DenseIdentity(l) * (1e-6 * rrM.Trace() / l);
        var rriM = (rrM + reg).Inverse();
        var rri = Dense.LeadingColumns(rriM, l, l);
        var m = new double[l * l];
        blas.Gemm(false, false, l, l, l, 1.0, rri, l, rr, l, 0.0, m, l);
        var beta = new double[l * l];
        for (var i = 0; i < l; i++)
        {
            var f = m[i * l + i] / rri[i * l + i];
            for (var j = 0; j < l; j++) beta[i * l + j] = j == i ? 0 : m[j * l + i] - rri[j * l + i] * f;
        }
        return beta;
    }
}
