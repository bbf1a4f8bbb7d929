using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>
/// The eigen-decompositions VCA and N-FINDR take of one set of pixels, computed once and shared: the centred pixels'
/// (their principal axes) and the raw pixels' (VCA's projective projection). Neither depends on P, so the residual's
/// elbow, which extracts for P = 2, 3, ... from the same sample, and N-FINDR after VCA, need them once (each is an
/// L x L x N product and an L x L eigen-decomposition: 0.05-0.1 s for 224 bands and 20,000 pixels). Results are the
/// same bits as computing them anew: the same functions of the same pixels.
/// </summary>
internal sealed class PrincipalAxes(double[] y, int l, int n, IBlas blas)
{
    private (double[] Mean, double[] Centred, Matrix<double> Vectors)? _centred;
    private Matrix<double>? _raw;

    /// <summary>The pixels these axes are of (L x N, row-major); a caller with other pixels must not use them.</summary>
    public double[] Pixels => y;

    /// <summary>Row means, the centred pixels, and the eigenvectors of their Gram matrix (columns by decreasing eigenvalue).</summary>
    public (double[] Mean, double[] Centred, Matrix<double> Vectors) Centred
    {
        get
        {
            if (_centred is { } c) return c;
            var (mean, centred) = Dense.CentreRows(y, l, n);
            var (vectors, _) = Dense.EigenDescending(Dense.ToMatrix(Dense.Gram(blas, centred, l, n, n), l, l));
            _centred = (mean, centred, vectors);
            return _centred.Value;
        }
    }

    /// <summary>The eigenvectors of the raw pixels' Gram matrix (columns by decreasing eigenvalue).</summary>
    public Matrix<double> Raw => _raw ??= Dense.EigenDescending(Dense.ToMatrix(Dense.Gram(blas, y, l, n, n), l, l)).Vectors;

    /// <summary>
    /// Computes both decompositions at once, on two threads (each is a function of the pixels alone: the same bits as
    /// computing them one after the other). VCA needs the raw one above its SNR threshold; below it, the second
    /// thread's work is not used.
    /// </summary>
    public void ComputeBoth() => Parallel.Invoke(() => _ = Centred, () => _ = Raw);

    /// <summary>The axes of <paramref name="pixels"/>: <paramref name="shared"/> when it is of the same array, else new ones.</summary>
    public static PrincipalAxes For(PrincipalAxes? shared, double[] pixels, int l, int n, IBlas blas) =>
        shared is not null && ReferenceEquals(shared.Pixels, pixels) ? shared : new PrincipalAxes(pixels, l, n, blas);
}
