using System.Globalization;
using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// DESIS L1C / L2A (<c>DESIS-HSI-L2A-DT..-SPECTRAL_IMAGE.tif</c>, pixel-interleaved and compressed): the image's
/// meaning is in the ENVI-style text header beside it, <c>*-SPECTRAL_IMAGE.hdr</c> (GDAL does not read it for a
/// GeoTIFF): <c>wavelength</c>, <c>fwhm</c> (nm), <c>data gain values</c> and <c>data offset values</c> (value = DN x
/// gain + offset). Named by its folder, its METADATA.xml, its image or its header.
/// <para>
/// L2A's quality layers are in <c>*-QL_QUALITY-2.tif</c>: ten 0/1 bands, 1 shadow, 2 land, 3 snow, 4 haze over land,
/// 5 haze over water, 6 cloud over land, 7 cloud over water, 8 water, 9 AOT, 10 water vapour (the order three
/// independent readers use: EnMAP-Box-era scripts, krttdkit, RemoteSensingToolbox.jl; DLR's specification
/// PAV-DLR-ICD-003 was not readable to us). Shadow, snow, haze and cloud are masks and apply by default, as EnMAP's do;
/// land and water are classes, not defects.
/// </para>
/// </summary>
internal sealed partial class DesisProduct : ISceneProduct
{
    public string Name => "DESIS";
    private const string ImageTag = "-SPECTRAL_IMAGE";
    private const string QualityTag = "-QL_QUALITY-2";
    private static readonly string[] TifExtensions = [".tif", ".TIF"];
    private static readonly (string Name, int Band)[] QualityMasks =
        [("SHADOW", 1), ("SNOW", 3), ("HAZE_LAND", 4), ("HAZE_WATER", 5), ("CLOUD_LAND", 6), ("CLOUD_WATER", 7)];

    public ProductScene? Resolve(string path)
    {
        string? prefix = null;
        if (Directory.Exists(path))
        {
            var images = Directory.GetFiles(path).Where(f => IsDesis(f) && f.EndsWith(ImageTag + ".tif", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
            if (images.Length == 0) return null;
            if (images.Length > 1) throw new RasterDataException(path, $"holds {images.Length} DESIS spectral images; name one of them");
            prefix = images[0][..^(ImageTag.Length + 4)];
        }
        else if (IsDesis(path))
        {
            foreach (var suffix in new[] { "-METADATA.xml", ImageTag + ".tif", ImageTag + ".hdr" })
                if (path.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) prefix = path[..^suffix.Length];
            if (prefix is null) return null;
        }
        else return null;

        var image = prefix + ImageTag + ".tif";
        var header = prefix + ImageTag + ".hdr";
        if (!File.Exists(image)) throw new RasterDataException(image, "missing: the DESIS product has no spectral image");
        if (!File.Exists(header))
            throw new RasterDataException(header, "missing: a DESIS SPECTRAL_IMAGE is read with its .hdr (wavelengths, FWHM, gains and offsets), which is not beside it");
        var items = ReadHeader(File.ReadAllText(header));
        double[] List(string key, bool required = true)
        {
            if (!items.TryGetValue(key, out var text)) return required ? throw new RasterDataException(header, $"the header has no '{key}'") : null!;
            var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var values = new double[parts.Length];
            for (var i = 0; i < parts.Length; i++)
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                    throw new RasterDataException(header, $"'{key}' value {i + 1} is '{parts[i]}', not a number");
            return values;
        }
        var wavelengths = List("wavelength");
        var n = wavelengths.Length;
        double[] Same(string key, bool required = true)
        {
            var v = List(key, required);
            if (v is not null && v.Length != n) throw new RasterDataException(header, $"'{key}' has {v.Length} values but 'wavelength' has {n}");
            return v!;
        }
        var fwhm = Same("fwhm");
        var gains = Same("data gain values");
        var offsets = Same("data offset values", required: false) ?? new double[n];
        var name = System.IO.Path.GetFileName(prefix);
        var level = name.Contains("-L2A-", StringComparison.OrdinalIgnoreCase) ? "L2A" : name.Contains("-L1C-", StringComparison.OrdinalIgnoreCase) ? "L1C" : "L1B";
        var metadata = prefix + "-METADATA.xml";
        var quality = TifExtensions.Select(e => prefix + QualityTag + e).FirstOrDefault(File.Exists);
        var files = new List<string> { image, header };
        if (File.Exists(metadata)) files.Add(metadata);
        if (quality is not null) files.Add(quality);
        return new ProductScene
        {
            Sensor = Name,
            Level = level,
            DatasetPath = image,
            MetadataFile = header,
            BandCount = n,
            Wavelengths = wavelengths,
            Fwhm = fwhm,
            Scale = gains,
            Offset = offsets,
            Reflectance = level == "L2A",
            Masks = quality is null ? [] : QualityMasks.Select(m => new ProductMaskFile(m.Name, quality, true) { Band = m.Band }).ToArray(),
            Files = files,
        };
    }

    private static bool IsDesis(string f) => System.IO.Path.GetFileName(f).StartsWith("DESIS-HSI-", StringComparison.OrdinalIgnoreCase);

    /// <summary>ENVI-style "key = value" and "key = { a, b, ... }" items (lists may span lines), keys in lower case.</summary>
    private static Dictionary<string, string> ReadHeader(string text)
    {
        var items = new Dictionary<string, string>();
        foreach (Match m in Item().Matches(text))
            items[Regex.Replace(m.Groups[1].Value.Trim(), @"\s+", " ").ToLowerInvariant()] = (m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value).Trim();
        return items;
    }

    [GeneratedRegex(@"^\s*([A-Za-z][^=\r\n]*?)\s*=\s*(?:\{([^}]*)\}|([^\r\n{]*))", RegexOptions.Multiline)]
    private static partial Regex Item();
}
