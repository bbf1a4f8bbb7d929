using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Unmixing.Solvers;

/// <summary>
/// How each pixel's overall brightness (illumination, shading, slope) is separated from its composition. One
/// vocabulary everywhere: the member names, lower-cased, are the command line's <c>--normalize</c> values and the
/// model file's <c>pixel_scale</c> (<see cref="PixelScales"/>).
/// </summary>
public enum PixelScale
{
    /// <summary>None: the linear mixing model as it is, y ≈ E a.</summary>
    None,
    /// <summary>
    /// The scaled (extended) mixing model y ≈ s E a with a per-pixel scale s ≥ 0: for FCLS, min over a on the
    /// simplex and s ≥ 0 of ‖y − s E a‖, which is NNLS (b = s a ≥ 0) followed by a = b / Σb. The endmembers keep
    /// their scale, so abundances stay fractions of the endmembers as given (dark materials are not inflated).
    /// </summary>
    Scale,
    /// <summary>Unit-length pixels: solve for y / ‖y‖ (give unit-length endmembers); the residual is scaled back by ‖y‖.</summary>
    L2,
}

/// <summary>The one name of each <see cref="PixelScale"/>: scale, l2, none.</summary>
public static class PixelScales
{
    /// <summary>Every value's name, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Enum.GetValues<PixelScale>().Select(Name)];

    /// <summary>The value's name: its member name in lower case.</summary>
    public static string Name(PixelScale s) => s.ToString().ToLowerInvariant();

