using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>Everything about a scene that is not its pixels: size, grid, CRS, per-band metadata.</summary>
public sealed partial record RasterInfo
{
    /// <summary>The path the scene was opened with (for a sensor product, the folder or file given, not its image file).</summary>
    public required string Path { get; init; }
    /// <summary>GDAL's short name of the driver that read the file, e.g. "GTiff" or "ENVI".</summary>
    public required string Driver { get; init; }
    /// <summary>Columns, in pixels.</summary>
    public required int Width { get; init; }
    /// <summary>Rows, in pixels.</summary>
    public required int Height { get; init; }
    /// <summary>Number of bands (L), bad bands included.</summary>
    public required int BandCount { get; init; }
    /// <summary>The first band's stored pixel type (every read delivers float32 whatever it is).</summary>
    public required GdalDataType DataType { get; init; }
    /// <summary>
    /// A Byte band flagged PIXELTYPE=SIGNEDBYTE: GDAL before 3.7 has no Int8 type and reports signed 8-bit data
    /// this way, and its RasterIO returns the two's-complement bytes as 0..255.
    /// </summary>
    public bool SignedByte { get; init; }
    /// <summary>The affine geotransform; null when the file has none (pixel coordinates).</summary>
    public double[]? GeoTransform { get; init; }
    /// <summary>CRS as WKT, empty when the file has none.</summary>
    public string CrsWkt { get; init; } = "";
    /// <summary>The CRS's EPSG code when it has one or GDAL can identify it; null otherwise (or with no CRS).</summary>
    public int? Epsg { get; init; }
    /// <summary>
    /// Each band's nodata value as the file declares it, in stored (unscaled) units; null for a band with none.
    /// A sensor product's fill value stands in where the image declares none.
    /// </summary>
    public required double?[] NoData { get; init; }
    /// <summary>Each band's scale: a read sample is stored value x scale + offset (1 when the file declares none; a product's gains replace it).</summary>
    public required double[] Scale { get; init; }
    /// <summary>Each band's offset, added after <see cref="Scale"/> (0 when the file declares none).</summary>
    public required double[] Offset { get; init; }
    /// <summary>Each band's description, or "Band i" (1-based) where it has none.</summary>
    public required string[] BandNames { get; init; }
    /// <summary>Band centre wavelengths, or null when the file gives none.</summary>
    public double[]? Wavelengths { get; init; }
    /// <summary>The units <see cref="Wavelengths"/> are in as the file names them (e.g. "Nanometers", "Micrometers"), or null; see <see cref="WavelengthsNm"/>.</summary>
    public string? WavelengthUnits { get; init; }
    /// <summary>Each band's full width at half maximum, in the wavelengths' units, or null when the file gives none.</summary>
    public double[]? Fwhm { get; init; }
    /// <summary>0-based indices of bands flagged bad (ENVI bbl = 0).</summary>
    public int[] BadBands { get; init; } = [];
    /// <summary>The first band's natural block size in pixels (GDAL's; e.g. a tile, or one row of a striped file).</summary>
    public (int X, int Y) BlockSize { get; init; }
    /// <summary>"BAND", "PIXEL", "LINE" (GeoTIFF / ENVI bsq, bip, bil) when known.</summary>
    public string? Interleave { get; init; }
    /// <summary>GDAL's COMPRESSION metadata (e.g. "DEFLATE", "LZW"), or null for an uncompressed file.</summary>
    public string? Compression { get; init; }
    /// <summary>The sensor product the scene was read from (its metadata and masks), or null for a plain file.</summary>
    public ProductInfo? Product { get; init; }

    /// <summary>True when the file has a geotransform (map coordinates); false when only pixel coordinates are known.</summary>
    public bool HasGeoreference => GeoTransform is not null;

    /// <summary>The wavelengths in nanometres (micrometres when the units say so or every value is below 100), or null.</summary>
    public double[]? WavelengthsNm()
    {
        if (Wavelengths is not { } w) return null;
        var units = WavelengthUnits?.ToLowerInvariant() ?? "";
        var micro = units.StartsWith("micro", StringComparison.Ordinal) || units is "um" or "µm" || (units == "" && w.All(v => v < 100));
        return micro ? w.Select(v => v * 1000).ToArray() : w;
    }
    /// <summary>Pixel width in CRS units (the geotransform's x step); 1 without georeference.</summary>
    public double PixelWidth => GeoTransform?[1] ?? 1;
    /// <summary>Pixel height in CRS units, positive (the magnitude of the geotransform's y step); 1 without georeference.</summary>
    public double PixelHeight => Math.Abs(GeoTransform?[5] ?? 1);

