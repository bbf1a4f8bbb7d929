using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.LinearAlgebra;

/// <summary>Helpers between row-major arrays, BLAS products and MathNet's small decompositions.</summary>
internal static class Dense
{
    /// <summary>X Xᵀ / scale for a row-major r x c matrix (r x r result, row-major), one GEMM.</summary>
    public static double[] Gram(IBlas blas, double[] x, int r, int c, double scale)
    {
        var g = new double[r * r];
        blas.Gemm(false, true, r, r, c, 1.0 / scale, x, c, x, c, 0.0, g, r);
        return g;
    }

    /// <summary>Row means of a row-major r x c matrix and the matrix with them subtracted.</summary>
    public static (double[] Mean, double[] Centred) CentreRows(double[] x, int r, int c)
    {
        var mean = new double[r];
        var centred = new double[r * c];
        for (var i = 0; i < r; i++)
        {
            double s = 0;
            for (var j = 0; j < c; j++) s += x[i * c + j];
            mean[i] = s / c;
            for (var j = 0; j < c; j++) centred[i * c + j] = x[i * c + j] - mean[i];
        }
        return (mean, centred);
    }

    /// <summary>
    /// Coordinates (k x c, row-major) of the columns of an r x c matrix in the span of the k leading eigenvectors of
    /// X Xᵀ: Uₖᵀ X. Centre the rows first for principal components.
    /// </summary>
    public static double[] ProjectOnLeadingEigenvectors(IBlas blas, double[] x, int r, int c, int k) =>
        ProjectOnVectors(blas, EigenDescending(ToMatrix(Gram(blas, x, r, c, c), r, r)).Vectors, x, r, c, k);

    /// <summary>Uₖᵀ X (k x c, row-major) for the first k columns of <paramref name="u"/> (r x r) and an r x c matrix X.</summary>
    public static double[] ProjectOnVectors(IBlas blas, Matrix<double> u, double[] x, int r, int c, int k) =>
        Project(blas, LeadingColumns(u, r, k), x, r, c, k);

    /// <summary>The first k columns of <paramref name="u"/> (r rows) as an r x k row-major array.</summary>
    public static double[] LeadingColumns(Matrix<double> u, int r, int k)
    {
        var uk = new double[r * k];
        for (var i = 0; i < r; i++)
            for (var j = 0; j < k; j++) uk[i * k + j] = u[i, j];
        return uk;
    }

    /// <summary>Uₖᵀ X (k x c, row-major) for a row-major r x k basis Uₖ and an r x c matrix X.</summary>
    public static double[] Project(IBlas blas, double[] uk, double[] x, int r, int c, int k)
    {
        var z = new double[k * c];
        blas.Gemm(true, false, k, c, r, 1.0, uk, k, x, c, 0.0, z, c);
        return z;
    }

    public static Matrix<double> ToMatrix(double[] rowMajor, int r, int c) => Matrix<double>.Build.Dense(r, c, (i, j) => rowMajor[i * c + j]);

    /// <summary>Eigenvectors of a symmetric matrix, columns sorted by decreasing eigenvalue (values returned too).</summary>
    public static (Matrix<double> Vectors, double[] Values) EigenDescending(Matrix<double> symmetric)
    {
        var evd = symmetric.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric);
        var n = symmetric.RowCount;
        var order = Enumerable.Range(0, n).OrderByDescending(i => evd.EigenValues[i].Real).ToArray();
        var v = Matrix<double>.Build.Dense(n, n, (i, j) => evd.EigenVectors[i, order[j]]);
        // Fix each eigenvector's sign (largest component positive) so results do not depend on the solver's choice.
        for (var j = 0; j < n; j++)
        {
            var col = v.Column(j);
            var k = col.AbsoluteMaximumIndex();
            if (col[k] < 0) v.SetColumn(j, col.Negate());
        }
        return (v, order.Select(i => evd.EigenValues[i].Real).ToArray());
    }
}
