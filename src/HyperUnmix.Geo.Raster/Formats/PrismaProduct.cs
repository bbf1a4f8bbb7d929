using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// PRISMA L2D (<c>PRS_L2D_*.he5</c>, HDF-EOS5): the cubes <c>HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/{VNIR_Cube,
/// SWIR_Cube}</c>, stored rows x bands x columns as 16-bit DN; wavelengths and FWHM in the root attributes
/// <c>List_Cw_Vnir</c>, <c>List_Fwhm_Vnir</c> (and _Swir), bands flagged unused in <c>List_Cw_*_Flags</c> (0) or with
/// a 0 wavelength left out; reflectance = <c>L2Scale*Min</c> + DN x (<c>L2Scale*Max</c> - <c>Min</c>) / 65535; the map
/// grid from <c>Epsg_Code</c> and the corner attributes <c>Product_ULcorner_easting/northing</c> and
/// <c>Product_LRcorner_easting/northing</c> (<see cref="MapGrid"/>). A sample whose
/// <c>{VNIR,SWIR}_PIXEL_L2_ERR_MATRIX</c> value is not 0 is nodata. The two cubes are merged in wavelength order into a
/// temporary GeoTIFF (DN, with each band's scale and offset), removed when the scene is closed.
/// </summary>
internal sealed class PrismaProduct : ISceneProduct
{
    public string Name => "PRISMA";
    private const string Fields = "Data Fields";
    private const int NoDataDn = -1;

    /// <summary>PRISMA's hyperspectral cubes are on a 30 m grid.</summary>
    private const double Pixel = 30;

    /// <summary>
    /// The geotransform from the corner attributes. ASI's specification does not say (in any text we could read)
    /// whether they name the corner pixels' centres or the image's outer edges, and readers differ: EnMAP-Box's
    /// importer and prismaread take centres (origin = UL - 15 m east, + 15 m north), HyperCoast takes edges, and
    /// EnMAP-Box issue #1072 reports a 15 m shift against the panchromatic cube. The span tells them apart on a 30 m
    /// grid: centres span (n - 1) x 30 m, edges n x 30 m. The nearer reading wins on each axis; the pixel size is
    /// then the span over n - 1 or n.
    /// </summary>
    internal static double[] MapGrid(double ulE, double ulN, double lrE, double lrN, int cols, int rows)
    {
        static (double Origin, double Size) Axis(double from, double span, int n)
        {
            var centres = n > 1 && Math.Abs(span - (n - 1) * Pixel) < Math.Abs(span - n * Pixel);
            var size = centres ? span / (n - 1) : span / n;
            return (centres ? from - size / 2 : from, size);
        }
        var (x0, sx) = Axis(ulE, lrE - ulE, cols);
        var (y0, sy) = Axis(-ulN, ulN - lrN, rows);
        return [x0, sx, 0, -y0, 0, -sy];
    }

