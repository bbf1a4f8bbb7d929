using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>A synthetic MESMA scene: pixels with a known model (library spectra, fractions, shade) and noise.</summary>
/// <param name="Y">L x N band-sequential reflectance.</param>
/// <param name="TrueSpectra">Each pixel's library spectra (indices), in class order.</param>
/// <param name="TrueFractions">Each pixel's fractions, in the same order.</param>
internal sealed record MesmaScene(float[] Y, int Bands, int Pixels, int[][] TrueSpectra, double[][] TrueFractions);

/// <summary>Classed libraries and scenes drawn from real spectra, for tests and the benchmark.</summary>
internal static class MesmaScenes
{
    /// <summary>
    /// <paramref name="classes"/> x <paramref name="perClass"/> spectra of <paramref name="library"/>, drawn with a seed,
    /// each at least <paramref name="minAngle"/> rad (spectral angle) from every other: class c is the c-th run of
    /// <paramref name="perClass"/>. Returns the spectra's indices and class of each.
    /// </summary>
    public static (int[] Indices, int[] ClassOf) PickClassed(double[][] library, int classes, int perClass, double minAngle, long seed)
    {
        var rng = new Rng(seed);
        var chosen = new List<int>();
        for (var tries = 0; chosen.Count < classes * perClass && tries < 200000; tries++)
        {
            var c = rng.Next(library.Length);
            if (library[c].Max() <= 0.02) continue;
            if (chosen.All(k => k != c && UnmixingMetrics.Sad(library[k], library[c]) > minAngle)) chosen.Add(c);
        }
        if (chosen.Count < classes * perClass) throw new ArgumentException($"the library has fewer than {classes * perClass} spectra {minAngle} rad apart");
        return (chosen.ToArray(), chosen.Select((_, i) => i / perClass).ToArray());
    }

    /// <summary>
    /// <paramref name="n"/> pixels, each a model of a level drawn from <paramref name="levels"/>: that many distinct
    /// classes, one spectrum of each, fractions ≥ <paramref name="minFraction"/> summing to 1 − shade, shade uniform in
    /// [0, <paramref name="maxShade"/>]; then white Gaussian noise at <paramref name="snrDb"/> (signal power over the
    /// scene / noise power).
    /// </summary>
    public static MesmaScene Generate(double[][] spectra, int[] classOf, int[] levels, int n, double snrDb, long seed,
        double minFraction = 0.15, double maxShade = 0.4)
    {
        var rng = new Rng(seed);
        var L = spectra[0].Length;
        var nClasses = classOf.Max() + 1;
        var members = Enumerable.Range(0, nClasses).Select(c => Enumerable.Range(0, spectra.Length).Where(i => classOf[i] == c).ToArray()).ToArray();
        var y = new double[L * n];
        var trueSpectra = new int[n][];
        var trueFractions = new double[n][];
        double power = 0;
        for (var p = 0; p < n; p++)
        {
            var k = levels[rng.Next(levels.Length)];
            // k distinct classes, in ascending order.
            var cls = Enumerable.Range(0, nClasses).OrderBy(_ => rng.NextDouble()).Take(k).Order().ToArray();
            var idx = cls.Select(c => members[c][rng.Next(members[c].Length)]).ToArray();
            var shade = maxShade * rng.NextDouble();
            var total = 1 - shade;
            var a = new double[k];
            rng.NextDirichlet(1.0, a);
            var f = a.Select(v => minFraction * total + v * (1 - k * minFraction) * total).ToArray();
            for (var l = 0; l < L; l++)
            {
                double s = 0;
                for (var j = 0; j < k; j++) s += f[j] * spectra[idx[j]][l];
                y[l * n + p] = s;
                power += s * s;
            }
            trueSpectra[p] = idx;
            trueFractions[p] = f;
        }
        var sigma = Math.Sqrt(power / (L * (double)n) / Math.Pow(10, snrDb / 10));
        var yf = new float[L * n];
        for (var i = 0; i < y.Length; i++) yf[i] = (float)(y[i] + sigma * rng.NextGaussian());
        return new MesmaScene(yf, L, n, trueSpectra, trueFractions);
    }
}