    /// <summary>The value named <paramref name="name"/> (any case), or null when there is none.</summary>
    public static PixelScale? Parse(string? name) =>
        Enum.GetValues<PixelScale>().Cast<PixelScale?>().FirstOrDefault(v => string.Equals(Name(v!.Value), name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>Abundance estimators for a fixed endmember set.</summary>
public enum LinearMethod
{
    /// <summary>Unconstrained least squares.</summary>
    Ucls,
    /// <summary>Sum-to-one constrained least squares.</summary>
    Scls,
    /// <summary>Non-negative least squares.</summary>
    Nnls,
    /// <summary>Fully constrained least squares (non-negative and sum-to-one).</summary>
    Fcls,
}

/// <summary>
/// Solves pixels with a fixed endmember set in one pass over each pixel's spectrum. With E = QR (thin QR, Q
/// orthonormal L x P), the pass forms c = Qᵀy and ‖y‖² together, in double from the float32 samples; each pixel's
/// exact small solve (closed form for UCLS/SCLS, active set for NNLS/FCLS) then runs on the prepared EᵀE with
/// b = Eᵀy = Rᵀc, and its residual follows without reconstructing Ea:
/// ‖y − Ex‖² = (‖y‖² − ‖c‖²) + ‖c − Rx‖² (the part of y outside E's span, plus the misfit inside it, each computed
/// directly instead of as differences of large terms). Every pixel's sums run in one fixed order (explicit
/// 4-lane double vectors, separate multiply and add, lanes added in a fixed order), so a pixel's result depends
/// on the pixel alone: not on its neighbours, the tile or chunk size, the thread, the CPU or the BLAS library.
/// Thread-safe: instances hold no mutable state; scratch comes from the caller's <see cref="TileScratch"/>.
/// </summary>
public sealed class AbundanceSolver
{
    /// <summary>Qᵀ, P rows of <see cref="_stride"/> doubles (the bands, then zeros).</summary>
    private readonly double[] _qt;
    /// <summary>R, P x P row-major upper triangular.</summary>
    private readonly double[] _r;
    /// <summary>The band count rounded up to a multiple of 8 (two 4-lane vectors per step).</summary>
    private readonly int _stride;
    /// <summary>max |EᵀE|.</summary>
    private readonly double _gramMax;

    /// <summary>Prepares the solver for <paramref name="endmembers"/> (their thin QR), the estimator and how pixel brightness is handled.</summary>
    public AbundanceSolver(EndmemberSet endmembers, LinearMethod method, PixelScale scale = PixelScale.None)
    {
        Endmembers = endmembers;
        Method = method;
        Scale = scale;
        int l = endmembers.Bands, p = endmembers.Count;
        _stride = (l + 7) / 8 * 8;
        _gramMax = endmembers.Gram.Max(Math.Abs);
        var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(l, p, (i, j) => endmembers.E[i * p + j]);
        var qr = m.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin);
        _qt = new double[p * _stride];
        _r = new double[p * p];
        for (var j = 0; j < p; j++)
        {
            for (var i = 0; i < l; i++) _qt[j * _stride + i] = qr.Q[i, j];
            for (var k = j; k < p; k++) _r[j * p + k] = qr.R[j, k];
        }
    }

    /// <summary>The endmember set pixels are unmixed with.</summary>
    public EndmemberSet Endmembers { get; }
    /// <summary>The abundance estimator (UCLS, SCLS, NNLS or FCLS).</summary>
    public LinearMethod Method { get; }
    /// <summary>How each pixel's brightness is separated from its composition.</summary>
    public PixelScale Scale { get; }

    /// <summary>
    /// Unmixes a band-sequential tile (<see cref="TileBuffers.Y"/> is L x N) into the abundances (P x N at the
    /// buffers' stride) and per-pixel residual RMSE (N). Pixels that are not valid get the nodata value everywhere.
    /// Pixels are turned into spectra a small chunk at a time and solved by <see cref="SolvePixels"/>: the results are
    /// those of the pixel-interleaved path, bit for bit.
    /// </summary>
    /// <returns>The total number of active-set iterations (a cost indicator).</returns>
    public long SolveTile(in TileBuffers t, TileScratch scratch)
    {
        int l = Endmembers.Bands, p = Endmembers.Count, n = t.Pixels;
        var stride = t.AbundanceStride;
        var y = t.Y;
        if (y.Length < l * n) throw new ArgumentException($"tile holds {y.Length} samples, expected {l}x{n}");
        if (stride < n || t.Abundances.Length < (p - 1) * stride + n || t.Residual.Length < n) throw new ArgumentException("output buffers are too small");
        scratch.Ensure(l, p);
        var chunk = scratch.Spectra;
        long iterations = 0;
        for (var start = 0; start < n; start += TileScratch.ChunkPixels)
        {
            var m = Math.Min(TileScratch.ChunkPixels, n - start);
            ToSpectra(y, n, start, m, l, chunk);
            iterations += SolvePixels(t.Part(start, m, chunk.AsSpan(0, m * l)), scratch);
        }
        return iterations;
    }

    /// <summary>
    /// Pixels start..start+m of a band-sequential tile (L x n) as spectra, pixel after pixel (m x L). Eight bands by
    /// eight pixels at a time where AVX is there (eight rows loaded, transposed in registers, eight spectra's pieces
    /// stored): written band by band, each band was a store to a different cache line for each of the chunk's 64
    /// spectra. A copy: the same floats either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ToSpectra(ReadOnlySpan<float> y, int n, int start, int m, int l, Span<float> chunk)
    {
        // The blocks below read and write through unchecked references: the spans must hold what they touch.
        if (m < 0 || start < 0 || start + m > n || (long)(l - 1) * n + start + m > y.Length || (long)m * l > chunk.Length)
            throw new ArgumentException($"pixels {start}..{start + m} of a {l} x {n} tile ({y.Length} samples) into {chunk.Length} floats");
        int bands8 = 0, pixels8 = 0;
        if (Avx.IsSupported)
        {
            (bands8, pixels8) = (l / 8 * 8, m / 8 * 8);
            ref var src = ref MemoryMarshal.GetReference(y);
            ref var dst = ref MemoryMarshal.GetReference(chunk);
            for (var b = 0; b < bands8; b += 8)
                for (var k = 0; k < pixels8; k += 8)
                    Transpose8(ref Unsafe.Add(ref src, b * n + start + k), n, ref Unsafe.Add(ref dst, k * l + b), l);
        }
        // What the blocks left: the last bands of every pixel, the last pixels' bands (all of them without AVX).
        for (var band = 0; band < l; band++)
        {
            var row = y.Slice(band * n + start, m);
            for (var k = band < bands8 ? pixels8 : 0; k < m; k++) chunk[k * l + band] = row[k];
        }
    }

    /// <summary>Eight rows of eight floats (<paramref name="rowStride"/> apart) stored as eight columns (<paramref name="columnStride"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref float from, int rowStride, ref float to, int columnStride)
    {
        var r0 = Vector256.LoadUnsafe(ref from);
        var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, rowStride));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 2 * rowStride));
        var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 3 * rowStride));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 4 * rowStride));
        var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 5 * rowStride));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 6 * rowStride));
        var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 7 * rowStride));
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, columnStride));
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 2 * columnStride));
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 3 * columnStride));
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 4 * columnStride));
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 5 * columnStride));
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 6 * columnStride));
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 7 * columnStride));
    }

    /// <summary>
    /// Unmixes pixel-interleaved spectra (<see cref="TileBuffers.Y"/> is N x L) into abundances[j * stride + k] and
    /// residual[k] (RMSE over the bands). Pixels that are not valid get the nodata value.
    /// </summary>
    /// <returns>The total number of active-set iterations.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long SolvePixels(in TileBuffers t, TileScratch scratch)
    {
        int l = Endmembers.Bands, p = Endmembers.Count, pixels = t.Pixels, abundanceStride = t.AbundanceStride;
        ReadOnlySpan<float> spectra = t.Y;
        ReadOnlySpan<byte> valid = t.Valid;
        Span<float> abundances = t.Abundances, residual = t.Residual, pixelScale = t.Scales;
        var noData = t.NoData;
        if (spectra.Length < l * pixels) throw new ArgumentException($"{spectra.Length} samples for {pixels} spectra of {l} bands");
        if (abundanceStride < pixels || abundances.Length < (p - 1) * abundanceStride + pixels || residual.Length < pixels)
            throw new ArgumentException("output buffers are too small");
        scratch.Ensure(l, p);
        Span<double> c = stackalloc double[p];
        Span<double> b = stackalloc double[p];
        Span<double> x = stackalloc double[p];
        var work = scratch.ActiveSet;
        var ys = scratch.Spectrum;
        // The padding stays zero (a scratch used before with more bands holds old samples there).
        ys.AsSpan(l).Clear();
        var gram = Endmembers.Gram;
        // FCLS on the scaled model: the NNLS solution b = s a, normalised by its sum s.
        var scaled = Scale == PixelScale.Scale && Method == LinearMethod.Fcls;
        long iterations = 0;
        for (var k = 0; k < pixels; k++)
        {
            if (valid[k] == 0)
            {
                for (var j = 0; j < p; j++) abundances[j * abundanceStride + k] = noData;
                residual[k] = noData;
                if (!pixelScale.IsEmpty) pixelScale[k] = 0;
                continue;
            }
            var yy = Project(spectra.Slice(k * l, l), ys, c);
            // b = Eᵀy = Rᵀc.
            for (var j = 0; j < p; j++)
            {
                double sum = 0;
                for (var i = 0; i <= j; i++) sum += _r[i * p + j] * c[i];
                b[j] = sum;
            }
            var length = 1.0;
            if (Scale == PixelScale.L2)
            {
                // Unit-length pixel: its b is b / ‖y‖.
                length = Math.Sqrt(yy);
                for (var j = 0; j < p; j++) b[j] = length > 0 ? b[j] / length : 0;
            }
            switch (Method)
            {
                case LinearMethod.Ucls:
                    MultiplyGramInverse(b, x);
                    break;
                case LinearMethod.Scls:
                    SolveScls(b, x);
                    break;
                case LinearMethod.Nnls:
                case LinearMethod.Fcls when Scale == PixelScale.Scale:
                    // The scaled model: NNLS gives b = s a; its sum is the pixel's scale.
                    if (!TryInterior(b, false, x, out var tried)) iterations += ActiveSet.Solve(gram, b, false, x, work, warm: tried);
                    break;
                default:
                    if (!TryInterior(b, true, x, out var computed)) iterations += ActiveSet.Solve(gram, b, true, x, work, warm: computed);
                    break;
            }
            // The fit in data units: x for the pixel as it is, ‖y‖ x for a unit-length pixel.
            var fit = Scale == PixelScale.L2 ? length : 1.0;
            double inside = 0;
            for (var i = 0; i < p; i++)
            {
                var rx = 0.0;
                for (var j = i; j < p; j++) rx += _r[i * p + j] * (x[j] * fit);
                var d = c[i] - rx;
                inside += d * d;
            }
            double cc = 0;
            for (var i = 0; i < p; i++) cc += c[i] * c[i];
            // The part of y outside E's span: ‖y‖² − ‖c‖² ≥ 0 in exact arithmetic; rounding may leave it slightly negative.
            var rms = Math.Sqrt((Math.Max(yy - cc, 0) + inside) / l);
            double sumX = 1;
            if (scaled)
            {
                sumX = 0;
                for (var j = 0; j < p; j++) sumX += x[j];
            }
            if (scaled && !(sumX > 0))
            {
                // A pixel of zero scale (black, or no endmember fits it at all): composition undefined; say so evenly.
                for (var j = 0; j < p; j++) abundances[j * abundanceStride + k] = 1f / p;
                sumX = 0;
            }
            else
                for (var j = 0; j < p; j++) abundances[j * abundanceStride + k] = ToFloat(x[j] / sumX);
            residual[k] = ToFloat(rms);
            // The pixel's scale: Σb for the scaled model, ‖y‖ for unit-length pixels, 1 otherwise.
            if (!pixelScale.IsEmpty) pixelScale[k] = ToFloat(Scale == PixelScale.L2 ? length : sumX);
        }
        return iterations;
    }

    /// <summary>
    /// The pass over one spectrum: widens it to double into <paramref name="ys"/> (zeros after the last band), then
    /// c = Qᵀy and returns ‖y‖². Each sum runs over two 4-lane vectors (lane i of vector h sums the bands ≡ 4h + i
    /// mod 8 in increasing order), then adds the lanes in a fixed order. Multiplies and adds are separate operations
    /// (never fused): the result is the same on every CPU, with or without AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Project(ReadOnlySpan<float> y, double[] ys, Span<double> c)
    {
        var l = y.Length;
        var i = 0;
        for (; i + 8 <= l; i += 8)
        {
            var v = Vector256.Create(y.Slice(i, 8));
            Vector256.WidenLower(v).CopyTo(ys, i);
            Vector256.WidenUpper(v).CopyTo(ys, i + 4);
        }
        for (; i < l; i++) ys[i] = y[i];
        // Rows of the pass: the spectrum itself (for ‖y‖²), then Q's columns; two rows per sweep share the loads of y.
        ref var yRef = ref MemoryMarshal.GetArrayDataReference(ys);
        ref var qRef = ref MemoryMarshal.GetArrayDataReference(_qt);
        var rows = c.Length + 1;
        double yy = 0;
        for (var row = 0; row < rows; row += 2)
        {
            ref var aRef = ref row == 0 ? ref yRef : ref Unsafe.Add(ref qRef, (row - 1) * _stride);
            var pair = row + 1 < rows;
            ref var bRef = ref Unsafe.Add(ref qRef, pair ? row * _stride : 0);
            Vector256<double> a0 = Vector256<double>.Zero, a1 = a0, b0 = a0, b1 = a0;
            for (nuint k = 0; k < (nuint)_stride; k += 8)
            {
                var y0 = Vector256.LoadUnsafe(ref yRef, k);
                var y1 = Vector256.LoadUnsafe(ref yRef, k + 4);
                a0 = Vector256.Add(a0, Vector256.Multiply(y0, Vector256.LoadUnsafe(ref aRef, k)));
                a1 = Vector256.Add(a1, Vector256.Multiply(y1, Vector256.LoadUnsafe(ref aRef, k + 4)));
                b0 = Vector256.Add(b0, Vector256.Multiply(y0, Vector256.LoadUnsafe(ref bRef, k)));
                b1 = Vector256.Add(b1, Vector256.Multiply(y1, Vector256.LoadUnsafe(ref bRef, k + 4)));
            }
            var first = Reduce(a0, a1);
            if (row == 0) yy = first;
            else c[row - 1] = first;
            if (pair) c[row] = Reduce(b0, b1);
        }
        return yy;
    }

    private static double Reduce(Vector256<double> s0, Vector256<double> s1)
    {
        var s = Vector256.Add(s0, s1);
        return (s.GetElement(0) + s.GetElement(1)) + (s.GetElement(2) + s.GetElement(3));
    }

    /// <summary>
    /// Saturates at float32's range: unconstrained abundances of a pixel near float's maximum (byte-swapped data)
    /// can exceed it, and a finite pixel must not get an infinite result.
    /// </summary>
    private static float ToFloat(double v) => (float)Math.Clamp(v, -float.MaxValue, float.MaxValue);

    /// <summary>
    /// Most pixels' constrained optimum has every abundance positive: then it is the equality-constrained one (SCLS
    /// for FCLS, UCLS for NNLS), which satisfies the KKT conditions with every bound inactive, and the closed form
    /// on the prepared G⁻¹ gives it without the active-set iterations. Returns false (x undefined) when a component
    /// is not positive. For FCLS b is first shifted, in place, by its largest entry (the same optimum under
    /// 1ᵀa = 1, for this closed form and for the active set after it) and the closed form is only used while the
    /// shifted b stays within the range interior optima have (|b| ≤ 2|G| at one; here 16 P max|G|), so it never
    /// computes a small answer as the difference of huge terms. <paramref name="computed"/>: x holds the
    /// equality-constrained solution (the active set's warm start) even where it is not the answer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryInterior(Span<double> b, bool sumToOne, Span<double> x, out bool computed)
    {
        var p = x.Length;
        computed = false;
        if (sumToOne)
        {
            var top = double.NegativeInfinity;
            foreach (var v in b) top = Math.Max(top, v);
            var inRange = true;
            for (var i = 0; i < p; i++)
            {
                b[i] -= top;
                inRange &= Math.Abs(b[i]) <= 16 * p * _gramMax;
            }
            if (!inRange) return false;
            SolveScls(b, x);
        }
        else MultiplyGramInverse(b, x);
        computed = true;
        double sum = 0;
        foreach (var v in x)
        {
            if (!(v > 0)) return false;
            sum += v;
        }
        // Exactly on the simplex, as the active-set path leaves it.
        if (sumToOne) for (var i = 0; i < p; i++) x[i] /= sum;
        return true;
    }

    /// <summary>UCLS: a = G⁻¹b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MultiplyGramInverse(ReadOnlySpan<double> b, Span<double> a)
    {
        var p = a.Length;
        var gi = Endmembers.GramInverse;
        for (var i = 0; i < p; i++)
        {
            double s = 0;
            for (var j = 0; j < p; j++) s += gi[i * p + j] * b[j];
            a[i] = s;
        }
    }

    /// <summary>SCLS: a = G⁻¹b − G⁻¹1 (1ᵀG⁻¹b − 1) / (1ᵀG⁻¹1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SolveScls(ReadOnlySpan<double> b, Span<double> a)
    {
        MultiplyGramInverse(b, a);
        double sum = 0;
        foreach (var v in a) sum += v;
        var k = (sum - 1) / Endmembers.OnesGramInverseOnes;
        for (var i = 0; i < a.Length; i++) a[i] -= Endmembers.GramInverseOnes[i] * k;
    }

}

