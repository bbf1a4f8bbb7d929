using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperUnmix.Geo.Unmixing.LinearAlgebra;

/// <summary>
/// Matrix products whose every element is computed the same way wherever it falls: C[i,j] = β C[i,j] + α s with
/// s = ((0 + A[i,0]B[0,j]) + A[i,1]B[1,j]) + ... summed in ascending k, each product and sum rounded on its own
/// (no fused multiply-add, no reordering, no splitting of k). The vectors run across the columns of C, so a lane
/// is one element and the vector width only changes how many are computed at once, never how.
/// <para>
/// Hence a product's value depends on nothing but its own row of op(A) and column of op(B): not on how many rows
/// or columns share the call, on which thread or tile it runs, on the CPU's kernels (OpenBLAS picks others per CPU
/// and per size, and splits work across its threads), nor on the vector width. Used wherever a pixel's result must
/// not depend on where the pixel falls (abundance solvers, the deep model's apply); OpenBLAS stays for products
/// computed once (fits, extraction), where speed matters and the result is shared.
/// </para>
/// Fast when B is not transposed and C has many columns (pixels as columns: the layout the tile solvers use).
/// </summary>
internal sealed class ReproducibleBlas : IBlas
{
    public static ReproducibleBlas Instance { get; } = new();

    private ReproducibleBlas() { }

    public string Name => "reproducible (managed, fixed summation order)";

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Which entries of op(A) the caller guarantees to be zero, so that their products can be skipped.</summary>
    public enum Shape
    {
        Full,
        /// <summary>op(A)[i, kk] = 0 for kk &lt; i (upper triangular or trapezoidal).</summary>
        Upper,
        /// <summary>op(A)[i, kk] = 0 for kk &gt; i (lower triangular or trapezoidal).</summary>
        Lower,
    }

    /// <summary>
    /// <see cref="Gemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    /// for an op(A) with a zero triangle: each block of four rows of C (rows 4q..4q+3) sums over the k range that
    /// block needs, so a row may include a few products with op(A)'s zeros, which change no sum of finite values.
    /// The blocks depend on the row index alone, so a column's result does not depend on the others.
    /// </summary>
#pragma warning disable CA1822 // an instance method like the IBlas ones
    public void Gemm(Shape shape, bool transA, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) => Run(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, shape);
#pragma warning restore CA1822

