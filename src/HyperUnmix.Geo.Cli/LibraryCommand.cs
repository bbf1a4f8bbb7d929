namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Library(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var roi = new Option<string>("--roi") { Description = "Polygons or points (GeoJSON, Shapefile, GeoPackage, ...) over the scene, one spectrum source per feature.", Required = true };
        var assumeCrs = new Option<bool>("--roi-assume-scene-crs") { Description = "Read the features' coordinates in the scene's CRS (or as pixel coordinates when the scene has none), whatever the layer says." };
        var pointWindow = new Option<int>("--point-window") { Description = "For points: the side in pixels of the window centred on each point (odd; 1: the pixel the point falls in).", DefaultValueFactory = _ => 1 };
        var classField = new Option<string>("--class-field") { Description = "The features' field that names each one's class.", Required = true };
        var layer = new Option<string?>("--roi-layer") { Description = "Layer of --roi (default: the first)." };
        var every = new Option<bool>("--every-pixel") { Description = "One spectrum per valid pixel inside each polygon or point window (default: the feature's mean)." };
        var scale = new Option<double>("--scale") { Description = "Multiply values by this after the file's band scale (e.g. 0.0001 for reflectance x 10000).", DefaultValueFactory = _ => 1.0 };
        var output = new Option<string>("-o", "--output") { Description = "Library CSV to write (one row per band, class rows after the header; hyperunmix mesma --library reads it).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output." };
        var fromRoi = new Command("from-roi", """
            Build a classed spectral library from polygons or points over a scene: one spectrum per feature (the mean
            of its pixels: inside the polygon, or in the --point-window around each point) or per pixel, classed by
            --class-field, with the scene's wavelengths and FWHM in nm.

            Examples:
              hyperunmix library from-roi scene.tif --roi polygons.gpkg --class-field class -o library.csv
              hyperunmix library from-roi scene.tif --roi field_points.geojson --class-field cover --point-window 3 -o library.csv
            """) { scene, roi, classField, layer, every, scale, pointWindow, assumeCrs, output, overwrite };
        fromRoi.SetAction(parse => Guard(parse, () =>
        {
            if (!(parse.GetValue(scale) is var s && double.IsFinite(s) && s > 0)) throw new UsageException("--scale must be a positive number");
            if (parse.GetValue(pointWindow) is var pw && (pw < 1 || pw % 2 == 0 || pw > 101)) throw new UsageException($"--point-window must be an odd number of pixels from 1 to 101, not {pw}");
            var lib = LibraryFromRoi.Build(new LibraryFromRoiOptions(parse.GetValue(scene)!, parse.GetValue(roi)!, parse.GetValue(classField)!,
                parse.GetValue(output)!, parse.GetValue(every), parse.GetValue(scale), parse.GetValue(layer), parse.GetValue(overwrite), pw, parse.GetValue(assumeCrs)), cancel);
            var counts = lib.Classes.First().Value.GroupBy(c => c).Select(g => $"{g.Key} {g.Count()}");
            Console.WriteLine($"{lib.Count} spectra of {lib.Bands} bands ({string.Join(", ", counts)})\n  {lib.Path}");
            return ExitCodes.Ok;
        }));
        var cmd = new Command("library", """
            Spectral libraries for mesma: build one from polygons or points over a scene (from-roi), prune one to the spectra
            that best represent their class (prune).

            Examples:
              hyperunmix library from-roi scene.tif --roi polygons.gpkg --class-field class -o library.csv
              hyperunmix library prune library.csv --criterion ear --per-class 3 -o pruned.csv
            """) { fromRoi, Prune() };
        return cmd;
    }

    private static Command Prune()
    {
        var library = new Argument<string>("library") { Description = "Spectral library (.sli with EnMAP-Box sidecars, CSV, .gpkg/.geojson)." };
        var classField = new Option<string?>("--class-field") { Description = "The class column (default: the library's first)." };
        var criterion = new Option<string>("--criterion") { Description = "ear (Endmember Average RMSE, lowest first) | masa (Minimum Average Spectral Angle) | cob (count-based: spectra of the class modelled within the constraints minus those of other classes).", DefaultValueFactory = _ => "ear" };
        criterion.AcceptOnlyFromAmong("ear", "masa", "cob");
        var perClass = new Option<int>("--per-class") { Description = "Spectra kept per class.", DefaultValueFactory = _ => 5 };
        var output = new Option<string>("-o", "--output") { Description = "Library CSV to write.", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output." };
        var cmd = new Command("prune", """
            Keep the spectra that best represent their class, so that a large library gives few MESMA models.

            Example:
              hyperunmix library prune library_berlin.sli --class-field level_1 --criterion ear --per-class 3 -o pruned.csv
            """) { library, classField, criterion, perClass, output, overwrite };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var path = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(path) && !parse.GetValue(overwrite)) throw new RasterOutputException(path, "already exists (use --overwrite to replace it)");
            if (!Directory.Exists(Path.GetDirectoryName(path))) throw new RasterOutputException(path, "the output folder does not exist");
            var lib = SpectralLibraries.Read(parse.GetValue(library)!);
            var mo = new MesmaOptions { Scene = new UnmixOptions { Scene = new SceneInput { Input = "" }, Outputs = new OutputOptions { Output = "" } }, Library = lib.Path, ClassField = parse.GetValue(classField) };
            var (field, classOf, names, _) = MesmaJob.Classes(lib, mo);
            var c = parse.GetValue(criterion) switch { "masa" => HyperUnmix.Geo.Unmixing.Mesma.PruneCriterion.Masa, "cob" => HyperUnmix.Geo.Unmixing.Mesma.PruneCriterion.Cob, _ => HyperUnmix.Geo.Unmixing.Mesma.PruneCriterion.Ear };
            var keep = HyperUnmix.Geo.Unmixing.Mesma.LibraryPruning.Select(lib.Spectra, classOf, c, parse.GetValue(perClass));
            var pruned = lib with
            {
                Path = path,
                Spectra = keep.Select(i => lib.Spectra[i]).ToArray(),
                Names = keep.Select(i => lib.Names[i]).ToArray(),
                Classes = lib.Classes.ToDictionary(kv => kv.Key, kv => keep.Select(i => kv.Value[i]).ToArray()),
            };
            SpectralLibraries.WriteCsv(path, pruned);
            Console.WriteLine($"{keep.Length} of {lib.Count} spectra kept by {parse.GetValue(criterion)!.ToUpperInvariant()} ({string.Join(", ", names.Select((n, k) => $"{n} {keep.Count(i => classOf[i] == k)}"))} in '{field}')\n  {path}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
