using System.Text.Json;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster.Tests;

public sealed class RasterSinkTests : IDisposable
{
    private readonly TestRasters _t = new();

    public void Dispose() => _t.Dispose();

    private static RasterProfile Profile(int w, int h) => new()
    {
        Width = w,
        Height = h,
        BandNames = ["Tree", "Water", "Soil"],
        GeoTransform = [500030, 30, 0, 5199940, 0, -30],
        CrsWkt = SrsWkt(32633),
        NoData = -9999,
        Metadata = new Dictionary<string, string> { ["HYPERUNMIX_METHOD"] = "FCLS", ["HYPERUNMIX_P"] = "3" },
    };

    private static string SrsWkt(int epsg)
    {
        using var s = SpatialReference.FromUserInput($"EPSG:{epsg}");
        return s.Wkt;
    }

    private static void WriteTiles(RasterSink sink, float[] bsq, int w, int h, int tile)
    {
        var bands = sink.Profile.BandCount;
        // Out of order on purpose: the sink accepts tiles in any order.
        foreach (var t in new TilePlan(new Window(0, 0, w, h), tile, tile).Tiles().Reverse())
        {
            var win = t.Window;
            var buf = new float[bands * win.Area];
            for (var b = 0; b < bands; b++)
                for (var r = 0; r < win.Height; r++)
                    for (var c = 0; c < win.Width; c++)
                        buf[b * win.Area + r * win.Width + c] = bsq[(b * h + win.RowOff + r) * w + win.ColOff + c];
            sink.WriteTile(win, buf);
        }
    }

    [Theory]
    [InlineData(RasterFormat.GTiff, "out.tif", "GTiff")]
    [InlineData(RasterFormat.Cog, "out.tif", "GTiff")]
    [InlineData(RasterFormat.Envi, "out.img", "ENVI")]
    public void Commit_EachFormat_RoundTripsValuesAndGeoreferencing_CheckedByOurReaderAndGdalinfo(RasterFormat format, string name, string driver)
    {
        const int w = 300, h = 270;
        var cube = TestRasters.Cube(w, h, 3);
        cube[5] = -9999;
        var path = _t.Path(name);
        using (var sink = RasterSink.Create(path, Profile(w, h), format))
        {
            WriteTiles(sink, cube, w, h, 128);
            sink.Commit();
        }
        Assert.Empty(Directory.GetFiles(_t.Dir, ".*partial*"));

        using (var src = RasterSource.Open(path))
        {
            Assert.Equal(driver, src.Info.Driver);
            Assert.Equal([500030.0, 30, 0, 5199940, 0, -30], src.Info.GeoTransform!);
            Assert.Equal(32633, src.Info.Epsg);
            Assert.Equal(["Tree", "Water", "Soil"], src.Info.BandNames);
            Assert.All(src.Info.NoData, v => Assert.Equal(-9999, v));
            var buf = new float[3 * w * h];
            var valid = new byte[w * h];
            Assert.Equal(w * h - 1, src.Read(src.Extent, src.AllBands, buf, valid));
            for (var i = 0; i < buf.Length; i++)
                if (valid[i % (w * h)] != 0) Assert.Equal(cube[i], buf[i]);
        }

        var info = TestRasters.GdalInfo(path);
        Assert.Equal(w, info.GetProperty("size")[0].GetInt32());
        Assert.Equal(h, info.GetProperty("size")[1].GetInt32());
        Assert.Equal(500030, info.GetProperty("geoTransform")[0].GetDouble());
        Assert.Contains("32633", info.GetProperty("coordinateSystem").GetProperty("wkt").GetString());
        var bands = info.GetProperty("bands").EnumerateArray().ToArray();
        Assert.Equal(["Tree", "Water", "Soil"], bands.Select(b => b.GetProperty("description").GetString()));
        Assert.All(bands, b => Assert.Equal(-9999, b.GetProperty("noDataValue").GetDouble()));
        Assert.All(bands, b => Assert.Equal("Float32", b.GetProperty("type").GetString()));
        var meta = info.GetProperty("metadata").GetProperty("");
        Assert.Equal("FCLS", meta.GetProperty("HYPERUNMIX_METHOD").GetString());
        if (format == RasterFormat.Cog)
        {
            Assert.Equal("COG", info.GetProperty("metadata").GetProperty("IMAGE_STRUCTURE").GetProperty("LAYOUT").GetString());
            Assert.True(bands[0].GetProperty("overviews").GetArrayLength() >= 1);
        }
        if (format == RasterFormat.GTiff)
        {
            var structure = info.GetProperty("metadata").GetProperty("IMAGE_STRUCTURE");
            Assert.Equal("DEFLATE", structure.GetProperty("COMPRESSION").GetString());
            Assert.Equal(256, bands[0].GetProperty("block")[0].GetInt32());
        }
        if (format == RasterFormat.Envi)
            Assert.Contains("band names = {", File.ReadAllText(_t.Path("out.hdr")), StringComparison.Ordinal);
    }

