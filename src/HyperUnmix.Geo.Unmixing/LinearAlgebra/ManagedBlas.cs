using System.Numerics;

namespace HyperUnmix.Geo.Unmixing.LinearAlgebra;

/// <summary>
/// A portable GEMM for machines without OpenBLAS: operands are brought to the i-k-j form (B row-major, not
/// transposed) so the inner loop is a vectorised AXPY over contiguous memory, parallel over rows of C.
/// </summary>
internal sealed class ManagedBlas : IBlas
{
    public string Name => $"managed (System.Numerics.Vector, {Vector<float>.Count} floats wide)";

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) =>
        Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) =>
        Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) where T : unmanaged, INumber<T>
    {
        Blas.CheckArgs(m, n, k, a.Length, lda, transA, b.Length, ldb, transB, c.Length, ldc);
        if (m == 0 || n == 0) return;
        // B as k x n row-major; A accessed element-wise.
        T[] bk;
        int ldbk;
        if (transB)
        {
            bk = new T[(long)k * n];
            for (var j = 0; j < n; j++)
                for (var p = 0; p < k; p++) bk[p * n + j] = b[j * ldb + p];
            ldbk = n;
        }
        else
        {
            bk = b.ToArray();
            ldbk = ldb;
        }
        var aa = a.ToArray();
        var cc = c.ToArray();
        Parallel.For(0, m, new ParallelOptions { MaxDegreeOfParallelism = m * (long)n * k > 1 << 20 ? -1 : 1 }, i =>
        {
            var row = cc.AsSpan(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else if (beta != T.One) for (var j = 0; j < n; j++) row[j] *= beta;
            for (var p = 0; p < k; p++)
            {
                var s = alpha * (transA ? aa[p * lda + i] : aa[i * lda + p]);
                if (s == T.Zero) continue;
                Axpy(s, bk.AsSpan(p * ldbk, n), row);
            }
        });
        cc.AsSpan().CopyTo(c);
    }

    private static void Axpy<T>(T s, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, INumber<T>
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var sv = new Vector<T>(s);
            for (; j <= x.Length - Vector<T>.Count; j += Vector<T>.Count)
                (new Vector<T>(y[j..]) + sv * new Vector<T>(x[j..])).CopyTo(y[j..]);
        }
        for (; j < x.Length; j++) y[j] += s * x[j];
    }
}