    private static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc, Shape shape = Shape.Full) where T : unmanaged, INumber<T>
    {
        Blas.CheckArgs(m, n, k, a.Length, lda, transA, b.Length, ldb, transB, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            for (var i = 0; i < m; i++)
            {
                var row = c.Slice(i * ldc, n);
                if (beta == T.Zero) row.Clear();
                else for (var jj = 0; jj < n; jj++) row[jj] = beta * row[jj];
            }
            return;
        }
        T[]? packed = null;
        try
        {
            if (transB)
            {
                // op(B) = Bᵀ: pack it as k x n rows so that the columns of C stay contiguous.
                packed = ArrayPool<T>.Shared.Rent(k * n);
                for (var kk = 0; kk < k; kk++)
                    for (var jj = 0; jj < n; jj++) packed[kk * n + jj] = b[jj * ldb + kk];
                b = packed.AsSpan(0, k * n);
                ldb = n;
            }
            // op(A)[i, kk] = a[i * rs + kk * ks]
            int rs = transA ? 1 : lda, ks = transA ? lda : 1;
            ref var a0 = ref MemoryMarshal.GetReference(a);
            ref var b0 = ref MemoryMarshal.GetReference(b);
            ref var c0 = ref MemoryMarshal.GetReference(c);
            var w = Vector<T>.Count;
            var mode = ModeOf(alpha, beta);
            // Column panels outside, rows inside: a panel of op(B) (k x 2w) stays in L1 while every row block uses it,
            // where whole rows of op(B) (k x n) would not. Each element is computed the same way in either order.
            var full = m - m % 4;
            var vectorColumns = n - n % w;
            var j = 0;
            for (; j + 2 * w <= vectorColumns; j += 2 * w)
                for (var i = 0; i < full; i += 4)
                {
                    var (lo, kn) = Range(shape, i, k);
                    Block4x2<T, Four>(ref a0, i * rs + lo * ks, rs, ks, ref Unsafe.Add(ref b0, lo * ldb), ldb, j, ref c0, i * ldc + j, ldc, kn, w, alpha, beta, mode);
                }
            for (; j < vectorColumns; j += w)
                for (var i = 0; i < full; i += 4)
                {
                    var (lo, kn) = Range(shape, i, k);
                    Block4x1(ref a0, i * rs + lo * ks, rs, ks, ref Unsafe.Add(ref b0, lo * ldb), ldb, j, ref c0, i * ldc + j, ldc, kn, alpha, beta, mode);
                }
            if (full < m)
            {
                // The last m % 4 rows (one block of Range's), across the columns with more accumulators per row: a row
                // on its own, one vector at a time, waits on its one chain of additions. The apply's 5 x 96 x 55 product
                // (four rows in a block, one left over) went from 38.6 to 55.9 GFLOP/s (docs/benchmarks.md).
                var (lo, kn) = Range(shape, full, k);
                var aAt = full * rs + lo * ks;
                ref var bLo = ref Unsafe.Add(ref b0, lo * ldb);
                var cAt = full * ldc;
                var rows = m - full;
                j = 0;
                if (rows == 3)
                    for (; j + 2 * w <= vectorColumns; j += 2 * w)
                        Block4x2<T, Three>(ref a0, aAt, rs, ks, ref bLo, ldb, j, ref c0, cAt + j, ldc, kn, w, alpha, beta, mode);
                else
                    for (; j + 4 * w <= vectorColumns; j += 4 * w)
                        if (rows == 2) Block2x4<T, Two>(ref a0, aAt, rs, ks, ref bLo, ldb, j, ref c0, cAt + j, ldc, kn, w, alpha, beta, mode);
                        else Block2x4<T, One>(ref a0, aAt, rs, ks, ref bLo, ldb, j, ref c0, cAt + j, ldc, kn, w, alpha, beta, mode);
                for (; j < vectorColumns; j += w)
                    for (var i = full; i < m; i++)
                        Block1(ref a0, i * rs + lo * ks, ks, ref bLo, ldb, j, ref c0, i * ldc + j, kn, alpha, beta, mode);
            }
            for (j = vectorColumns; j < n; j++)
                for (var i = 0; i < m; i++)
                {
                    var (lo, kn) = Range(shape, i, k);
                    Scalar(ref a0, i * rs + lo * ks, ks, ref Unsafe.Add(ref b0, lo * ldb), ldb, ref c0, i * ldc + j, j, kn, alpha, beta);
                }
        }
        finally
        {
            if (packed is not null) ArrayPool<T>.Shared.Return(packed);
        }
    }

    /// <summary>The first k and the count of k that row i's block (rows 4q..4q+3) sums over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int From, int Count) Range(Shape shape, int i, int k)
    {
        var first = i - i % 4;
        return shape switch
        {
            Shape.Upper => (Math.Min(first, k), k - Math.Min(first, k)),
            Shape.Lower => (0, Math.Min(first + 4, k)),
            _ => (0, k),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Store<T>(T sum, T alpha, T beta, T old) where T : unmanaged, INumber<T>
    {
        var v = alpha == T.One ? sum : alpha * sum;
        return beta == T.Zero ? v : v + beta * old;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Store<T>(Vector<T> sum, T alpha, T beta, Vector<T> old) where T : unmanaged, INumber<T>
    {
        var v = alpha == T.One ? sum : sum * alpha;
        return beta == T.Zero ? v : v + old * beta;
    }

    // The kernels below hold a reference to each row of op(A) and each vector column of B they use, and walk all of them
    // with two native-integer offsets: computed from kk on every step (32-bit multiplies and sign extensions), the
    // addresses took as many instructions as the arithmetic, and the loop ran at half the vector units' rate. The
    // references themselves never move (a reference advanced past the last element would point outside its array,
    // which the GC must not be shown); each load is one base + scaled offset. The sums are the same.

    /// <summary>
    /// The row count of a block kernel: a struct, so that the JIT compiles each count on its own and drops the code of
    /// the rows a count leaves out (<see cref="Block4x2{T, TRows}"/>: 4 or 3 rows; <see cref="Block2x4{T, TRows}"/>: 2 or 1).
    /// </summary>
    private interface IRows
    {
        static abstract int Count { get; }
    }

    private readonly struct Four : IRows
    {
        public static int Count => 4;
    }

    private readonly struct Three : IRows
    {
        public static int Count => 3;
    }

    private readonly struct Two : IRows
    {
        public static int Count => 2;
    }

    private readonly struct One : IRows
    {
        public static int Count => 1;
    }

    /// <summary>C[i..i+4, j..j+2w], or C[i..i+3, j..j+2w] for <see cref="Three"/> (cAt is the top left element's index).</summary>
    private static void Block4x2<T, TRows>(ref T a0, int aRow, int rs, int ks, ref T b0, int ldb, int j, ref T c0, int cAt, int ldc, int k, int w,
        T alpha, T beta, StoreMode mode) where T : unmanaged, INumber<T> where TRows : struct, IRows
    {
        Vector<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        ref var r0 = ref Unsafe.Add(ref a0, aRow);
        ref var r1 = ref Unsafe.Add(ref r0, rs);
        ref var r2 = ref Unsafe.Add(ref r1, rs);
        // Three rows: no reference to a fourth, which may lie past the end of op(A) (the GC must not be shown one).
        ref var r3 = ref TRows.Count == 4 ? ref Unsafe.Add(ref r2, rs) : ref r2;
        ref var bCol0 = ref Unsafe.Add(ref b0, j);
        ref var bCol1 = ref Unsafe.Add(ref bCol0, w);
        nint ao = 0, bo = 0, aStep = ks, bStep = ldb;
        for (var kk = 0; kk < k; kk++)
        {
            var v0 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol0, bo));
            var v1 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol1, bo));
            var x0 = new Vector<T>(Unsafe.Add(ref r0, ao));
            var x1 = new Vector<T>(Unsafe.Add(ref r1, ao));
            var x2 = new Vector<T>(Unsafe.Add(ref r2, ao));
            s00 += x0 * v0; s01 += x0 * v1;
            s10 += x1 * v0; s11 += x1 * v1;
            s20 += x2 * v0; s21 += x2 * v1;
            if (TRows.Count == 4)
            {
                var x3 = new Vector<T>(Unsafe.Add(ref r3, ao));
                s30 += x3 * v0; s31 += x3 * v1;
            }
            ao += aStep;
            bo += bStep;
        }
        StoreVector(ref c0, cAt, w, s00, s01, alpha, beta, mode);
        StoreVector(ref c0, cAt + ldc, w, s10, s11, alpha, beta, mode);
        StoreVector(ref c0, cAt + 2 * ldc, w, s20, s21, alpha, beta, mode);
        if (TRows.Count == 4) StoreVector(ref c0, cAt + 3 * ldc, w, s30, s31, alpha, beta, mode);
    }

    /// <summary>C[i..i+4, j..j+w].</summary>
    private static void Block4x1<T>(ref T a0, int aRow, int rs, int ks, ref T b0, int ldb, int j, ref T c0, int cAt, int ldc, int k,
        T alpha, T beta, StoreMode mode) where T : unmanaged, INumber<T>
    {
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
        ref var r0 = ref Unsafe.Add(ref a0, aRow);
        ref var r1 = ref Unsafe.Add(ref r0, rs);
        ref var r2 = ref Unsafe.Add(ref r1, rs);
        ref var r3 = ref Unsafe.Add(ref r2, rs);
        ref var bCol = ref Unsafe.Add(ref b0, j);
        nint ao = 0, bo = 0, aStep = ks, bStep = ldb;
        for (var kk = 0; kk < k; kk++)
        {
            var v = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol, bo));
            s0 += new Vector<T>(Unsafe.Add(ref r0, ao)) * v;
            s1 += new Vector<T>(Unsafe.Add(ref r1, ao)) * v;
            s2 += new Vector<T>(Unsafe.Add(ref r2, ao)) * v;
            s3 += new Vector<T>(Unsafe.Add(ref r3, ao)) * v;
            ao += aStep;
            bo += bStep;
        }
        StoreVector(ref c0, cAt, s0, alpha, beta, mode);
        StoreVector(ref c0, cAt + ldc, s1, alpha, beta, mode);
        StoreVector(ref c0, cAt + 2 * ldc, s2, alpha, beta, mode);
        StoreVector(ref c0, cAt + 3 * ldc, s3, alpha, beta, mode);
    }

    /// <summary>C[i..i+2, j..j+4w], or C[i, j..j+4w] for <see cref="One"/>: the rows left over by the 4-row blocks when they are two or one.</summary>
    private static void Block2x4<T, TRows>(ref T a0, int aRow, int rs, int ks, ref T b0, int ldb, int j, ref T c0, int cAt, int ldc, int k, int w,
        T alpha, T beta, StoreMode mode) where T : unmanaged, INumber<T> where TRows : struct, IRows
    {
        Vector<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        ref var r0 = ref Unsafe.Add(ref a0, aRow);
        // One row: no reference to a second, which may lie past the end of op(A).
        ref var r1 = ref TRows.Count == 2 ? ref Unsafe.Add(ref r0, rs) : ref r0;
        ref var bCol0 = ref Unsafe.Add(ref b0, j);
        ref var bCol1 = ref Unsafe.Add(ref bCol0, w);
        ref var bCol2 = ref Unsafe.Add(ref bCol1, w);
        ref var bCol3 = ref Unsafe.Add(ref bCol2, w);
        nint ao = 0, bo = 0, aStep = ks, bStep = ldb;
        for (var kk = 0; kk < k; kk++)
        {
            var v0 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol0, bo));
            var v1 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol1, bo));
            var v2 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol2, bo));
            var v3 = Vector.LoadUnsafe(ref Unsafe.Add(ref bCol3, bo));
            var x0 = new Vector<T>(Unsafe.Add(ref r0, ao));
            s00 += x0 * v0; s01 += x0 * v1; s02 += x0 * v2; s03 += x0 * v3;
            if (TRows.Count == 2)
            {
                var x1 = new Vector<T>(Unsafe.Add(ref r1, ao));
                s10 += x1 * v0; s11 += x1 * v1; s12 += x1 * v2; s13 += x1 * v3;
            }
            ao += aStep;
            bo += bStep;
        }
        StoreVector(ref c0, cAt, w, s00, s01, alpha, beta, mode);
        StoreVector(ref c0, cAt + 2 * w, w, s02, s03, alpha, beta, mode);
        if (TRows.Count == 2)
        {
            StoreVector(ref c0, cAt + ldc, w, s10, s11, alpha, beta, mode);
            StoreVector(ref c0, cAt + ldc + 2 * w, w, s12, s13, alpha, beta, mode);
        }
    }

    /// <summary>C[i, j..j+w].</summary>
    private static void Block1<T>(ref T a0, int aRow, int ks, ref T b0, int ldb, int j, ref T c0, int cAt, int k, T alpha, T beta, StoreMode mode)
        where T : unmanaged, INumber<T>
    {
        Vector<T> s = default;
        ref var r0 = ref Unsafe.Add(ref a0, aRow);
        ref var bCol = ref Unsafe.Add(ref b0, j);
        nint ao = 0, bo = 0, aStep = ks, bStep = ldb;
        for (var kk = 0; kk < k; kk++)
        {
            s += new Vector<T>(Unsafe.Add(ref r0, ao)) * Vector.LoadUnsafe(ref Unsafe.Add(ref bCol, bo));
            ao += aStep;
            bo += bStep;
        }
        StoreVector(ref c0, cAt, s, alpha, beta, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scalar<T>(ref T a0, int aRow, int ks, ref T b0, int ldb, ref T c0, int ci, int j, int k, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        var s = T.Zero;
        for (var kk = 0; kk < k; kk++) s += Unsafe.Add(ref a0, aRow + kk * ks) * Unsafe.Add(ref b0, kk * ldb + j);
        ref var dst = ref Unsafe.Add(ref c0, ci);
        dst = Store(s, alpha, beta, dst);
    }

    /// <summary>
    /// How a block's sums reach C, decided once per call: the two common cases (C = s, C = s + C) skip the scalings
    /// by 1, whose products are exact, so every case stores the same bits as <see cref="Store{T}(T, T, T, T)"/>.
    /// </summary>
    private enum StoreMode
    {
        General,
        Set,
        Add,
    }

    private static StoreMode ModeOf<T>(T alpha, T beta) where T : unmanaged, INumber<T> =>
        alpha != T.One ? StoreMode.General : beta == T.Zero ? StoreMode.Set : beta == T.One ? StoreMode.Add : StoreMode.General;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<T>(ref T c0, int at, Vector<T> s, T alpha, T beta, StoreMode mode) where T : unmanaged, INumber<T>
    {
        ref var dst = ref Unsafe.Add(ref c0, at);
        if (mode == StoreMode.Add) (s + Vector.LoadUnsafe(ref dst)).StoreUnsafe(ref dst);
        else if (mode == StoreMode.Set) s.StoreUnsafe(ref dst);
        else Store(s, alpha, beta, Vector.LoadUnsafe(ref dst)).StoreUnsafe(ref dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<T>(ref T c0, int at, int w, Vector<T> s0, Vector<T> s1, T alpha, T beta, StoreMode mode) where T : unmanaged, INumber<T>
    {
        StoreVector(ref c0, at, s0, alpha, beta, mode);
        StoreVector(ref c0, at + w, s1, alpha, beta, mode);
    }
}
