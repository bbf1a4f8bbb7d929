namespace HyperUnmix.Geo.Cli;

public static partial class Commands
{
    private static Command Library(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var roi = new Option<string>("--roi") { Description = "Polygons (GeoJSON, Shapefile, GeoPackage, ...) over the scene, one spectrum source per feature.", Required = true };
        var classField = new Option<string>("--class-field") { Description = "The polygons' field that names each one's class.", Required = true };
        var layer = new Option<string?>("--roi-layer") { Description = "Layer of --roi (default: the first)." };
        var every = new Option<bool>("--every-pixel") { Description = "One spectrum per valid pixel inside each polygon (default: the polygon's mean)." };
        var scale = new Option<double>("--scale") { Description = "Multiply values by this after the file's band scale (e.g. 0.0001 for reflectance x 10000).", DefaultValueFactory = _ => 1.0 };
        var output = new Option<string>("-o", "--output") { Description = "Library CSV to write (one row per band, class rows after the header; hyperunmix mesma --library reads it).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output." };
        var fromRoi = new Command("from-roi", """
            Build a classed spectral library from polygons over a scene: one spectrum per polygon (its mean) or per
            pixel, classed by --class-field, with the scene's wavelengths and FWHM in nm.

            Example:
              hyperunmix library from-roi scene.tif --roi polygons.gpkg --class-field class -o library.csv
            """) { scene, roi, classField, layer, every, scale, output, overwrite };
        fromRoi.SetAction(parse => Guard(parse, () =>
        {
            if (!(parse.GetValue(scale) is var s && double.IsFinite(s) && s > 0)) throw new UsageException("--scale must be a positive number");
            var lib = LibraryFromRoi.Build(new LibraryFromRoiOptions(parse.GetValue(scene)!, parse.GetValue(roi)!, parse.GetValue(classField)!,
                parse.GetValue(output)!, parse.GetValue(every), parse.GetValue(scale), parse.GetValue(layer), parse.GetValue(overwrite)), cancel);
            var counts = lib.Classes.First().Value.GroupBy(c => c).Select(g => $"{g.Key} {g.Count()}");
            Console.WriteLine($"{lib.Count} spectra of {lib.Bands} bands ({string.Join(", ", counts)})\n  {lib.Path}");
            return ExitCodes.Ok;
        }));
        var cmd = new Command("library", "Spectral libraries: build one from polygons over a scene (from-roi).") { fromRoi };
        return cmd;
    }
}
