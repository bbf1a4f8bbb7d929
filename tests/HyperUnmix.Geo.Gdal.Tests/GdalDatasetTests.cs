using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Gdal.Tests;

public sealed class GdalDatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-gdal-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ConfigureAll_IsIdempotentAndFindsTheSystemLibrary()
    {
        GdalLibrary.ConfigureAll();
        GdalLibrary.ConfigureAll();
        Assert.Matches(@"^\d+\.\d+", GdalLibrary.Version);
        Assert.Contains("gdal", GdalLibrary.LoadedLibrary);
    }

    [Fact]
    public unsafe void CreateWriteReopen_RoundTripsPixelsGeoreferencingAndMetadata()
    {
        var path = Path.Combine(_dir, "a.tif");
        double[] gt = [300000, 10, 0, 4000000, 0, -10];
        using (var srs = SpatialReference.FromUserInput("EPSG:32610"))
        using (var ds = GdalDataset.Create("GTiff", path, 3, 2, 2, GdalDataType.Float32))
        {
            ds.SetGeoTransform(gt);
            ds.SetProjection(srs.Wkt);
            ds.SetMetadataItem("KEY", "value");
            ds.GetBand(2).Description = "second";
            ds.GetBand(1).SetNoData(-1);
            var data = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
            fixed (float* p = data) ds.RasterIO(true, 0, 0, 3, 2, p, GdalDataType.Float32, [1, 2], 4, 12, 24);
            ds.Close();
        }
        using var back = GdalDataset.Open(path);
        Assert.Equal((3, 2, 2), (back.Width, back.Height, back.BandCount));
        Assert.Equal(gt, back.GetGeoTransform());
        Assert.Equal("value", back.GetMetadataItem("KEY"));
        Assert.Equal("second", back.GetBand(2).Description);
        Assert.Equal(-1, back.GetBand(1).NoData);
        Assert.Equal(-1, back.GetBand(2).NoData); // GeoTIFF has one nodata tag for all bands
        using (var srs = SpatialReference.FromUserInput(back.ProjectionWkt)) Assert.Equal(32610, srs.Epsg);
        var read = new float[12];
        fixed (float* p = read) back.RasterIO(false, 0, 0, 3, 2, p, GdalDataType.Float32, [1, 2], 4, 12, 24);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), read);
    }

    [Fact]
    public void Open_MissingFile_ThrowsOpenExceptionNamingTheFile()
    {
        var path = Path.Combine(_dir, "nope.tif");
        var e = Assert.Throws<GdalOpenException>(() => GdalDataset.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Open_TextFileNamedTif_ThrowsWithGdalsMessageAndResetsErrorState()
    {
        var path = Path.Combine(_dir, "text.tif");
        File.WriteAllText(path, "this is not a raster\n");
        var e = Assert.Throws<GdalOpenException>(() => GdalDataset.Open(path));
        Assert.Contains(path, e.Message);
        // The error state was reset: a following valid operation succeeds.
        using var ok = GdalDataset.Create("MEM", "", 1, 1, 1, GdalDataType.Byte);
        Assert.Equal(1, ok.BandCount);
    }

    [Fact]
    public void Open_Directory_ThrowsOpenException()
    {
        var e = Assert.Throws<GdalOpenException>(() => GdalDataset.Open(_dir));
        Assert.Contains("directory", e.Message);
    }

    [Fact]
    public unsafe void RasterIO_WindowOutsideRaster_ThrowsIOExceptionWithGdalMessage()
    {
        using var ds = GdalDataset.Create("MEM", "", 4, 4, 1, GdalDataType.Float32);
        var buf = new float[16];
        var e = Assert.Throws<GdalIOException>(() => { fixed (float* p = buf) ds.RasterIO(false, 2, 2, 4, 4, p, GdalDataType.Float32, [1], 4, 16, 64); });
        Assert.Contains("x=2 y=2", e.Message);
    }

    [Fact]
    public void GetBand_OutOfRange_Throws()
    {
        using var ds = GdalDataset.Create("MEM", "", 1, 1, 2, GdalDataType.Byte);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBand(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBand(0));
    }

    [Fact]
    public void Band_KeepsItsDatasetUsable_DisposedDatasetIsRefused()
    {
        var ds = GdalDataset.Create("MEM", "", 2, 2, 1, GdalDataType.Float32);
        var band = ds.GetBand(1);
        Assert.Equal(GdalDataType.Float32, band.DataType);
        ds.Dispose();
        Assert.Throws<ObjectDisposedException>(() => band.DataType);
    }
}

public class SpatialReferenceTests
{
    [Fact]
    public void Transform_UtmCentralMeridianOnEquator_IsLon15Lat0()
    {
        using var utm = SpatialReference.FromUserInput("EPSG:32633");
        using var wgs = SpatialReference.FromUserInput("EPSG:4326");
        using var ct = new CoordinateTransformation(utm, wgs);
        double[] x = [500000], y = [0];
        ct.Transform(x, y);
        Assert.Equal(15, x[0], 1e-9); // traditional GIS order: x = longitude
        Assert.Equal(0, y[0], 1e-9);
        Assert.True(utm.IsProjected);
        Assert.False(wgs.IsProjected);
        Assert.Equal(4326, wgs.Epsg);
    }

    [Fact]
    public void FromUserInput_Garbage_Throws()
    {
        var e = Assert.Throws<GdalException>(() => SpatialReference.FromUserInput("not a crs"));
        Assert.Contains("not a crs", e.Message);
    }
}
