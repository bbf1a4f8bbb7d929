using System.Globalization;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Bands left out of a run, and why.</summary>
/// <param name="Bands">0-based file bands.</param>
/// <param name="Reason">Why they were left out, in words.</param>
public sealed record DroppedBands(int[] Bands, string Reason)
{
    /// <summary>The bands as 1-based ranges, then the reason: "1-5,9 (reason)".</summary>
    public override string ToString() => $"{BandScreen.Ranges(Bands)} ({Reason})";
}

/// <summary>What the screening of a run's input decided: the bands used, those left out, and the pixels it made nodata.</summary>
/// <param name="Bands">The 0-based file bands the run uses.</param>
/// <param name="Dropped">The bands left out, by reason.</param>
/// <param name="SampledPixels">Pixels the decision looked at (the sample).</param>
/// <param name="ZeroPixels">Sampled pixels that are 0 in every used band: nodata, never endmember candidates.</param>
public sealed record ScreenResult(int[] Bands, IReadOnlyList<DroppedBands> Dropped, int SampledPixels, int ZeroPixels)
{
    /// <summary>The units of the values the run works on: the file's band scale, --scale, or as stored.</summary>
    public string Values { get; init; } = "";
    /// <summary>
    /// The values are known to be reflectance (<see cref="BandScreen.KnownReflectance"/>): pixels non-physical in most
    /// bands are nodata in the sample and in every tile.
    /// </summary>
    public bool Reflectance { get; init; }
    /// <summary>Sampled pixels non-physical in most used bands (<see cref="BandScreen.IsNonPhysical"/>): nodata, never endmember candidates.</summary>
    public int NonPhysicalPixels { get; init; }

    /// <summary>The kept bands as indices into the sample's bands.</summary>
    internal int[] Keep { get; init; } = [];

    /// <summary>One line for the run summary.</summary>
    public string Summary(int requested) =>
        $"{Bands.Length} of {requested} bands used" + (Dropped.Count == 0 ? "" : "; left out: " + string.Join("; ", Dropped)) +
        (ZeroPixels == 0 ? "" : $"; {ZeroPixels} of {SampledPixels} sampled pixels are 0 in every band (nodata)") +
        (NonPhysicalPixels == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $"; {NonPhysicalPixels} of {SampledPixels} sampled pixels are outside reflectance {BandScreen.ReflectanceMin}..{BandScreen.ReflectanceMax} in most bands (nodata)"));
}

/// <summary>
/// The screening every run makes of its input, on the sample, before any pixel is judged: a band with no valid value
/// in any sampled pixel (a water-vapour band a product fills with nodata) or with one value everywhere says nothing
/// about the materials and would make every pixel invalid or every spectrum degenerate, so it is left out; so are the
/// atmospheric absorption windows when the wavelengths are known (unless asked to keep them). Pixels that are 0 in
/// every band left (fill values of real products) are nodata.
/// </summary>
internal static class BandScreen
{
    /// <summary>Atmospheric absorption windows (nm) left out by default: water vapour at 1.4 and 1.9 µm, and the noisy end of the SWIR.</summary>
    public static readonly (double From, double To)[] AbsorptionWindows = [(1340, 1450), (1800, 1960), (2450, double.PositiveInfinity)];

    /// <summary>The plausible range of surface reflectance: a little below 0 (noise, over-corrected dark pixels) to well above 1 (specular glint, snow, bright roofs).</summary>
    public const float ReflectanceMin = -0.05f, ReflectanceMax = 1.5f;

    /// <summary>
    /// Whether the values a run sees are reflectance: a product reader says so (EnMAP L2A), or the scale that reaches
    /// them (the file's per-band scale times --scale) is at most 0.001 in every band, the integer conventions
    /// reflectance x 1,000 / x 10,000. Scenes stored as 0-1 floats with no scale (Samson, Jasper Ridge) are not
    /// judged: nothing says what their units are.
    /// </summary>
    public static bool KnownReflectance(RasterInfo info, double inputScale) =>
        info.Product?.Reflectance == true || info.Scale.All(s => s * inputScale is > 0 and <= 0.001);

