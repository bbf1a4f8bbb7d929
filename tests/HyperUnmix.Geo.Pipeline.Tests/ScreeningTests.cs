using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>
/// The screening on a scene as real products deliver them: a band that is nodata in every pixel, a constant band and
/// a pixel that is 0 in every band, through both ways the screening reads (the run's random sample when it extracts
/// endmembers, spread windows when it is given them) and both tile readers.
/// </summary>
[Collection("sample")]
public sealed class ScreeningTests(SampleScene s)
{
    /// <summary>The sample scene with band 11 all nodata, band 21 constant and pixel (col 5, row 7) all zero.</summary>
    private string Damaged(string dir, RasterFormat format)
    {
        using var src = RasterSource.Open(s.Tif);
        var info = src.Info;
        int n = (int)src.Extent.Area, l = info.BandCount;
        var y = new float[l * n];
        var valid = new byte[n];
        src.Read(src.Extent, src.AllBands, y, valid);
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) for (var b = 0; b < l; b++) y[b * n + k] = -9999;
            y[10 * n + k] = -9999;
            y[20 * n + k] = 0.25f;
        }
        var zero = 7 * info.Width + 5;
        for (var b = 0; b < l; b++) y[b * n + zero] = b == 10 ? -9999 : 0;
        var path = Path.Combine(dir, format == RasterFormat.Envi ? "damaged.img" : "damaged.tif");
        var profile = RasterProfile.FromSource(info, src.Extent, info.BandNames) with { NoData = -9999 };
        SceneFiles.WriteCube(path, format, y, profile, info.Wavelengths, false);
        return path;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void NodataBand_ConstantBand_ZeroPixel_AreLeftOut(bool givenEndmembers, bool compressed)
    {
        var dir = s.NewDir();
        // ENVI is read straight from the file (the screening's spread windows); the compressed GeoTIFF through GDAL.
        var input = Damaged(dir, compressed ? RasterFormat.GTiff : RasterFormat.Envi);
        var r = UnmixJob.Run(new UnmixOptions
        {
            Scene = new SceneInput { Input = input },
            Endmembers = new EndmemberOptions { SampleSize = 1000, EndmembersFile = givenEndmembers ? s.TruthEndmembers : null, EndmemberCount = givenEndmembers ? null : 4 },
            Method = new MethodOptions { Name = UnmixMethod.Fcls },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), SideOutputs = false },
        });
        var screen = r.Screen!;
        Assert.Contains(screen.Dropped, d => d.Bands.SequenceEqual([10]) && d.Reason.Contains("no valid value"));
        Assert.Contains(screen.Dropped, d => d.Bands.SequenceEqual([20]) && d.Reason.Contains("one value"));
        Assert.Contains(screen.Dropped, d => d.Reason.StartsWith("atmospheric absorption", StringComparison.Ordinal));
        Assert.DoesNotContain(10, screen.Bands);
        Assert.Equal(r.Endmembers.Bands, screen.Bands.Length);
        // Every pixel valid before is unmixed, except the all-zero one, which is nodata.
        Assert.Equal(7922 - 1, r.ValidPixels);
        using var output = RasterSource.Open(r.Output);
        var a = new float[output.Info.BandCount];
        output.Read(new Window(5, 7, 1, 1), output.AllBands, a, new byte[1]);
        Assert.All(a, v => Assert.Equal(0f, v)); // nodata pixels read back as 0 with valid = 0
        var valid = new byte[1];
        output.Read(new Window(5, 7, 1, 1), output.AllBands, a, valid);
        Assert.Equal(0, valid[0]);
    }

    [Fact]
    public void NonPhysicalRule_MostBandsOutsideTheReflectanceRange_AndOnlyForKnownReflectance()
    {
        // 4 bands: 3 outside [-0.05, 1.5] is most; 2 of 4 is not; bounds themselves are inside.
        Assert.True(BandScreen.IsNonPhysical([2f, -0.1f, 1.6f, 0.3f], 0, 1, 4, 1));
        Assert.False(BandScreen.IsNonPhysical([2f, -0.1f, 0.2f, 0.3f], 0, 1, 4, 1));
        Assert.False(BandScreen.IsNonPhysical([-0.05f, 1.5f, 1.5f, 0f], 0, 1, 4, 1));
        // Scaled and strided (band-sequential): DN 20000 x 0.0001 = 2.0 in every band.
        Assert.True(BandScreen.IsNonPhysical([20000f, 1f, 20000f, 1f, 20000f, 1f], 0, 2, 3, 0.0001f));
        Assert.False(BandScreen.IsNonPhysical([20000f, 1f, 20000f, 1f, 20000f, 1f], 1, 2, 3, 0.0001f));
        RasterInfo Info(double scale) => new()
        {
            Path = "x", Driver = "GTiff", Width = 1, Height = 1, BandCount = 2, DataType = HyperUnmix.Geo.Gdal.GdalDataType.Float32,
            NoData = [null, null], Scale = [scale, scale], Offset = [0, 0], BandNames = ["a", "b"],
        };
        Assert.False(BandScreen.KnownReflectance(Info(1), 1));       // Samson, Jasper: units unknown, never judged
        Assert.True(BandScreen.KnownReflectance(Info(0.0001), 1));   // reflectance x 10,000 with its scale
        Assert.True(BandScreen.KnownReflectance(Info(1), 0.0001));   // ... or --scale 0.0001
        Assert.False(BandScreen.KnownReflectance(Info(0.01), 1));    // radiance-like scales are not judged
    }
}