    /// <summary>The geotransform of a sub-window of this grid, shifted exactly (no resampling).</summary>
    public double[]? GeoTransformFor(Window w)
    {
        if (GeoTransform is not { } t) return null;
        return [t[0] + w.ColOff * t[1] + w.RowOff * t[2], t[1], t[2], t[3] + w.ColOff * t[4] + w.RowOff * t[5], t[4], t[5]];
    }

    /// <summary>The dataset's description; <paramref name="envi"/> is its format's header (<see cref="ISceneFormat.Header"/>).</summary>
    internal static RasterInfo Read(GdalDataset ds, string path, IReadOnlyDictionary<string, string> envi)
    {
        var n = ds.BandCount;
        if (n == 0) throw new RasterDataException(path, "has no raster bands");
        var bands = Enumerable.Range(1, n).Select(ds.GetBand).ToArray();
        var imageStructure = ds.GetMetadata("IMAGE_STRUCTURE");

        var wl = bands.Select(b => ParseDouble(b.GetMetadataItem("wavelength"))).ToArray();
        var wavelengths = wl.All(v => v.HasValue) ? wl.Select(v => v!.Value).ToArray() : ParseList(envi.GetValueOrDefault("wavelength"), n);
        var units = bands[0].GetMetadataItem("wavelength_units") ?? envi.GetValueOrDefault("wavelength_units");
        if (wavelengths is null && FromDescriptions(bands.Select(b => b.Description).ToArray()) is { } described)
            (wavelengths, units) = described;
        var fwhm = ParseList(envi.GetValueOrDefault("fwhm"), n)
                   ?? (bands.Select(b => ParseDouble(b.GetMetadataItem("fwhm"))).ToArray() is var f && f.All(v => v.HasValue)
                       ? f.Select(v => v!.Value).ToArray() : null);
        var bbl = ParseList(envi.GetValueOrDefault("bbl"), n);
        var names = bands.Select((b, i) => string.IsNullOrWhiteSpace(b.Description) ? $"Band {i + 1}" : b.Description).ToArray();
        string? epsgWkt = ds.ProjectionWkt;
        int? epsg = null;
        if (!string.IsNullOrEmpty(epsgWkt))
        {
            using var srs = SpatialReference.FromUserInput(epsgWkt);
            epsg = srs.Epsg;
        }
        return new RasterInfo
        {
            Path = path,
            Driver = ds.DriverName,
            Width = ds.Width,
            Height = ds.Height,
            BandCount = n,
            DataType = bands[0].DataType,
            SignedByte = bands[0].DataType == GdalDataType.Byte && bands[0].GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE") == "SIGNEDBYTE",
            GeoTransform = ds.GetGeoTransform(),
            CrsWkt = epsgWkt ?? "",
            Epsg = epsg,
            NoData = bands.Select(b => b.NoData).ToArray(),
            Scale = bands.Select(b => b.Scale ?? 1.0).ToArray(),
            Offset = bands.Select(b => b.Offset ?? 0.0).ToArray(),
            BandNames = names,
            Wavelengths = wavelengths,
            WavelengthUnits = units,
            Fwhm = fwhm,
            BadBands = bbl is null ? [] : bbl.Select((v, i) => (v, i)).Where(t => t.v == 0).Select(t => t.i).ToArray(),
            BlockSize = bands[0].BlockSize,
            Interleave = imageStructure.GetValueOrDefault("INTERLEAVE") ?? envi.GetValueOrDefault("interleave")?.ToUpperInvariant() switch
            {
                "BSQ" => "BAND", "BIP" => "PIXEL", "BIL" => "LINE", var other => other,
            },
            Compression = imageStructure.GetValueOrDefault("COMPRESSION"),
        };
    }

    /// <summary>
    /// Wavelengths from band descriptions such as "band 1 (418.24 Nanometers)" (EnMAP-Box and GDAL's ENVI driver write
    /// them so; a VRT mosaic keeps descriptions but not the bands' metadata), when every band has one in one unit.
    /// </summary>
    private static (double[], string)? FromDescriptions(string[] descriptions)
    {
        var matches = descriptions.Select(d => DescribedWavelength().Match(d ?? "")).ToArray();
        if (matches.Length == 0 || !matches.All(m => m.Success)) return null;
        var unit = matches[0].Groups[2].Value;
        if (matches.Any(m => !m.Groups[2].Value.Equals(unit, StringComparison.OrdinalIgnoreCase))) return null;
        return (matches.Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray(), unit);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\(\s*([0-9]+(?:\.[0-9]+)?)\s*(Nanometers|nm|Micrometers|um|µm)\s*\)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex DescribedWavelength();

    private static double? ParseDouble(string? s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Parses an ENVI list "{1, 2, 3}"; null when absent or of the wrong length.</summary>
    internal static double[]? ParseList(string? s, int expected)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var parts = s.Trim().TrimStart('{').TrimEnd('}').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])) return null;
        return values.Length == expected ? values : null;
    }
}
