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
        foreach (var backend in new[] { "openblas", "managed" })
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
}