/// <summary>The tile loop's per-pixel rules (<see cref="PixelScreen"/>), vectorised, against the scalar rule the sample uses.</summary>
public sealed class PixelScreenTests
{
    [Theory]
    [InlineData(BufferLayout.PixelInterleaved, 37, 224)]
    [InlineData(BufferLayout.BandSequential, 37, 224)]
    [InlineData(BufferLayout.BandSequential, 1003, 7)]
    [InlineData(BufferLayout.BandSequential, 5003, 9)] // a whole tile: the pooled buffer
    [InlineData(BufferLayout.PixelInterleaved, 5, 3)]
    public void VectorisedRules_DropExactlyThePixelsTheScalarRuleDrops(BufferLayout layout, int m, int bands)
    {
        var rng = new Random(m * 31 + bands);
        var y = new float[m * bands];
        var valid = new byte[m];
        // Pixels with a chosen share of bands outside the range (around one half, where the rule decides), values on
        // the range's edges, NaN, all-zero pixels and pixels already invalid.
        var expectedZero = new bool[m];
        for (var k = 0; k < m; k++)
        {
            valid[k] = (byte)(k % 11 == 3 ? 0 : 1);
            var share = rng.NextDouble();
            for (var b = 0; b < bands; b++)
            {
                float v = rng.Next(8) switch
                {
                    0 => BandScreen.ReflectanceMin,
                    1 => BandScreen.ReflectanceMax,
                    2 => k % 5 == 0 ? float.NaN : 0.3f,
                    _ => rng.NextDouble() < share ? (rng.Next(2) == 0 ? -0.2f : 1.8f) : (float)rng.NextDouble(),
                };
                if (k % 13 == 4) v = 0;
                y[layout == BufferLayout.PixelInterleaved ? k * bands + b : b * m + k] = v;
            }
            expectedZero[k] = k % 13 == 4;
        }
        var expected = (byte[])valid.Clone();
        int expectedDropped = 0, nonPhysical = 0;
        for (var k = 0; k < m; k++)
        {
            if (expected[k] == 0) continue;
            var rejected = expectedZero[k] || (layout == BufferLayout.PixelInterleaved
                ? BandScreen.IsNonPhysical(y, k * bands, 1, bands, 1f)
                : BandScreen.IsNonPhysical(y, k, m, bands, 1f));
            if (!expectedZero[k] && rejected) nonPhysical++;
            if (rejected) { expected[k] = 0; expectedDropped++; }
        }
        Assert.InRange(nonPhysical, 1, m - 1);
        var dropped = PixelScreen.Apply(new PixelScreen.ReadPixels { Y = y, Layout = layout, Pixels = m, Bands = bands, Valid = valid }, reflectance: true, scale: 1f);
        Assert.Equal(expectedDropped, dropped);
        Assert.Equal(expected, valid);
    }
}
