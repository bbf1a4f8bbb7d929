using System.Globalization;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>What resampling a library to a scene's bands did.</summary>
/// <param name="Method">"gaussian (scene FWHM)", "linear interpolation" or "none (same wavelengths)".</param>
/// <param name="LargestGapNm">The widest stretch of the scene's used range without a library sample, nm.</param>
/// <param name="Covered">The scene bands (indices into the wavelengths given) the library covers.</param>
/// <param name="SceneBands">Number of scene bands resampled to.</param>
public sealed record ResampleReport(string Method, double LargestGapNm, int[] Covered, int SceneBands)
{
    /// <summary>Number of scene bands the library does not cover.</summary>
    public int Uncovered => SceneBands - Covered.Length;

    /// <summary>One line for logs: the method, the bands covered and the largest gap in nm.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Method}; {Covered.Length} of {SceneBands} scene bands covered; largest gap between library samples inside them {LargestGapNm:F1} nm");
}

/// <summary>
/// Resamples library spectra (nanometres) to a scene's bands: each scene band as a Gaussian spectral response of
/// the band's FWHM when the scene gives FWHM (the library's samples weighted by the response and by the width
/// each sample stands for), otherwise linear interpolation at the band centre. A scene band is covered when the
/// library has samples on both sides of its centre no further apart than the band's width (its FWHM, or twice
/// the scene's local band spacing without FWHM) and 1.5 times the library's own typical spacing.
/// </summary>
internal static class SpectralResampler
{
    public static (double[][] Spectra, ResampleReport Report) Resample(SpectralLibrary lib, double[] sceneNm, double[]? sceneFwhmNm)
    {
        var x = lib.Wavelengths ?? throw new EndmemberFileException(lib.Path, "has no wavelengths");
        var n = sceneNm.Length;
        var same = x.Length == n && x.Zip(sceneNm).All(t => Math.Abs(t.First - t.Second) <= 0.5);
        if (same) return (lib.Spectra.Select(s => (double[])s.Clone()).ToArray(), new ResampleReport("none (same wavelengths within 0.5 nm)", 0, Enumerable.Range(0, n).ToArray(), n));

        // A library sampled at the scene's own band centres (made from this sensor: library from-roi, or a library
        // resampled to it before) has each band as it is, whatever bands either side left out.
        var at = sceneNm.Select(c => Array.FindIndex(x, v => Math.Abs(v - c) <= 0.5)).ToArray();
        if (at.All(i => i >= 0))
            return (lib.Spectra.Select(sp => at.Select(i => sp[i]).ToArray()).ToArray(),
                new ResampleReport("none (the library has every scene band within 0.5 nm)", 0, Enumerable.Range(0, n).ToArray(), n));
        var spacing = Median(x.Zip(x.Skip(1), (a, b) => b - a).ToArray());
        var covered = new List<int>();
        double largestGap = 0;
        for (var i = 0; i < n; i++)
        {
            var c = sceneNm[i];
            var hi = Array.BinarySearch(x, c);
            double gap;
            if (hi >= 0) gap = 0;
            else
            {
                hi = ~hi;
                if (hi == 0 || hi >= x.Length) continue;
                gap = x[hi] - x[hi - 1];
            }
            var width = sceneFwhmNm?[i] ?? 2 * LocalSpacing(sceneNm, i);
            if (gap > Math.Max(width, 1.5 * spacing)) continue;
            covered.Add(i);
            largestGap = Math.Max(largestGap, gap);
        }
        var gaussian = sceneFwhmNm is not null;
        var spectra = new double[lib.Count][];
        for (var j = 0; j < lib.Count; j++)
        {
            var s = lib.Spectra[j];
            var r = new double[covered.Count];
            for (var q = 0; q < covered.Count; q++)
            {
                var i = covered[q];
                r[q] = gaussian ? Gaussian(x, s, sceneNm[i], sceneFwhmNm![i]) : Linear(x, s, sceneNm[i]);
            }
            spectra[j] = r;
        }
        return (spectra, new ResampleReport(gaussian ? "gaussian spectral response from the scene's FWHM" : "linear interpolation (the scene gives no FWHM)",
            largestGap, covered.ToArray(), n));
    }

    /// <summary>Σ w s / Σ w over the library samples within 3σ, w = the Gaussian response times the sample's width (trapezoid rule).</summary>
    public static double Gaussian(double[] x, double[] s, double centre, double fwhm)
    {
        var sigma = fwhm / (2 * Math.Sqrt(2 * Math.Log(2)));
        double sw = 0, sws = 0;
        var lo = Array.BinarySearch(x, centre - 3 * sigma);
        lo = lo < 0 ? ~lo : lo;
        for (var k = lo; k < x.Length && x[k] <= centre + 3 * sigma; k++)
        {
            var left = k > 0 ? x[k] - x[k - 1] : x.Length > 1 ? x[1] - x[0] : 1;
            var right = k + 1 < x.Length ? x[k + 1] - x[k] : left;
            var d = (x[k] - centre) / sigma;
            var w = Math.Exp(-0.5 * d * d) * 0.5 * (left + right);
            sw += w;
            sws += w * s[k];
        }
        // A band narrower than the library's spacing: fall back to interpolation at its centre.
        return sw > 1e-12 ? sws / sw : Linear(x, s, centre);
    }

    public static double Linear(double[] x, double[] y, double at)
    {
        var i = Array.BinarySearch(x, at);
        if (i >= 0) return y[i];
        i = ~i;
        if (i == 0) return y[0];
        if (i >= x.Length) return y[^1];
        var t = (at - x[i - 1]) / (x[i] - x[i - 1]);
        return y[i - 1] + t * (y[i] - y[i - 1]);
    }

    private static double LocalSpacing(double[] w, int i) =>
        w.Length < 2 ? 10 : i == 0 ? Math.Abs(w[1] - w[0]) : i == w.Length - 1 ? Math.Abs(w[i] - w[i - 1]) : Math.Max(Math.Abs(w[i] - w[i - 1]), Math.Abs(w[i + 1] - w[i]));

    private static double Median(double[] v)
    {
        if (v.Length == 0) return 10;
        var s = v.OrderBy(a => a).ToArray();
        return s[s.Length / 2];
    }
}