    [Fact]
    public void Sink_FailureInsideTheTileLoop_LeavesNoOutputAndNoTemporaryFile()
    {
        foreach (var format in new[] { RasterFormat.GTiff, RasterFormat.Envi, RasterFormat.Cog })
        {
            var path = _t.Path(format == RasterFormat.Envi ? "fail.img" : "fail.tif");
            Assert.Throws<InvalidOperationException>(void () =>
            {
                using var sink = RasterSink.Create(path, Profile(64, 64), format);
                sink.WriteTile(new Window(0, 0, 32, 32), new float[3 * 32 * 32]);
                throw new InvalidOperationException("simulated failure midway");
            });
            Assert.Empty(Directory.GetFileSystemEntries(_t.Dir));
        }
    }

    [Fact]
    public void Create_ExistingOutput_IsRefusedUnlessOverwrite()
    {
        var path = _t.Path("exists.tif");
        File.WriteAllText(path, "keep me");
        var e = Assert.Throws<RasterOutputException>(() => RasterSink.Create(path, Profile(8, 8), RasterFormat.GTiff));
        Assert.Contains("use Outputs.Overwrite to replace it", e.Message); // the option, by property (the command says --overwrite)
        Assert.Equal("keep me", File.ReadAllText(path));
        using (var sink = RasterSink.Create(path, Profile(8, 8), RasterFormat.GTiff, overwrite: true))
        {
            Assert.Equal("keep me", File.ReadAllText(path)); // untouched until commit
            sink.WriteTile(new Window(0, 0, 8, 8), new float[3 * 64]);
            sink.Commit();
        }
        using var src = RasterSource.Open(path);
        Assert.Equal(3, src.Info.BandCount);
    }

    [Fact]
    public void Create_MissingFolder_NamesIt()
    {
        var e = Assert.Throws<RasterOutputException>(() => RasterSink.Create(_t.Path("no/such/out.tif"), Profile(8, 8), RasterFormat.GTiff));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void WriteTile_WrongSizeOrOutside_Throws()
    {
        using var sink = RasterSink.Create(_t.Path("x.tif"), Profile(8, 8), RasterFormat.GTiff);
        Assert.Throws<ArgumentException>(() => sink.WriteTile(new Window(0, 0, 4, 4), new float[10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sink.WriteTile(new Window(6, 6, 4, 4), new float[48]));
    }

    [Fact]
    public void Profile_ForSubWindow_ShiftsTheGeotransformExactly()
    {
        var info = new RasterInfo
        {
            Path = "x", Driver = "GTiff", Width = 100, Height = 80, BandCount = 1, DataType = GdalDataType.Float32,
            GeoTransform = [500000, 30, 0, 5200000, 0, -30], NoData = [null], Scale = [1], Offset = [0], BandNames = ["b"],
        };
        var p = RasterProfile.FromSource(info, new Window(10, 4, 20, 30), ["a"]);
        Assert.Equal([500300.0, 30, 0, 5199880, 0, -30], p.GeoTransform!);
        Assert.Equal((20, 30), (p.Width, p.Height));
    }
}
