namespace HyperUnmix.Geo.Unmixing.Synthetic;

/// <summary>
/// Reflectance spectra made by formula (smooth continua, Gaussian absorption bands, a red edge), so that sample
/// scenes and tests need no external library. Shapes are plausible, not measured: use a real library (e.g. the
/// USGS CSV) when realism matters.
/// </summary>
internal static class SyntheticSpectra
{
    /// <summary>The named materials, in the order <see cref="Create(int, double[])"/> uses.</summary>
    public static readonly string[] Materials = ["vegetation", "soil", "water", "asphalt", "clay", "concrete", "dry-grass", "iron-oxide", "snow", "shade"];

    /// <summary>Wavelengths in nm, evenly spaced.</summary>
    public static double[] Wavelengths(int bands, double first = 400, double last = 2500) =>
        Enumerable.Range(0, bands).Select(i => bands == 1 ? first : first + i * (last - first) / (bands - 1)).ToArray();

    /// <summary>The first <paramref name="count"/> materials of <see cref="Materials"/>.</summary>
    public static double[][] Create(int count, double[] wavelengthsNm)
    {
        if (count > Materials.Length) throw new ArgumentOutOfRangeException(nameof(count), count, $"at most {Materials.Length} built-in materials");
        return Materials.Take(count).Select(m => Create(m, wavelengthsNm)).ToArray();
    }

    public static double[] Create(string material, double[] wl) => wl.Select(x => Clamp(material switch
    {
        "vegetation" => 0.04 + 0.06 * G(x, 550, 35) - 0.02 * G(x, 670, 25) + 0.42 * S(x, 715, 12) - 0.25 * S(x, 1300, 60)
                        - 0.18 * G(x, 1450, 60) - 0.22 * G(x, 1940, 70) - 0.06 * G(x, 980, 40) + 0.07 * G(x, 1650, 120) + 0.05 * G(x, 2200, 120),
        "soil" => 0.10 + 0.22 * S(x, 650, 220) - 0.06 * G(x, 1420, 50) - 0.08 * G(x, 1920, 60) - 0.05 * G(x, 2200, 40) + 0.04 * (x - 400) / 2100,
        "water" => 0.09 * Math.Exp(-(x - 400) / 160) + 0.005,
        "asphalt" => 0.05 + 0.05 * (x - 400) / 2100 - 0.01 * G(x, 1700, 80) - 0.012 * G(x, 2300, 60),
        "clay" => 0.30 + 0.25 * S(x, 600, 150) - 0.15 * G(x, 1410, 35) - 0.20 * G(x, 1910, 45) - 0.18 * G(x, 2205, 25),
        "concrete" => 0.25 + 0.10 * S(x, 500, 100) - 0.05 * G(x, 1930, 60) - 0.04 * G(x, 2340, 40),
        "dry-grass" => 0.06 + 0.30 * S(x, 700, 80) - 0.08 * G(x, 1450, 60) - 0.10 * G(x, 1940, 60) + 0.08 * G(x, 1700, 150) - 0.07 * G(x, 2100, 50),
        "iron-oxide" => 0.05 + 0.35 * S(x, 580, 30) - 0.12 * G(x, 900, 90) + 0.05 * S(x, 1200, 200),
        "snow" => 0.95 - 0.30 * G(x, 1030, 60) - 0.70 * S(x, 1400, 40) + 0.35 * G(x, 1800, 80) + 0.2 * G(x, 2240, 70),
        "shade" => 0.015 + 0.005 * (x - 400) / 2100,
        _ => throw new ArgumentException($"unknown material '{material}'; known: {string.Join(", ", Materials)}", nameof(material)),
    })).ToArray();

    /// <summary>A random smooth spectrum (continuum plus a few absorption bands), for tests that need many distinct spectra.</summary>
    public static double[] Random(LinearAlgebra.Rng rng, double[] wl)
    {
        var c0 = 0.1 + 0.4 * rng.NextDouble();
        var slope = (rng.NextDouble() - 0.5) * 0.3;
        var bands = Enumerable.Range(0, 4).Select(_ => (c: wl[0] + rng.NextDouble() * (wl[^1] - wl[0]), w: 20 + 150 * rng.NextDouble(), d: 0.2 * rng.NextDouble() - 0.05)).ToArray();
        return wl.Select(x => Clamp(c0 + slope * (x - wl[0]) / (wl[^1] - wl[0]) - bands.Sum(b => b.d * G(x, b.c, b.w)))).ToArray();
    }

    private static double G(double x, double centre, double width) => Math.Exp(-0.5 * Math.Pow((x - centre) / width, 2));
    private static double S(double x, double centre, double width) => 1 / (1 + Math.Exp(-(x - centre) / width));
    private static double Clamp(double v) => Math.Clamp(v, 0.002, 1.0);
}
