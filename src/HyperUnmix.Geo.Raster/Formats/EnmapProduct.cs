using System.Globalization;
using System.Xml.Linq;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// EnMAP L1C / L2A: <c>*-SPECTRAL_IMAGE.{TIF,BSQ,BIL,BIP}</c> (the pixels, DN) and <c>*-METADATA.XML</c>, whose
/// <c>specific/bandCharacterisation/bandID</c> elements give each band's <c>wavelengthCenterOfBand</c> (nm),
/// <c>FWHMOfBand</c>, <c>GainOfBand</c> and <c>OffsetOfBand</c> (value = DN x gain + offset). Quality masks
/// <c>*-QL_PIXELMASK.*</c> and <c>*-QL_QUALITY_{CLOUD,CLOUDSHADOW,HAZE,SNOW,CIRRUS}.*</c> beside it (non-zero =
/// flagged). Named by its folder, its METADATA.XML or its SPECTRAL_IMAGE.
/// </summary>
internal sealed class EnmapProduct : ISceneProduct
{
    public string Name => "EnMAP";

    private const string MetadataSuffix = "-METADATA.XML";
    private const string ImageTag = "-SPECTRAL_IMAGE";
    private static readonly string[] ImageExtensions = [".TIF", ".TIFF", ".BSQ", ".BIL", ".BIP"];
    private static readonly (string Name, string Tag, bool Default)[] MaskFiles =
    [
        ("PIXELMASK", "-QL_PIXELMASK", true),
        ("CLOUD", "-QL_QUALITY_CLOUD", true),
        ("CLOUDSHADOW", "-QL_QUALITY_CLOUDSHADOW", true),
        ("HAZE", "-QL_QUALITY_HAZE", true),
        ("SNOW", "-QL_QUALITY_SNOW", true),
        ("CIRRUS", "-QL_QUALITY_CIRRUS", true),
    ];

    public ProductScene? Resolve(string path)
    {
        string? xml = null, prefix = null;
        if (Directory.Exists(path))
        {
            var xmls = Directory.GetFiles(path).Where(f => IsEnmap(f) && EndsWith(f, MetadataSuffix)).Order(StringComparer.Ordinal).ToArray();
            var images = Directory.GetFiles(path).Where(IsSpectralImage).ToArray();
            if (xmls.Length == 0 && images.Length == 0) return null;
            if (xmls.Length > 1)
                throw new RasterDataException(path, $"holds {xmls.Length} EnMAP METADATA.XML files ({string.Join(", ", xmls.Select(System.IO.Path.GetFileName))}); name one of them");
            if (xmls.Length == 0)
            {
                var image = images[0];
                prefix = PrefixOf(image);
                throw Missing(prefix);
            }
            xml = xmls[0];
            prefix = xml[..^MetadataSuffix.Length];
        }
        else if (!IsEnmap(path)) return null;
        else if (EndsWith(path, MetadataSuffix))
        {
            xml = path;
            prefix = path[..^MetadataSuffix.Length];
            if (!File.Exists(xml)) return null; // GDAL's open error names the missing file
        }
        else if (IsSpectralImage(path) || EndsWith(path, ImageTag + ".HDR"))
        {
            prefix = PrefixOf(path);
            xml = FindSibling(prefix + MetadataSuffix) ?? throw Missing(prefix);
        }
        else return null;

        var imageFile = ImageExtensions.Select(e => FindSibling(prefix + ImageTag + e)).FirstOrDefault(f => f is not null)
                        ?? throw new RasterDataException(xml, $"the EnMAP product has no spectral image: {System.IO.Path.GetFileName(prefix)}{ImageTag}.TIF (or .BSQ/.BIL/.BIP with .HDR) is missing");
        var (level, bands) = ReadMetadata(xml);
        var masks = new List<ProductMaskFile>();
        foreach (var (name, tag, def) in MaskFiles)
            if (ImageExtensions.Select(e => FindSibling(prefix + tag + e)).FirstOrDefault(f => f is not null) is { } file)
                masks.Add(new ProductMaskFile(name, file, def));
        var files = new List<string> { xml, imageFile };
        files.AddRange(masks.Select(m => m.File));
        return new ProductScene
        {
            Sensor = Name,
            Level = level,
            DatasetPath = imageFile,
            MetadataFile = xml,
            BandCount = bands.Length,
            Wavelengths = bands.Select(b => b.Wavelength).ToArray(),
            Fwhm = bands.Select(b => b.Fwhm).ToArray(),
            Scale = bands.Select(b => b.Gain).ToArray(),
            Offset = bands.Select(b => b.Offset).ToArray(),
            NoData = -32768, // the EnMAP fill value, where the image declares none
            Reflectance = level.StartsWith("L2", StringComparison.OrdinalIgnoreCase), // L1C is radiance
            Masks = masks,
            Files = files,
        };
    }