    public ProductScene? Resolve(string path)
    {
        if (!File.Exists(path) || !path.EndsWith(".he5", StringComparison.OrdinalIgnoreCase)) return null;
        Hdf5Files.CheckComplete(path);
        GdalMultiDimFile file;
        try { file = GdalMultiDimFile.Open(path); }
        catch (GdalException e) { throw new RasterDataException(path, $"is not a readable PRISMA HDF-EOS5 file (truncated?): {e.Message}"); }
        using (file)
        {
            using var hdfeos = file.Root.TryOpenGroup("HDFEOS");
            using var swaths = hdfeos?.TryOpenGroup("SWATHS");
            using var swath = swaths?.TryOpenGroup("PRS_L2D_HCO");
            using var fields = swath?.TryOpenGroup(Fields);
            if (fields is null)
            {
                // Another HDF5 file (a PRISMA L1 or L2C product, other sensors): GDAL's generic path, or its subdataset syntax.
                if (!System.IO.Path.GetFileName(path).StartsWith("PRS_L2D", StringComparison.OrdinalIgnoreCase)) return null;
                throw new RasterDataException(path, "HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields is missing (not a PRISMA L2D product)");
            }
            double Attr(string name) =>
                file.Root.GetDoubleAttribute(name) is [var v, ..] ? v : throw new RasterDataException(path, $"the root attribute {name} is missing");
            double[] List(string name, int n)
            {
                var v = file.Root.GetDoubleAttribute(name) ?? throw new RasterDataException(path, $"the root attribute {name} is missing");
                return v.Length == n ? v : throw new RasterDataException(path, $"the root attribute {name} has {v.Length} values but the cube has {n} bands");
            }

            var parts = new List<(GdalMDArray Cube, GdalMDArray? Errors, int Band, double Wavelength, double Fwhm, double Scale, double Offset)>();
            var arrays = new List<IDisposable>();
            try
            {
                int rows = -1, cols = -1;
                foreach (var (cubeName, tag) in new[] { ("VNIR_Cube", "Vnir"), ("SWIR_Cube", "Swir") })
                {
                    var cube = fields.TryOpenArray(cubeName) ?? throw new RasterDataException(path, $"HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/{cubeName} is missing");
                    arrays.Add(cube);
                    var shape = cube.Shape;
                    if (shape.Length != 3) throw new RasterDataException(path, $"{cubeName} has {shape.Length} dimensions, not rows x bands x columns");
                    if (rows >= 0 && ((int)shape[0] != rows || (int)shape[2] != cols))
                        throw new RasterDataException(path, $"{cubeName} is {shape[0]} x {shape[2]} pixels but VNIR_Cube is {rows} x {cols}");
                    (rows, cols) = ((int)shape[0], (int)shape[2]);
                    var n = (int)shape[1];
                    var errors = fields.TryOpenArray($"{tag.ToUpperInvariant()}_PIXEL_L2_ERR_MATRIX");
                    if (errors is not null)
                    {
                        arrays.Add(errors);
                        if (!errors.Shape.SequenceEqual(shape))
                            throw new RasterDataException(path, $"{tag.ToUpperInvariant()}_PIXEL_L2_ERR_MATRIX is {string.Join(" x ", errors.Shape)} but {cubeName} is {string.Join(" x ", shape)}");
                    }
                    var cw = List($"List_Cw_{tag}", n);
                    var fwhm = List($"List_Fwhm_{tag}", n);
                    var flags = file.Root.GetDoubleAttribute($"List_Cw_{tag}_Flags") is { } f ? List($"List_Cw_{tag}_Flags", n) : null;
                    double min = Attr($"L2Scale{tag}Min"), max = Attr($"L2Scale{tag}Max");
                    for (var b = 0; b < n; b++)
                        if (cw[b] > 0 && (flags is null || flags[b] != 0))
                            parts.Add((cube, errors, b, cw[b], fwhm[b], (max - min) / 65535, min));
                }
                if (parts.Count == 0) throw new RasterDataException(path, "List_Cw_Vnir_Flags and List_Cw_Swir_Flags mark every band unused");
                var ordered = parts.OrderBy(p => p.Wavelength).ToArray();

                var epsg = (int)Attr("Epsg_Code");
                double ulE = Attr("Product_ULcorner_easting"), ulN = Attr("Product_ULcorner_northing");
                double lrE = Attr("Product_LRcorner_easting"), lrN = Attr("Product_LRcorner_northing");
                if (!(lrE > ulE && ulN > lrN))
                    throw new RasterDataException(path, string.Create(CultureInfo.InvariantCulture,
                        $"the corner attributes do not bound an image: Product_ULcorner ({ulE}, {ulN}), Product_LRcorner ({lrE}, {lrN})"));
                var gt = MapGrid(ulE, ulN, lrE, lrN, cols, rows);
                string wkt;
                try
                {
                    using var srs = SpatialReference.FromUserInput($"EPSG:{epsg}");
                    wkt = srs.Wkt;
                }
                catch (GdalException) { throw new RasterDataException(path, $"the root attribute Epsg_Code is {epsg}, not a CRS GDAL knows"); }

                var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hyperunmix-prisma-{Guid.NewGuid():N}.tif");
                try { WriteMerged(temp, ordered.Select(p => (p.Cube, p.Errors, p.Band)).ToArray(), rows, cols, gt, wkt); }
                catch
                {
                    File.Delete(temp);
                    throw;
                }
                return new ProductScene
                {
                    Sensor = Name,
                    Level = "L2D",
                    DatasetPath = temp,
                    TemporaryFile = temp,
                    MetadataFile = path,
                    BandCount = ordered.Length,
                    Wavelengths = ordered.Select(p => p.Wavelength).ToArray(),
                    Fwhm = ordered.Select(p => p.Fwhm).ToArray(),
                    Scale = ordered.Select(p => p.Scale).ToArray(),
                    Offset = ordered.Select(p => p.Offset).ToArray(),
                    Reflectance = true,
                    Files = [path],
                };
            }
            finally
            {
                foreach (var a in arrays) a.Dispose();
            }
        }
    }

    /// <summary>Band by band in wavelength order: the DN of each pixel, or -1 where the error matrix flags the sample.</summary>
    private static unsafe void WriteMerged(string temp, (GdalMDArray Cube, GdalMDArray? Errors, int Band)[] bands, int rows, int cols, double[] gt, string wkt)
    {
        using var ds = GdalDataset.Create("GTiff", temp, cols, rows, bands.Length, GdalDataType.Int32, ["INTERLEAVE=BAND"]);
        ds.SetGeoTransform(gt);
        ds.SetProjection(wkt);
        var dn = new int[rows * cols];
        var err = new int[rows * cols];
        for (var k = 0; k < bands.Length; k++)
        {
            var (cube, errors, b) = bands[k];
            ds.GetBand(k + 1).SetNoData(NoDataDn);
            cube.Read([0, (ulong)b, 0], [(ulong)rows, 1, (ulong)cols], dn.AsSpan());
            if (errors is not null)
            {
                errors.Read([0, (ulong)b, 0], [(ulong)rows, 1, (ulong)cols], err.AsSpan());
                for (var i = 0; i < dn.Length; i++)
                    if (err[i] != 0) dn[i] = NoDataDn;
            }
            fixed (int* p = dn) ds.RasterIO(true, 0, 0, cols, rows, p, GdalDataType.Int32, [k + 1], 4, 4L * cols, 4L * rows * cols);
        }
        ds.Close();
    }
}
