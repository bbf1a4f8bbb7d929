namespace HyperUnmix.Geo.Raster.Tests;

/// <summary>Sensor products opened by their folder, metadata file or image: metadata, scale, masks and georeference from the product.</summary>
public sealed class ProductTests : IDisposable
{
    private readonly TestRasters _t = new();
    public void Dispose() => _t.Dispose();

    private static readonly string[] DefaultMasks = ["PIXELMASK", "CLOUD", "HAZE", "SNOW"];

    private static HashSet<int> Flagged(ProductFixtures.Enmap p, IEnumerable<string> masks) =>
        masks.SelectMany(m => ProductFixtures.MaskPixels[m]).Select(x => x.Row * p.Width + x.Col).ToHashSet();

    [Theory]
    [InlineData("folder", false)]
    [InlineData("xml", false)]
    [InlineData("image", false)]
    [InlineData("folder", true)]
    [InlineData("image", true)]
    public void Enmap_OpensWithWavelengthsFwhmScaleMasksAndGeoreference(string named, bool envi)
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), envi);
        var path = named switch { "folder" => p.Folder, "xml" => p.Xml, _ => p.Image };
        using var src = RasterSource.Open(path);
        var i = src.Info;
        Assert.Equal(p.Bands, i.BandCount);
        Assert.Equal(p.Wavelengths, i.Wavelengths);
        Assert.Equal("Nanometers", i.WavelengthUnits);
        Assert.Equal(p.Fwhm, i.Fwhm);
        for (var b = 0; b < p.Bands; b++)
        {
            Assert.Equal(ProductFixtures.Scaling(b).Gain, i.Scale[b], 12);
            Assert.Equal(ProductFixtures.Scaling(b).Offset, i.Offset[b], 12);
        }
        Assert.Equal(p.GeoTransform, i.GeoTransform);
        Assert.Equal(32633, i.Epsg);
        Assert.NotNull(i.Product);
        Assert.Equal("EnMAP", i.Product!.Sensor);
        Assert.Equal("L2A", i.Product.Level);
        Assert.Equal(DefaultMasks.Order(), i.Product.AppliedMasks.Select(m => m.Name).Order());
        var flagged = Flagged(p, DefaultMasks);
        Assert.Equal(flagged.Count, i.Product.MaskedPixels);
        Assert.Contains(System.IO.Path.GetFullPath(p.Xml), src.Files);
        Assert.Contains(System.IO.Path.GetFullPath(p.Image), src.Files);

        // Pixels: reflectance (DN x gain + offset), masked pixels nodata, in both read paths and both layouts.
        int area = p.Width * p.Height, n = p.Bands;
        var bands = Enumerable.Range(0, n).Where(b => b is < 129 or > 134).ToArray(); // bands 130-135 are fill everywhere in the tile
        foreach (var layout in new[] { BufferLayout.BandSequential, BufferLayout.PixelInterleaved })
        {
            var dest = new float[bands.Length * area];
            var valid = new byte[area];
            var count = src.Read(src.Extent, bands, dest, valid, layout);
            Assert.Equal(area - flagged.Count, count);
            for (var px = 0; px < area; px++)
            {
                Assert.Equal(flagged.Contains(px) ? 0 : 1, valid[px]);
                if (valid[px] == 0) continue;
                for (var q = 0; q < bands.Length; q++)
                {
                    var v = layout == BufferLayout.BandSequential ? dest[q * area + px] : dest[px * bands.Length + q];
                    Assert.Equal(p.Reflectance[bands[q] * area + px], v, 5e-6f);
                }
            }
            var samples = new float[bands.Length * area];
            var validSamples = new byte[bands.Length * area];
            src.ReadSamples(src.Extent, bands, samples, validSamples, layout);
            for (var px = 0; px < area; px++)
                Assert.Equal(flagged.Contains(px) ? 0 : 1, validSamples[layout == BufferLayout.BandSequential ? px : px * bands.Length]);
        }
        // Bands 130-135 hold the fill value -32768 (not declared in the image): nodata.
        var b130 = new float[area];
        var v130 = new byte[area];
        src.ReadSamples(src.Extent, [129], b130, v130);
        Assert.All(v130, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Enmap_MasksOption_ChoosesWhichMasksAreNodata()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"));
        int area = p.Width * p.Height;
        foreach (var (masks, expected) in new (string[]?, string[])[] { (["cloud"], ["CLOUD"]), (["none"], []), (["PIXELMASK", "HAZE"], ["PIXELMASK", "HAZE"]) })
        {
            using var src = RasterSource.Open(p.Folder, new RasterOpenOptions { Masks = masks });
            Assert.Equal(expected, src.Info.Product!.AppliedMasks.Select(m => m.Name));
            var valid = new byte[area];
            var count = src.Read(src.Extent, [0, 1, 2], new float[3 * area], valid);
            Assert.Equal(area - Flagged(p, expected).Count, count);
        }
        var e = Assert.Throws<ArgumentException>(() => RasterSource.Open(p.Folder, new RasterOpenOptions { Masks = ["CLOUDS"] }));
        Assert.Contains("CLOUDS", e.Message);
        Assert.Contains("PIXELMASK,CLOUD,HAZE,SNOW", e.Message); // what the product has

    }

    [Fact]
    public void Enmap_WithoutMetadataXml_IsAnErrorNamingIt()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"));
        File.Delete(p.Xml);
        foreach (var path in new[] { p.Folder, p.Image })
        {
            var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(path));
            Assert.Equal(p.Xml, e.Path);
            Assert.Contains("missing", e.Problem);
        }
    }

    [Fact]
    public void Enmap_BandCountDisagreeingWithMetadata_IsAnErrorNamingTheXml()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), xmlBands: 223, masks: false);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(p.Folder));
        Assert.Equal(p.Xml, e.Path);
        Assert.Contains("223 bands", e.Problem);
        Assert.Contains("224", e.Problem);
    }

    [Fact]
    public void Enmap_UnreadableField_IsAnErrorNamingTheField()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), masks: false);
        var text = File.ReadAllText(p.Xml);
        var at = text.IndexOf("<bandID number=\"7\">", StringComparison.Ordinal);
        var g = text.IndexOf("<GainOfBand>", at, StringComparison.Ordinal) + "<GainOfBand>".Length;
        File.WriteAllText(p.Xml, text[..g] + "n/a" + text[text.IndexOf('<', g)..]);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(p.Xml));
        Assert.Equal(p.Xml, e.Path);
        Assert.Contains("bandID[@number=7]/GainOfBand", e.Problem);
    }

    [Fact]
    public void PlainFile_IsNoProduct_AndRefusesMasks()
    {
        using (var src = RasterSource.Open(ProductFixtures.EnmapTile)) Assert.Null(src.Info.Product);
        Assert.Throws<ArgumentException>(() => RasterSource.Open(ProductFixtures.EnmapTile, new RasterOpenOptions { Masks = ["CLOUD"] }));
    }
}
