using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// A sensor product (EnMAP, PRISMA, EMIT, ...): several files, of which one holds the pixels and others the meaning
/// (wavelengths, gains, bad bands, quality masks). A product reader runs before GDAL opens anything: given what the
/// user named (the product's folder, its metadata file or its image), it says which file GDAL reads and what the
/// product's metadata overrides. A new product is one class implementing this and one line in
/// <see cref="SceneProducts.All"/>.
/// </summary>
internal interface ISceneProduct
{
    /// <summary>The sensor, as <c>info</c> shows it ("EnMAP").</summary>
    string Name { get; }
    /// <summary>
    /// The product <paramref name="path"/> names, or null when it is not one of this reader's products (so that the
    /// next reader, or a plain file, is tried). A path that is this product but broken (a missing metadata file, a
    /// field that cannot be read) is a <see cref="RasterDataException"/> naming the file and the field.
    /// </summary>
    ProductScene? Resolve(string path);
}

/// <summary>A mask of a product, the file it is in, and whether it applies by default.</summary>
public sealed record ProductMaskFile(string Name, string File, bool Default)
{
    /// <summary>The band of <see cref="File"/> that holds the mask (1-based; several masks can share a file).</summary>
    public int Band { get; init; } = 1;
    /// <summary>
    /// For masks that are not rasters on the scene's grid (EMIT's, in sensor geometry): reads the given bands of
    /// <see cref="File"/> onto the grid in one pass, one byte per pixel, 1 = flagged. Shared by the masks of one file.
    /// Null: <see cref="File"/>'s <see cref="Band"/> is read through GDAL.
    /// </summary>
    internal Func<IReadOnlyList<int>, byte[][]>? ReadBands { get; init; }
}

/// <summary>What a product reader found: the file GDAL reads, and the product's metadata that overrides the file's.</summary>
internal sealed record ProductScene
{
    public required string Sensor { get; init; }
    public required string Level { get; init; }
    /// <summary>The dataset GDAL opens for the pixels.</summary>
    public required string DatasetPath { get; init; }
    /// <summary>A file the reader made for this scene (an orthorectified cube), removed when the scene is closed.</summary>
    public string? TemporaryFile { get; init; }
    /// <summary>The metadata file the fields below come from (named in errors).</summary>
    public required string MetadataFile { get; init; }
    /// <summary>The band count the metadata describes; a dataset with another count is refused.</summary>
    public required int BandCount { get; init; }
    public double[]? Wavelengths { get; init; }
    public double[]? Fwhm { get; init; }
    public double[]? Scale { get; init; }
    public double[]? Offset { get; init; }
    public int[]? BadBands { get; init; }
    public double? NoData { get; init; }
    /// <summary>The values (after scale and offset) are surface reflectance, 0-1 (EnMAP L2A; not L1C radiance).</summary>
    public bool Reflectance { get; init; }
    /// <summary>The masks the product has (present files only).</summary>
    public IReadOnlyList<ProductMaskFile> Masks { get; init; } = [];
    /// <summary>Every file of the product (none may be overwritten by an output).</summary>
    public IReadOnlyList<string> Files { get; init; } = [];
}

/// <summary>What <see cref="RasterInfo"/> says about the product a scene came from.</summary>
public sealed record ProductInfo
{
    /// <summary>The sensor: "EnMAP", "EMIT", "PRISMA", "DESIS", "AVIRIS-NG" or "AVIRIS-3".</summary>
    public required string Sensor { get; init; }
    /// <summary>The processing level as the product names it, e.g. "L2A", "L1B radiance" (an AVIRIS scene adds how it was orthorectified).</summary>
    public required string Level { get; init; }
    /// <summary>The product's metadata file the wavelengths, gains and fill value came from.</summary>
    public required string MetadataFile { get; init; }
    /// <summary>The dataset the pixels are read from (may be a temporary cube the reader made, deleted when the scene is closed).</summary>
    public required string ImageFile { get; init; }
    /// <summary>The values (after scale and offset) are surface reflectance, 0-1.</summary>
    public bool Reflectance { get; init; }
    /// <summary>Every mask the product has.</summary>
    public IReadOnlyList<ProductMaskFile> AvailableMasks { get; init; } = [];
    /// <summary>The masks applied as nodata, with the number of pixels each flags.</summary>
    public IReadOnlyList<(string Name, long Pixels)> AppliedMasks { get; init; } = [];
    /// <summary>Pixels nodata because of any applied mask.</summary>
    public long MaskedPixels { get; init; }
}

