using System.Reflection;
using System.Runtime.InteropServices;

namespace HyperUnmix.Geo.Unmixing.LinearAlgebra;

/// <summary>
/// Dense matrix products, row-major: C = alpha op(A) op(B) + beta C, with op(X) = X or Xᵀ; op(A) is m x k,
/// op(B) is k x n, C is m x n; lda/ldb/ldc are the row strides of the matrices as stored.
/// </summary>
internal interface IBlas
{
    /// <summary>"OpenBLAS 0.3.21 (libopenblas.so.0)" or "managed (System.Numerics.Vector)".</summary>
    string Name { get; }

    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);

    void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc);
}

/// <summary>Chooses the back-end: the system OpenBLAS when it loads, else the managed one.</summary>
internal static class Blas
{
    /// <summary>Environment variable: "managed" forces the managed back-end; a path names the OpenBLAS library.</summary>
    public const string Variable = "HYPERUNMIX_BLAS";

    private static readonly Lazy<IBlas> Lazy = new(() =>
        Environment.GetEnvironmentVariable(Variable) == "managed" ? new ManagedBlas() : (IBlas?)OpenBlas.TryLoad() ?? new ManagedBlas());

    /// <summary>The back-end in use for this process.</summary>
    public static IBlas Default => Lazy.Value;

    internal static void CheckArgs(int m, int n, int k, int aLen, int lda, bool transA, int bLen, int ldb, bool transB, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"negative size {m}x{n}x{k}");
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        if (m == 0 || n == 0) return;
        if (lda < Math.Max(1, aCols) || (k > 0 && aLen < (long)(aRows - 1) * lda + aCols)) throw new ArgumentException($"A is too small for {aRows}x{aCols} with lda {lda}");
        if (ldb < Math.Max(1, bCols) || (k > 0 && bLen < (long)(bRows - 1) * ldb + bCols)) throw new ArgumentException($"B is too small for {bRows}x{bCols} with ldb {ldb}");
        if (ldc < n || cLen < (long)(m - 1) * ldc + n) throw new ArgumentException($"C is too small for {m}x{n} with ldc {ldc}");
    }
}

/// <summary>The system OpenBLAS (Debian: libopenblas0) through its CBLAS interface.</summary>
internal sealed unsafe partial class OpenBlas : IBlas
{
    private const string Lib = "openblas";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private static string? _loaded;

    private OpenBlas(string name) => Name = name;

    public string Name { get; }

    /// <summary>Loads OpenBLAS, or returns null when it is not installed.</summary>
    public static OpenBlas? TryLoad()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(OpenBlas).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set for this assembly (TryLoad called twice); it is ours.
        }
        try
        {
            var config = Marshal.PtrToStringUTF8(openblas_get_config()) ?? "";
            // One thread per call, whatever the machine: OpenBLAS's results change in the last bits with its thread
            // count (the same scene gave other endmembers with 1 and 2 threads), so a machine's core count would
            // change a run's endmembers and model; and the products computed once per scene (extraction, fit) are
            // too thin for threads to pay: on the 2-core development machine its second thread spent a third of the
            // run yielding, and endmembers + fit of a 1000 x 1000 x 224 default run took 15-20% longer with it.
            openblas_set_num_threads(1);
            return new OpenBlas($"OpenBLAS ({config.Trim()}; {_loaded}; {openblas_get_num_threads()} thread per call)");
        }
        catch (DllNotFoundException) { return null; }
        catch (EntryPointNotFoundException) { return null; }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return 0;
        var configured = Environment.GetEnvironmentVariable(Blas.Variable);
        string[] candidates = string.IsNullOrEmpty(configured) || configured == "managed"
            ? ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll"]
            : [configured];
        foreach (var c in candidates)
            if (NativeLibrary.TryLoad(c, out var h)) { _loaded = c; return h; }
        return 0;
    }

    /// <summary>Sets OpenBLAS's own thread count (it is process-wide; the library sets 1 when it loads OpenBLAS).</summary>
    public static void SetThreads(int n) => openblas_set_num_threads(n);

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Blas.CheckArgs(m, n, k, a.Length, lda, transA, b.Length, ldb, transB, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
            cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        Blas.CheckArgs(m, n, k, a.Length, lda, transA, b.Length, ldb, transB, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (double* pa = a, pb = b, pc = c)
            cblas_dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    [LibraryImport(Lib)]
    private static partial void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib)]
    private static partial void cblas_dgemm(int order, int transA, int transB, int m, int n, int k, double alpha, double* a, int lda,
        double* b, int ldb, double beta, double* c, int ldc);

    [LibraryImport(Lib)] private static partial nint openblas_get_config();
    [LibraryImport(Lib)] private static partial int openblas_get_num_threads();
    [LibraryImport(Lib)] private static partial void openblas_set_num_threads(int n);
}
