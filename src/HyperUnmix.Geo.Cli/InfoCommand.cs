namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Info()
    {
        var scene = SceneArgument();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var masks = MasksOption();
        var cmd = new Command("info", "Describe a scene: sensor product, size, bands, CRS, pixel size, wavelengths, scale, nodata, bad bands, masks, " +
            "the bands the screening leaves out, blocks.\n\nExample:\n  hyperunmix info sample-rasters/scene.img --json\n  hyperunmix info ENMAP01-...-METADATA.XML") { scene, json, masks };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var input = parse.GetValue(scene)!;
            using var src = RasterSource.Open(input, new RasterOpenOptions { Masks = ParseMasks(parse.GetValue(masks)) });
            var i = src.Info;
            var product = i.Product;
            var screening = ScreeningOf(input, src);
            var scale = ScaleSummary(i);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    path = i.Path, driver = i.Driver, width = i.Width, height = i.Height, bands = i.BandCount, data_type = i.DataType.ToString(),
                    epsg = i.Epsg, crs_wkt = i.CrsWkt, geotransform = i.GeoTransform, pixel_width = i.PixelWidth, pixel_height = i.PixelHeight,
                    nodata = i.NoData, band_names = i.BandNames, wavelengths = i.Wavelengths, wavelength_units = i.WavelengthUnits, fwhm = i.Fwhm,
                    bad_bands = i.BadBands.Select(b => b + 1), block = new[] { i.BlockSize.X, i.BlockSize.Y }, interleave = i.Interleave,
                    compression = i.Compression, reader = src.ReadPath,
                    sensor = product?.Sensor, level = product?.Level, metadata_file = product?.MetadataFile, image_file = product?.ImageFile,
                    scale = i.Scale, offset = i.Offset, scale_summary = scale,
                    masks_available = product?.AvailableMasks.Select(m => m.Name),
                    masks_applied = product?.AppliedMasks.Select(m => new { name = m.Name, pixels = m.Pixels }),
                    masked_pixels = product?.MaskedPixels,
                    screening = screening is { } sc ? new
                    {
                        bands_used = sc.Screen?.Bands.Length, bands_left_out = sc.Screen?.Dropped.Select(d => new { bands = BandScreen.Ranges(d.Bands.Select(b => b)), count = d.Bands.Length, reason = d.Reason }),
                        summary = sc.Line,
                    } : null,
                }, Json));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"{i.Path}");
            if (product is not null)
            {
                Console.WriteLine($"  product     {product.Sensor} {product.Level} (metadata {Path.GetFileName(product.MetadataFile)}, image {Path.GetFileName(product.ImageFile)})");
                Console.WriteLine(product.AppliedMasks.Count == 0
                    ? $"  masks       none applied (available: {(product.AvailableMasks.Count == 0 ? "none" : string.Join(",", product.AvailableMasks.Select(m => m.Name)))})"
                    : $"  masks       {string.Join(", ", product.AppliedMasks.Select(m => $"{m.Name} {m.Pixels} px"))}; {product.MaskedPixels} pixels nodata");
            }
            Console.WriteLine($"  driver      {i.Driver}, {i.DataType}, interleave {i.Interleave ?? "?"}, compression {i.Compression ?? "none"}");
            Console.WriteLine($"  size        {i.Width} x {i.Height} pixels, {i.BandCount} bands, blocks {i.BlockSize.X} x {i.BlockSize.Y}");
            Console.WriteLine($"  CRS         {(i.Epsg is { } e ? $"EPSG:{e}" : string.IsNullOrEmpty(i.CrsWkt) ? "none (pixel coordinates)" : "custom WKT")}");
            Console.WriteLine($"  pixel size  {(i.HasGeoreference ? string.Create(CultureInfo.InvariantCulture, $"{i.PixelWidth:G6} x {i.PixelHeight:G6}") : "n/a")}");
            if (i.GeoTransform is { } gt) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  origin      {gt[0]:G10}, {gt[3]:G10}"));
            var nd = i.NoData.Distinct().ToArray();
            Console.WriteLine($"  nodata      {(nd.Length == 1 ? nd[0]?.ToString(CultureInfo.InvariantCulture) ?? "none" : "per band")}");
            Console.WriteLine(i.Wavelengths is { } w
                ? string.Create(CultureInfo.InvariantCulture, $"  wavelengths {w.Min():G6} - {w.Max():G6} {i.WavelengthUnits}")
                : "  wavelengths none");
            Console.WriteLine($"  scale       {scale}");
            Console.WriteLine($"  bad bands   {(i.BadBands.Length == 0 ? "none" : string.Join(",", i.BadBands.Select(b => b + 1)))}");
            if (screening is { } s) Console.WriteLine($"  screening   {s.Line}");
            Console.WriteLine($"  reader      {src.ReadPath}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>"x 0.0001" when every band has one scale and no offset, else the ranges; "none" when unscaled.</summary>
    private static string ScaleSummary(RasterInfo i)
    {
        static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        if (i.Scale.All(v => v == 1) && i.Offset.All(v => v == 0)) return "none (values as stored)";
        var uniform = i.Scale.Distinct().Count() == 1 && i.Offset.Distinct().Count() == 1;
        return uniform
            ? $"value = stored x {G(i.Scale[0])}{(i.Offset[0] == 0 ? "" : $" + {G(i.Offset[0])}")}"
            : $"per band: value = stored x {G(i.Scale.Min())}..{G(i.Scale.Max())} + {G(i.Offset.Min())}..{G(i.Offset.Max())}";
    }

    /// <summary>What a default run's screening leaves out of this scene (on its sample), or why it cannot say.</summary>
    private static (ScreenResult? Screen, string Line)? ScreeningOf(string input, RasterSource src)
    {
        try
        {
            var o = new UnmixOptions { Scene = new SceneInput { Input = input }, Outputs = new OutputOptions { Output = "" } };
            var (screen, _) = UnmixJob.Screen(o, src, src.AllBands, null, src.Extent);
            return (screen, screen.Summary(src.Info.BandCount));
        }
        catch (RasterDataException e)
        {
            return (null, e.Problem);
        }
    }
}
