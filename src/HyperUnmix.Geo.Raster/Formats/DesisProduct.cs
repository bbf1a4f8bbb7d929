using System.Globalization;
using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// DESIS L1C / L2A (<c>DESIS-HSI-L2A-DT..-SPECTRAL_IMAGE.tif</c>, pixel-interleaved and compressed): the image's
/// meaning is in the ENVI-style text header beside it, <c>*-SPECTRAL_IMAGE.hdr</c> (GDAL does not read it for a
/// GeoTIFF): <c>wavelength</c>, <c>fwhm</c> (nm), <c>data gain values</c> and <c>data offset values</c> (value = DN x
/// gain + offset). Named by its folder, its METADATA.xml, its image or its header.
/// </summary>
internal sealed partial class DesisProduct : ISceneProduct
{
    public string Name => "DESIS";
    private const string ImageTag = "-SPECTRAL_IMAGE";

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
            Files = File.Exists(metadata) ? [image, header, metadata] : [image, header],
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
