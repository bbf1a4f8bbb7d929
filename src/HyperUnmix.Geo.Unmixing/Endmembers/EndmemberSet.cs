using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Endmembers;

/// <summary>
/// An immutable set of P endmember spectra over L bands, with everything that depends only on E computed once
/// (EᵀE and its inverse) and shared by every tile and thread.
/// </summary>
public sealed class EndmemberSet
{
    /// <summary>Creates the set from an L x P row-major matrix (one column per endmember).</summary>
    /// <exception cref="ArgumentException">Sizes disagree, values are not finite, or the spectra are linearly dependent.</exception>
    public EndmemberSet(double[] lxp, int bands, int count, IReadOnlyList<string>? names = null, IReadOnlyList<double>? wavelengths = null)
    {
        if (bands < 1 || count < 1) throw new ArgumentException($"an endmember set needs at least one band and one endmember, got {bands}x{count}");
        if (lxp.Length != bands * count) throw new ArgumentException($"matrix has {lxp.Length} values, expected {bands}x{count}");
        if (count > bands) throw new ArgumentException($"P = {count} endmembers cannot be resolved from {bands} bands (P must not exceed the band count)");
        if (lxp.Any(v => !double.IsFinite(v))) throw new ArgumentException("endmember spectra contain NaN or infinite values");
        if (names is not null && names.Count != count) throw new ArgumentException($"{names.Count} names for {count} endmembers");
        if (wavelengths is not null && wavelengths.Count != bands) throw new ArgumentException($"{wavelengths.Count} wavelengths for {bands} bands");
        Bands = bands;
        Count = count;
        E = (double[])lxp.Clone();
        EFloat = Array.ConvertAll(E, v => (float)v);
        Names = names?.ToArray() ?? Enumerable.Range(1, count).Select(i => $"EM{i}").ToArray();
        Wavelengths = wavelengths?.ToArray();
        CheckMagnitudes(lxp, bands, count, Names);

        var m = Matrix<double>.Build.Dense(bands, count, (i, j) => lxp[i * count + j]);
        var g = m.TransposeThisAndMultiply(m);
        MathNet.Numerics.LinearAlgebra.Factorization.Svd<double> svd;
        try { svd = g.Svd(); }
        catch (MathNet.Numerics.NonConvergenceException)
        {
            throw new ArgumentException("the singular value decomposition of EᵀE did not converge: the endmember spectra are numerically degenerate");
        }
        var cond = svd.S[0] / Math.Max(svd.S[count - 1], double.Epsilon);
        if (cond > 1e12)
            throw new ArgumentException($"the endmember spectra are linearly dependent (condition number of EᵀE {cond:E1}): remove duplicates or lower P");
        Condition = Math.Sqrt(cond);
        var gi = g.Inverse();
        Gram = g.ToRowMajorArray();
        GramInverse = gi.ToRowMajorArray();
        var gi1 = gi.RowSums();
        GramInverseOnes = gi1.ToArray();
        OnesGramInverseOnes = gi1.Sum();
    }

    /// <summary>The smallest normal float32 (2⁻¹²⁶).</summary>
    private const double SmallestNormalFloat = 1.1754943508222875e-38;

    /// <summary>
    /// Refuses a spectrum whose largest magnitude is outside float32's normal range: zero spectra mix into nothing
    /// (every pixel would get an arbitrary vertex), and beyond the range the scene data has, EᵀE and the float
    /// copy of E overflow or underflow. Within it, EᵀE and its decomposition are finite for any band count.
    /// </summary>
    private static void CheckMagnitudes(double[] lxp, int bands, int count, string[] names)
    {
        for (var j = 0; j < count; j++)
        {
            double largest = 0;
            for (var i = 0; i < bands; i++) largest = Math.Max(largest, Math.Abs(lxp[i * count + j]));
            if (largest == 0)
                throw new ArgumentException($"endmember '{names[j]}' is all zero: a spectrum without signal cannot be unmixed");
            if (largest > float.MaxValue || largest < SmallestNormalFloat)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"endmember '{names[j]}' has largest magnitude {largest:G3}, outside the range of float32 data ({SmallestNormalFloat:G3} to {float.MaxValue:G3}); give the spectra in the scene's units"));
        }
    }

    /// <summary>Number of bands (L).</summary>
    public int Bands { get; }
    /// <summary>Number of endmembers (P).</summary>
    public int Count { get; }
    /// <summary>L x P, row-major, double.</summary>
    public double[] E { get; }
    /// <summary>L x P, row-major, float (for GEMMs with float tiles).</summary>
    public float[] EFloat { get; }
    /// <summary>The endmembers' names (P); "EM1", "EM2", ... when none were given.</summary>
    public string[] Names { get; }
    /// <summary>The bands' wavelengths (L) as given, or null.</summary>
    public double[]? Wavelengths { get; }
    /// <summary>EᵀE (P x P, row-major).</summary>
    public double[] Gram { get; }
    /// <summary>(EᵀE)⁻¹ (P x P, row-major).</summary>
    public double[] GramInverse { get; }
    /// <summary>(EᵀE)⁻¹ 1.</summary>
    public double[] GramInverseOnes { get; }
    /// <summary>1ᵀ(EᵀE)⁻¹1.</summary>
    public double OnesGramInverseOnes { get; }
    /// <summary>Condition number of E (ratio of extreme singular values).</summary>
    public double Condition { get; }

    /// <summary>Spectrum of endmember <paramref name="j"/>.</summary>
    public double[] Spectrum(int j)
    {
        var s = new double[Bands];
        for (var l = 0; l < Bands; l++) s[l] = E[l * Count + j];
        return s;
    }

    /// <summary>Builds a set from spectra given one per endmember.</summary>
    public static EndmemberSet FromSpectra(IReadOnlyList<double[]> spectra, IReadOnlyList<string>? names = null, IReadOnlyList<double>? wavelengths = null)
    {
        if (spectra.Count == 0) throw new ArgumentException("no endmember spectra");
        var l = spectra[0].Length;
        if (spectra.Any(s => s.Length != l)) throw new ArgumentException("endmember spectra differ in length");
        var e = new double[l * spectra.Count];
        for (var j = 0; j < spectra.Count; j++)
            for (var i = 0; i < l; i++) e[i * spectra.Count + j] = spectra[j][i];
        return new EndmemberSet(e, l, spectra.Count, names, wavelengths);
    }

    /// <summary>The same spectra scaled to unit length (for unit-length pixels), names and wavelengths kept.</summary>
    public EndmemberSet UnitLength()
    {
        var x = (double[])E.Clone();
        for (var j = 0; j < Count; j++)
        {
            double s = 0;
            for (var b = 0; b < Bands; b++) s += x[b * Count + j] * x[b * Count + j];
            s = Math.Sqrt(s);
            for (var b = 0; b < Bands; b++) x[b * Count + j] /= s;
        }
        return new EndmemberSet(x, Bands, Count, Names, Wavelengths);
    }

    /// <summary>The same spectra restricted to some bands (e.g. after dropping bad bands).</summary>
    public EndmemberSet SelectBands(IReadOnlyList<int> bands)
    {
        var e = new double[bands.Count * Count];
        for (var i = 0; i < bands.Count; i++)
            for (var j = 0; j < Count; j++) e[i * Count + j] = E[bands[i] * Count + j];
        return new EndmemberSet(e, bands.Count, Count, Names, Wavelengths is null ? null : bands.Select(b => Wavelengths[b]).ToArray());
    }
}
