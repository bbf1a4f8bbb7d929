using System.Numerics;
using System.Runtime.InteropServices;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Tests.LinearAlgebra;

public class BlasTests
{
    private static double[] Naive(bool ta, bool tb, int m, int n, int k, double alpha, double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc)
    {
        var r = (double[])c.Clone();
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double s = 0;
                for (var p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                r[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
            }
        return r;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gemm_AllTransposesAndOddSizes_MatchesNaiveProduct(string backend, bool ta, bool tb, int m, int n, int k)
    {
        var blas = Backends.Get(backend);
        var rng = new Rng(m * 1000 + n * 10 + k);
        int lda = ta ? m : k, ldb = tb ? k : n;
        var a = Enumerable.Range(0, (ta ? k : m) * lda).Select(_ => rng.NextGaussian()).ToArray();
        var b = Enumerable.Range(0, (tb ? n : k) * ldb).Select(_ => rng.NextGaussian()).ToArray();
        var c = Enumerable.Range(0, m * n).Select(_ => rng.NextGaussian()).ToArray();
        var expected = Naive(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, c, n);

        var cd = (double[])c.Clone();
        blas.Gemm(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, cd, n);
        for (var i = 0; i < cd.Length; i++) Assert.Equal(expected[i], cd[i], 1e-10);

        var cf = Array.ConvertAll(c, v => (float)v);
        blas.Gemm(ta, tb, m, n, k, 0.7f, Array.ConvertAll(a, v => (float)v), lda, Array.ConvertAll(b, v => (float)v), ldb, 0.3f, cf, n);
        for (var i = 0; i < cf.Length; i++) Assert.Equal(expected[i], cf[i], 1e-3 * Math.Sqrt(k));
    }

    public static TheoryData<string, bool, bool, int, int, int> Cases()
    {
        var d = new TheoryData<string, bool, bool, int, int, int>();
        foreach (var backend in new[] { "openblas", "managed", "reproducible" })
            foreach (var ta in new[] { false, true })
                foreach (var tb in new[] { false, true })
                    foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 17, 5), (33, 7, 64), (5, 129, 224) })
                        d.Add(backend, ta, tb, m, n, k);
        return d;
    }

    [Fact]
    public void Gemm_BufferTooSmall_Throws()
    {
        Assert.Throws<ArgumentException>(() => new ManagedBlas().Gemm(false, false, 2, 2, 2, 1.0, new double[3], 2, new double[4], 2, 0.0, new double[4], 2));
        Assert.Throws<ArgumentException>(() => Backends.OpenBlasOrFail().Gemm(false, false, 2, 2, 2, 1f, new float[4], 2, new float[4], 2, 0f, new float[3], 2));
    }

    [Fact]
    public void Default_IsTheSystemOpenBlas_WhenItIsInstalled()
    {
        // The set-up installs libopenblas0: the resolver must find it, or every product silently falls back to the managed GEMM.
        Assert.IsType<OpenBlas>(Blas.Default);
        Assert.Contains("libopenblas", Blas.Default.Name);
    }

    /// <summary>The fixed order the reproducible kernel promises: ((0 + a0 b0) + a1 b1) + ..., then α s + β c.</summary>
    private static T FixedOrder<T>(Func<int, T> a, Func<int, T> b, int k, T alpha, T beta, T c) where T : INumber<T>
    {
        var s = T.Zero;
        for (var p = 0; p < k; p++) s += a(p) * b(p);
        var v = alpha == T.One ? s : alpha * s;
        return beta == T.Zero ? v : v + beta * c;
    }

    private delegate void GemmCall<T>(bool ta, bool tb, int m, int n, int k, T alpha, T[] a, int lda, T[] b, int ldb, T beta, T[] c, int ldc);

    [Trait("Category", "Determinism")]
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Reproducible_EveryElement_IsTheFixedOrderSum_BitForBit(bool ta, bool tb)
    {
        // float: the deep apply's products; double: MESMA's (S spectra x pixels x bands), whose spectrum counts leave
        // the same remainders by 4 and whose vectors hold 4 lanes instead of 8.
        FixedOrderBitForBit<float>(ta, tb, (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => ReproducibleBlas.Instance.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
        FixedOrderBitForBit<double>(ta, tb, (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => ReproducibleBlas.Instance.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    }

    private static void FixedOrderBitForBit<T>(bool ta, bool tb, GemmCall<T> gemm) where T : unmanaged, INumber<T>
    {
        // Bit-for-bit equality with a scalar loop holds only if vector lanes, column tails and row tails (the blocks of
        // the rows left over by the 4-row blocks: 1, 2 and 3, with columns for their wide blocks) all compute the same
        // sequence of rounded operations (no fused multiply-add, no reordering).
        var rng = new Rng(7);
        T Draw() => T.CreateChecked(rng.NextGaussian());
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 3, 9), (5, 37, 50), (9, 1029, 198), (4, 16, 0), (13, 128, 224), (8, 16, 16), (6, 100, 30), (7, 96, 55), (11, 67, 12), (2, 40, 5), (3, 33, 4) })
            foreach (var (alpha, beta) in new[] { (1.0, 0.0), (2.0, 1.0), (0.37, -1.3) })
            {
                T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);
                int lda = ta ? m : k, ldb = tb ? k : n;
                var a = Enumerable.Range(0, (ta ? Math.Max(k, 1) : m) * Math.Max(lda, 1)).Select(_ => Draw()).ToArray();
                var b = Enumerable.Range(0, (tb ? n : Math.Max(k, 1)) * Math.Max(ldb, 1)).Select(_ => Draw()).ToArray();
                var c = Enumerable.Range(0, m * n).Select(_ => Draw()).ToArray();
                var got = (T[])c.Clone();
                gemm(ta, tb, m, n, k, al, a, Math.Max(lda, 1), b, Math.Max(ldb, 1), be, got, n);
                for (var i = 0; i < m; i++)
                    for (var j = 0; j < n; j++)
                    {
                        int ii = i, jj = j;
                        var expected = FixedOrder(p => ta ? a[p * lda + ii] : a[ii * lda + p], p => tb ? b[jj * ldb + p] : b[p * ldb + jj], k, al, be, c[i * n + j]);
                        Assert.True(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref expected)).SequenceEqual(MemoryMarshal.AsBytes(got.AsSpan(i * n + j, 1))),
                            $"{typeof(T).Name} {m}x{n}x{k} element ({i},{j}): {expected} vs {got[i * n + j]}");
                    }
            }
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void Reproducible_AColumnsValue_DoesNotDependOnTheColumnsBesideIt()
    {
        // One column (a pixel) computed inside products of 1, 13, 1024 and 1031 columns at every position: same bits.
        var rng = new Rng(3);
        const int m = 50, k = 198;
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextGaussian()).ToArray();
        var x = Enumerable.Range(0, k).Select(_ => (float)rng.NextGaussian()).ToArray();
        float[]? reference = null;
        foreach (var n in new[] { 1, 13, 1024, 1031 })
            foreach (var at in new[] { 0, n / 2, n - 1 })
            {
                var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextGaussian()).ToArray();
                for (var p = 0; p < k; p++) b[p * n + at] = x[p];
                var c = new float[m * n];
                ReproducibleBlas.Instance.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
                var col = Enumerable.Range(0, m).Select(i => c[i * n + at]).ToArray();
                reference ??= col;
                Assert.Equal(reference, col);
            }
    }
    [Trait("Category", "Determinism")]
    [Theory]
    [InlineData(nameof(ReproducibleBlas.Shape.Upper), false)]
    [InlineData(nameof(ReproducibleBlas.Shape.Upper), true)]
    [InlineData(nameof(ReproducibleBlas.Shape.Lower), false)]
    [InlineData(nameof(ReproducibleBlas.Shape.Lower), true)]
    public void Reproducible_TriangularShape_SkipsOnlyZeros_BitForBit(string shapeName, bool ta)
    {
        var shape = Enum.Parse<ReproducibleBlas.Shape>(shapeName);
        // With op(A)'s other triangle zero, the shaped product must give the full product's bits: it only leaves out
        // products with zeros. Rows and columns around the 4-row blocks and the vector width, and trapezoids.
        var rng = new Rng(11);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 5, 3), (7, 17, 7), (9, 33, 9), (13, 40, 9), (6, 19, 14), (50, 96, 55) })
        {
            int lda = ta ? m : k;
            var a = new float[(ta ? k : m) * lda];
            for (var i = 0; i < m; i++)
                for (var kk = 0; kk < k; kk++)
                {
                    var zero = shape == ReproducibleBlas.Shape.Upper ? kk < i : kk > i;
                    a[ta ? kk * lda + i : i * lda + kk] = zero ? 0f : (float)rng.NextGaussian();
                }
            var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextGaussian()).ToArray();
            var c = Enumerable.Range(0, m * n).Select(_ => (float)rng.NextGaussian()).ToArray();
            var full = (float[])c.Clone();
            var shaped = (float[])c.Clone();
            ReproducibleBlas.Instance.Gemm(ta, false, m, n, k, 0.5f, a, lda, b, n, 1f, full, n);
            ReproducibleBlas.Instance.Gemm(shape, ta, m, n, k, 0.5f, a, lda, b, n, 1f, shaped, n);
            for (var i = 0; i < full.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(full[i]) == BitConverter.SingleToInt32Bits(shaped[i]), $"{shape} {m}x{n}x{k} element {i}: {full[i]:R} vs {shaped[i]:R}");
        }
    }
}
