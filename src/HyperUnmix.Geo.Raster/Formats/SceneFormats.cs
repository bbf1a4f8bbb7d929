using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// What the reader knows about a file format beyond GDAL's generic path: the metadata its header holds, how to check
/// the file against that header, and where its pixels lie for direct reads. A new format is one class implementing
/// this and one line in <see cref="SceneFormats.All"/>.
/// </summary>
internal interface ISceneFormat
{
    string Name { get; }
    /// <summary>Whether this format describes the dataset GDAL opened.</summary>
    bool Claims(GdalDataset ds);
    /// <summary>
    /// The header's items (ENVI's <c>wavelength</c>, <c>fwhm</c>, <c>bbl</c>, <c>interleave</c>, ...) that
    /// <see cref="RasterInfo"/> reads where the bands' own metadata lacks them; empty when the format has none.
    /// </summary>
    IReadOnlyDictionary<string, string> Header(GdalDataset ds);
    /// <summary>Checks the file against its header (a truncated file, a band count that disagrees): <see cref="RasterDataException"/> naming the file.</summary>
    void Check(GdalDataset ds, RasterInfo info, string path);
    /// <summary>The layout of an uncompressed float32 <paramref name="file"/> for direct reads, or null with the reason.</summary>
    RawLayout? Layout(GdalDataset ds, RasterInfo info, string file, out string reason);
}

/// <summary>The formats the reader knows; anything else GDAL opens is read through its generic path.</summary>
internal static class SceneFormats
{
    public static IReadOnlyList<ISceneFormat> All { get; } = [new EnviFormat(), new GeoTiffFormat()];

    /// <summary>The format that claims the dataset, or the generic one.</summary>
    public static ISceneFormat For(GdalDataset ds) => All.FirstOrDefault(f => f.Claims(ds)) ?? Generic;

    private static readonly ISceneFormat Generic = new GenericFormat();

    /// <summary>Any raster GDAL reads: its bands' metadata, read through RasterIO.</summary>
    private sealed class GenericFormat : ISceneFormat
    {
        public string Name => "GDAL";
        public bool Claims(GdalDataset ds) => true;
        public IReadOnlyDictionary<string, string> Header(GdalDataset ds) => new Dictionary<string, string>();
        public void Check(GdalDataset ds, RasterInfo info, string path) { }

        public RawLayout? Layout(GdalDataset ds, RasterInfo info, string file, out string reason)
        {
            reason = $"driver {info.Driver}";
            return null;
        }
    }
}
