namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Synth()
    {
        var output = new Option<string>("-o", "--output") { Description = "Cube to write (.tif or .img); ground truth goes next to it as _abundances.tif and _endmembers.csv.", Required = true };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 100, Description = "Columns." };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 100, Description = "Rows." };
        var bands = new Option<int?>("--bands") { Description = "Bands: of the built-in spectra (default 96), or that many evenly spaced bands of --library (default: all of them)." };
        var p = new Option<int>("-p", "--endmember-count") { DefaultValueFactory = _ => 4, Description = "Endmembers." };
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "lmm", Description = "lmm | fan | gbm | ppnm | mlm." };
        model.AcceptOnlyFromAmong("lmm", "fan", "gbm", "ppnm", "mlm");
        var snr = new Option<double>("--snr")
        {
            DefaultValueFactory = _ => 30,
            Description = "Signal-to-noise ratio, dB (inf for none).",
            // "inf", as the description says: .NET's parser knows only "Infinity".
            CustomParser = r =>
            {
                var t = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t.Equals("infinity", StringComparison.OrdinalIgnoreCase)) return double.PositiveInfinity;
                if (double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && !double.IsNaN(v)) return v;
                r.AddError($"--snr: '{t}' is not a number of dB or inf");
                return 0;
            },
        };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 1, Description = "Random seed." };
        var library = new Option<string?>("--library") { Description = "Spectral library CSV (e.g. the USGS library); built-in spectra when absent." };
        var names = new Option<string?>("--library-names") { Description = "Comma-separated spectra to take from --library." };
        var spatial = new Option<bool>("--spatial") { Description = "Smooth spatial patches instead of independent Dirichlet pixels." };
        var purity = new Option<double?>("--max-purity") { Description = "Largest abundance allowed outside pure pixels." };
        var pure = new Option<int>("--pure-pixels") { DefaultValueFactory = _ => 1, Description = "Pure pixels per endmember." };
        var format = new Option<string>("--format", "-f") { DefaultValueFactory = _ => "gtiff", Description = "gtiff | envi." };
        format.AcceptOnlyFromAmong("gtiff", "envi");
        var epsg = new Option<int>("--epsg") { DefaultValueFactory = _ => 32633, Description = "CRS of the grid." };
        var pixel = new Option<double>("--pixel-size") { DefaultValueFactory = _ => 30, Description = "Pixel size in CRS units." };
        var illumination = new Option<double>("--illumination") { DefaultValueFactory = _ => 1, Description = "Per-pixel illumination: each pixel scaled by a factor drawn in [VALUE, 1] (shading, slopes); 1 for none." };
        var rare = new Option<int>("--rare") { DefaultValueFactory = _ => 0, Description = "The last N endmembers are rare materials: only in 2 x 2 patches (abundance 0.4-1, one pure pixel each), absent elsewhere." };
        var rareFraction = new Option<double>("--rare-fraction") { DefaultValueFactory = _ => 0.01, Description = "Share of the pixels each rare material's patches cover." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var cmd = new Command("synth", "Write a synthetic georeferenced scene with ground truth.\n\nExample:\n  hyperunmix synth -o ppnm.tif --model ppnm --snr 30 -p 4 --spatial")
            { output, width, height, bands, p, model, snr, seed, library, names, spatial, purity, pure, illumination, rare, rareFraction, format, epsg, pixel, overwrite };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var r = SyntheticSceneWriter.Write(new SynthOptions
            {
                Output = parse.GetValue(output)!,
                Bands = parse.GetValue(bands),
                EndmemberCount = parse.GetValue(p),
                Library = parse.GetValue(library),
                LibraryNames = parse.GetValue(names)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Format = parse.GetValue(format) == "envi" ? RasterFormat.Envi : RasterFormat.GTiff,
                Epsg = parse.GetValue(epsg),
                PixelSize = parse.GetValue(pixel),
                Overwrite = parse.GetValue(overwrite),
                Scene = new SceneOptions
                {
                    Width = parse.GetValue(width),
                    Height = parse.GetValue(height),
                    Model = Enum.Parse<MixingModel>(parse.GetValue(model)!, ignoreCase: true),
                    SnrDb = parse.GetValue(snr),
                    Seed = parse.GetValue(seed),
                    Spatial = parse.GetValue(spatial),
                    MaxPurity = parse.GetValue(purity),
                    PurePixels = parse.GetValue(pure),
                    RareCount = parse.GetValue(rare),
                    RareFraction = parse.GetValue(rareFraction),
                    IlluminationMin = parse.GetValue(illumination) is > 0 and <= 1 and var ill ? ill : throw new UsageException($"--illumination must be in (0, 1], got {parse.GetValue(illumination)}"),
                },
            });
            Console.WriteLine($"Synthetic scene ({string.Join(", ", r.Truth.Names)}):\n  {r.Cube}\n  {r.Abundances}\n  {r.Endmembers}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