    private static RasterDataException Missing(string prefix) =>
        new(prefix + MetadataSuffix, "missing: an EnMAP SPECTRAL_IMAGE is read with its METADATA.XML (wavelengths, FWHM, gains and offsets), which is not beside it");

    /// <summary>The processing level and the bands, in band-number order; every field must be present and a number.</summary>
    private static (string Level, (double Wavelength, double Fwhm, double Gain, double Offset)[] Bands) ReadMetadata(string xml)
    {
        XDocument doc;
        try { doc = XDocument.Load(xml); }
        catch (System.Xml.XmlException e) { throw new RasterDataException(xml, $"is not readable XML ({e.Message})"); }
        var root = doc.Root!;
        var characterisation = root.Element("specific")?.Element("bandCharacterisation")
                                ?? throw new RasterDataException(xml, "has no specific/bandCharacterisation (the band wavelengths and gains)");
        var ids = characterisation.Elements("bandID").ToArray();
        if (ids.Length == 0) throw new RasterDataException(xml, "specific/bandCharacterisation has no bandID");
        var bands = new (int Number, double Wavelength, double Fwhm, double Gain, double Offset)[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            var id = ids[i];
            var numberText = (string?)id.Attribute("number");
            if (!int.TryParse(numberText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
                throw new RasterDataException(xml, $"specific/bandCharacterisation/bandID #{i + 1} has no number attribute");
            double Field(string name)
            {
                var text = id.Element(name)?.Value.Trim();
                if (text is null) throw new RasterDataException(xml, $"specific/bandCharacterisation/bandID[@number={number}]/{name} is missing");
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                    ? v
                    : throw new RasterDataException(xml, $"specific/bandCharacterisation/bandID[@number={number}]/{name} is '{text}', not a number");
            }
            bands[i] = (number, Field("wavelengthCenterOfBand"), Field("FWHMOfBand"), Field("GainOfBand"), Field("OffsetOfBand"));
        }
        var ordered = bands.OrderBy(b => b.Number).ToArray();
        for (var i = 0; i < ordered.Length; i++)
            if (ordered[i].Number != i + 1)
                throw new RasterDataException(xml, $"specific/bandCharacterisation/bandID numbers are not 1..{ordered.Length} (band {i + 1} is {(i > 0 && ordered[i].Number == ordered[i - 1].Number ? "listed twice" : "missing")})");
        var level = root.Element("base")?.Element("level")?.Value.Trim() is { Length: > 0 } l ? l
            : System.IO.Path.GetFileName(xml).Contains("L1C", StringComparison.OrdinalIgnoreCase) ? "L1C"
            : System.IO.Path.GetFileName(xml).Contains("L2A", StringComparison.OrdinalIgnoreCase) ? "L2A" : "unknown level";
        return (level, ordered.Select(b => (b.Wavelength, b.Fwhm, b.Gain, b.Offset)).ToArray());
    }

    private static bool IsSpectralImage(string f) =>
        IsEnmap(f) && ImageExtensions.Any(e => EndsWith(f, ImageTag + e));

    /// <summary>EnMAP products are named ENMAP01-...; DESIS (DESIS-HSI-...) uses the same suffixes.</summary>
    private static bool IsEnmap(string f) => System.IO.Path.GetFileName(f.TrimEnd('/')).StartsWith("ENMAP", StringComparison.OrdinalIgnoreCase);

    private static string PrefixOf(string file)
    {
        var name = file;
        var at = name.LastIndexOf(ImageTag, StringComparison.OrdinalIgnoreCase);
        return name[..at];
    }

    private static bool EndsWith(string f, string suffix) => f.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The file with this name in any letter case (EnMAP names are upper case; copies may not be).</summary>
    private static string? FindSibling(string path)
    {
        if (File.Exists(path)) return path;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) return null;
        var name = System.IO.Path.GetFileName(path);
        return Directory.GetFiles(dir).FirstOrDefault(f => System.IO.Path.GetFileName(f).Equals(name, StringComparison.OrdinalIgnoreCase));
    }
}