/// <summary>Per-worker scratch buffers, reused from tile to tile.</summary>
public sealed class TileScratch
{
    /// <summary>Pixels per chunk when a band-sequential tile is turned into spectra: 64 x 224 floats is 57 KB, cache-sized.</summary>
    public const int ChunkPixels = 64;

    /// <summary>A chunk of spectra (pixel-interleaved) made from a band-sequential tile.</summary>
    public float[] Spectra { get; private set; } = [];
    /// <summary>One spectrum in double, padded with zeros to a multiple of 8 bands.</summary>
    public double[] Spectrum { get; private set; } = [];
    /// <summary>The active-set solver's working memory.</summary>
    internal double[] ActiveSet { get; private set; } = [];

    /// <summary>Grows the buffers to hold <paramref name="bands"/> bands and <paramref name="endmembers"/> endmembers (the solver calls it).</summary>
    internal void Ensure(int bands, int endmembers)
    {
        if (Spectra.Length < bands * ChunkPixels) Spectra = new float[bands * ChunkPixels];
        var padded = (bands + 7) / 8 * 8;
        if (Spectrum.Length < padded) Spectrum = new double[padded];
        var need = Solvers.ActiveSet.ScratchLength(endmembers);
        if (ActiveSet.Length < need) ActiveSet = new double[need];
    }
}
