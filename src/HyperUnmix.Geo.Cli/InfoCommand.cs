namespace HyperUnmix.Geo.Cli;

public static partial class Commands
{
    private static Command Info()
    {
        var scene = SceneArgument();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("info", "Describe a scene: size, bands, CRS, pixel size, wavelengths, nodata, bad bands, blocks.\n\nExample:\n  hyperunmix info sample-rasters/scene.img --json") { scene, json };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            using var src = RasterSource.Open(parse.GetValue(scene)!);
            var i = src.Info;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    path = i.Path, driver = i.Driver, width = i.Width, height = i.Height, bands = i.BandCount, data_type = i.DataType.ToString(),
                    epsg = i.Epsg, crs_wkt = i.CrsWkt, geotransform = i.GeoTransform, pixel_width = i.PixelWidth, pixel_height = i.PixelHeight,
                    nodata = i.NoData, band_names = i.BandNames, wavelengths = i.Wavelengths, wavelength_units = i.WavelengthUnits, fwhm = i.Fwhm,
                    bad_bands = i.BadBands.Select(b => b + 1), block = new[] { i.BlockSize.X, i.BlockSize.Y }, interleave = i.Interleave,
                    compression = i.Compression, reader = src.ReadPath,
                }, Json));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"{i.Path}");
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
            Console.WriteLine($"  bad bands   {(i.BadBands.Length == 0 ? "none" : string.Join(",", i.BadBands.Select(b => b + 1)))}");
            Console.WriteLine($"  reader      {src.ReadPath}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
