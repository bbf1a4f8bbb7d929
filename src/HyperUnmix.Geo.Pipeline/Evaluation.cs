using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Metrics;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Scores an abundance raster (and its endmembers) against ground truth.</summary>
internal static class Evaluation
{
    /// <param name="abundanceRaster">Our output: P abundance bands, optionally followed by "residual_rmse".</param>
    /// <param name="area">Window of the truth raster that the output covers (null: the whole raster).</param>
    public static UnmixingScore Score(string abundanceRaster, string? truthAbundances, string? truthEndmembers, EndmemberSet? estimated,
        Window? area = null, MatchBy matchBy = MatchBy.Sad)
    {
        if (truthAbundances is null && truthEndmembers is null) throw new UsageException(OptionPath.TruthAbundances, $"give {OptionPath.TruthAbundances} (abundances) and/or {OptionPath.TruthEndmembers}");
        List<double[]>? est = null, truth = null;
        if (truthAbundances is not null)
        {
            using var mine = RasterSource.Open(abundanceRaster, new RasterOpenOptions { Nan = NanPolicy.Mask });
            using var reference = RasterSource.Open(truthAbundances, new RasterOpenOptions { Nan = NanPolicy.Mask });
            var window = area ?? Locate(mine.Info, reference.Info);
            if (mine.Info.Width != window.Width || mine.Info.Height != window.Height)
                throw new RasterDataException(truthAbundances, $"is {reference.Info.Width}x{reference.Info.Height}; the window compared is {window}, but {abundanceRaster} is {mine.Info.Width}x{mine.Info.Height}");
            if (!reference.Extent.Contains(window))
                throw new RasterDataException(truthAbundances, $"does not cover the window {window}");
            var myBands = Enumerable.Range(0, mine.Info.BandCount).Where(b => mine.Info.BandNames[b] != "residual_rmse").ToArray();
            var (a, validA) = ReadAll(mine, mine.Extent, myBands);
            var (t, validT) = ReadAll(reference, window, reference.AllBands);
            var keep = Enumerable.Range(0, validA.Length).Where(i => validA[i] != 0 && validT[i] != 0).ToArray();
            if (keep.Length == 0) throw new RasterDataException(abundanceRaster, "has no valid pixel in common with the ground truth");
            est = a.Select(m => keep.Select(i => (double)m[i]).ToArray()).ToList();
            truth = t.Select(m => keep.Select(i => (double)m[i]).ToArray()).ToList();
        }
        List<double[]>? estSpectra = null, refSpectra = null;
        if (truthEndmembers is not null)
        {
            if (estimated is null) throw new UsageException("estimated endmembers are needed to compare spectra (the run's .endmembers.csv)");
            var reference = EndmemberFiles.Load(truthEndmembers);
            // A run that left bands out (screening, --bands) is compared on its own bands, found by wavelength.
            if (reference.Bands != estimated.Bands && reference.Wavelengths is { } rw && estimated.Wavelengths is { } ew && ew.Length < rw.Length)
            {
                var at = ew.Select(w => Enumerable.Range(0, rw.Length).FirstOrDefault(i => Math.Abs(rw[i] - w) < 1e-3, -1)).ToArray();
                if (at.All(i => i >= 0)) reference = reference.SelectBands(at);
            }
            if (reference.Bands != estimated.Bands)
                throw new EndmemberFileException(truthEndmembers, $"has {reference.Bands} bands, the estimated endmembers {estimated.Bands}");
            refSpectra = Enumerable.Range(0, reference.Count).Select(reference.Spectrum).ToList();
            estSpectra = Enumerable.Range(0, estimated.Count).Select(estimated.Spectrum).ToList();
        }
        return UnmixingMetrics.Score(estSpectra, refSpectra, est, truth, matchBy);
    }

    /// <summary>
    /// Where an output lies in the truth raster: the whole raster when sizes match, else the window implied by the
    /// two geotransforms when both are georeferenced on the same grid (an ROI run's output).
    /// </summary>
    private static Window Locate(RasterInfo output, RasterInfo truth)
    {
        if (output.Width == truth.Width && output.Height == truth.Height) return new Window(0, 0, truth.Width, truth.Height);
        if (output.GeoTransform is { } o && truth.GeoTransform is { } t && o[1] == t[1] && o[5] == t[5] && o[2] == 0 && t[2] == 0)
        {
            double col = (o[0] - t[0]) / t[1], row = (o[3] - t[3]) / t[5];
            if (Math.Abs(col - Math.Round(col)) < 1e-6 && Math.Abs(row - Math.Round(row)) < 1e-6)
                return new Window((int)Math.Round(col), (int)Math.Round(row), output.Width, output.Height);
        }
        throw new RasterDataException(truth.Path, $"is {truth.Width}x{truth.Height} and {output.Path} is {output.Width}x{output.Height}, and they do not share a grid from which to place one in the other");
    }

    private static (float[][] Maps, byte[] Valid) ReadAll(RasterSource s, Window w, int[] bands)
    {
        var n = (int)w.Area;
        var buf = new float[bands.Length * n];
        var valid = new byte[n];
        s.Read(w, bands, buf, valid);
        return (Enumerable.Range(0, bands.Length).Select(b => buf.AsSpan(b * n, n).ToArray()).ToArray(), valid);
    }

    /// <summary>The score as a JSON-friendly object.</summary>
    public static object ToJsonObject(UnmixingScore s, IReadOnlyList<string> estimatedNames) => new
    {
        matching = "Hungarian",
        matched_estimate = s.Match.Select(i => i >= 0 && i < estimatedNames.Count ? estimatedNames[i] : null).ToArray(),
        sad_rad = s.SadRadians.Select(Finite).ToArray(),
        mean_sad_rad = Finite(s.MeanSadRadians),
        mean_sad_deg = Finite(s.MeanSadDegrees),
        abundance_rmse = Finite(s.AbundanceRmse),
        abundance_rmse_per_endmember = s.AbundanceRmsePer.Select(Finite).ToArray(),
    };

    private static double? Finite(double v) => double.IsFinite(v) ? Math.Round(v, 6) : null;
}