/// <summary>The product readers; a path none of them claims is opened by GDAL as a plain file.</summary>
internal static class SceneProducts
{
    public static IReadOnlyList<ISceneProduct> All { get; } = [new EnmapProduct(), new EmitProduct(), new PrismaProduct(), new DesisProduct(), new AvirisProduct()];

    /// <summary>The product the path names, or null for a plain file.</summary>
    public static ProductScene? Resolve(string path)
    {
        foreach (var p in All)
            if (p.Resolve(path) is { } scene) return scene;
        return null;
    }

    /// <summary>Mask names are compared case-insensitively; "none" alone selects no mask.</summary>
    public static IReadOnlyList<ProductMaskFile> Select(ProductScene scene, IReadOnlyList<string>? requested)
    {
        if (requested is null) return scene.Masks.Where(m => m.Default).ToArray();
        if (requested.Count == 1 && requested[0].Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var chosen = new List<ProductMaskFile>();
        foreach (var name in requested)
        {
            var m = scene.Masks.FirstOrDefault(x => x.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new ArgumentException(
                        $"{OptionNames.Masks}: {scene.Sensor} product {scene.MetadataFile} has no mask '{name}'; it has: {(scene.Masks.Count == 0 ? "none" : string.Join(",", scene.Masks.Select(x => x.Name)))}");
            if (!chosen.Contains(m)) chosen.Add(m);
        }
        return chosen;
    }

    /// <summary>
    /// Reads the masks onto the scene's grid: 1 where any mask flags the pixel (a non-zero value that is not the
    /// mask file's own nodata value). A mask of another size is refused, naming it.
    /// </summary>
    public static (byte[] Masked, List<(string, long)> Counts) ReadMasks(IReadOnlyList<ProductMaskFile> masks, int width, int height)
    {
        var masked = new byte[width * height];
        var counts = new List<(string, long)>();
        var buffer = new float[width * height];
        // Masks that come with their own reader are read a file at a time (EMIT: one pass over the MASK file).
        var read = new Dictionary<ProductMaskFile, byte[]>();
        foreach (var group in masks.Where(m => m.ReadBands is not null).GroupBy(m => m.File))
        {
            var list = group.ToList();
            var maps = list[0].ReadBands!(list.Select(m => m.Band).ToArray());
            for (var j = 0; j < list.Count; j++) read[list[j]] = maps[j];
        }
        foreach (var m in masks)
        {
            long count = 0;
            if (read.TryGetValue(m, out var flags))
            {
                if (flags.Length != masked.Length)
                    throw new RasterDataException(m.File, $"mask {m.Name} covers {flags.Length} pixels but the spectral image has {masked.Length}");
                for (var i = 0; i < flags.Length; i++)
                {
                    if (flags[i] == 0) continue;
                    count++;
                    masked[i] = 1;
                }
                counts.Add((m.Name, count));
                continue;
            }
            using var ds = GdalDataset.Open(m.File);
            if (ds.Width != width || ds.Height != height)
                throw new RasterDataException(m.File, $"mask {m.Name} is {ds.Width}x{ds.Height} pixels but the spectral image is {width}x{height}");
            if (m.Band > ds.BandCount)
                throw new RasterDataException(m.File, $"mask {m.Name} is band {m.Band} but the file has {ds.BandCount} bands");
            var nd = ds.GetBand(m.Band).NoData;
            unsafe
            {
                fixed (float* p = buffer) ds.RasterIO(false, 0, 0, width, height, p, GdalDataType.Float32, [m.Band], 4, 4L * width, 4L * width * height);
            }
            for (var i = 0; i < buffer.Length; i++)
            {
                var v = buffer[i];
                if (v == 0 || nd is { } n && v == n) continue;
                count++;
                masked[i] = 1;
            }
            counts.Add((m.Name, count));
        }
        return (masked, counts);
    }

    internal static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