    /// <summary>
    /// A pixel is non-physical when more than half of its bands lie outside [<see cref="ReflectanceMin"/>,
    /// <see cref="ReflectanceMax"/>] after scaling: a corrupt or fill pixel, not a material. One or two wild bands
    /// (a saturated detector, a residual absorption feature) do not condemn a pixel.
    /// </summary>
    public static bool IsNonPhysical(ReadOnlySpan<float> values, int start, int stride, int count, float scale)
    {
        var outside = 0;
        for (var b = 0; b < count; b++)
        {
            var v = values[start + b * stride] * scale;
            if (v < ReflectanceMin || v > ReflectanceMax) outside++;
        }
        return outside * 2 > count;
    }

    /// <remarks>
    /// Bands the file or product flags bad (ENVI <c>bbl</c> = 0, EMIT <c>good_wavelengths</c> = 0) are left out too,
    /// unless <paramref name="dropFlagged"/> is false (the user chose the bands with --bands).
    /// </remarks>
    internal static ScreenResult Run(RawSample sample, RasterInfo info, bool dropAbsorption, double inputScale = 1, bool dropFlagged = true)
    {
        var flagged = new List<int>();
        var dropped = new List<DroppedBands>();
        var keep = new List<int>();
        var absorbed = new List<int>();
        var empty = new List<int>();
        var constant = new List<int>();
        var nm = info.WavelengthsNm();
        for (var q = 0; q < sample.Bands.Length; q++)
        {
            var band = sample.Bands[q];
            var (valid, min, max) = sample.Stats(q);
            if (dropFlagged && info.BadBands.Contains(band)) flagged.Add(band);
            else if (dropAbsorption && nm is not null && AbsorptionWindows.Any(w => nm[band] >= w.From && nm[band] <= w.To)) absorbed.Add(band);
            else if (valid == 0) empty.Add(band);
            else if (valid > 1 && min == max) constant.Add(band);
            else keep.Add(q);
        }
        if (absorbed.Count > 0)
            dropped.Add(new DroppedBands([.. absorbed], "atmospheric absorption " + string.Join(", ", AbsorptionWindows.Select(w =>
                double.IsInfinity(w.To) ? $"> {w.From:F0} nm" : $"{w.From:F0}-{w.To:F0} nm"))));
        if (flagged.Count > 0)
            dropped.Add(new DroppedBands([.. flagged], info.Product is { } p ? $"flagged bad by the {p.Sensor} product" : "flagged bad in the header (bbl)"));
        if (empty.Count > 0) dropped.Add(new DroppedBands([.. empty], $"no valid value in any of the {sample.Count} sampled pixels"));
        if (constant.Count > 0) dropped.Add(new DroppedBands([.. constant], "one value in every sampled pixel"));
        if (keep.Count == 0)
            throw new RasterDataException(info.Path, $"no band left to unmix: {string.Join("; ", dropped)}");
        var kept = keep.ToArray();
        var reflectance = KnownReflectance(info, inputScale);
        return new ScreenResult(kept.Select(q => sample.Bands[q]).ToArray(), dropped, sample.Count, sample.ZeroPixels(kept))
        {
            Keep = kept,
            Reflectance = reflectance,
            NonPhysicalPixels = reflectance ? sample.NonPhysicalPixels(kept, inputScale) : 0,
        };
    }

    /// <summary>"1-5,9" for 0-based bands 0..4 and 8 (1-based, as the command's --bands).</summary>
    public static string Ranges(IEnumerable<int> bands)
    {
        var parts = new List<string>();
        var sorted = bands.OrderBy(b => b).ToArray();
        for (var i = 0; i < sorted.Length;)
        {
            var j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? (sorted[i] + 1).ToString(CultureInfo.InvariantCulture) : $"{sorted[i] + 1}-{sorted[j] + 1}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
