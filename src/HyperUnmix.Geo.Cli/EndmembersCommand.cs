namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Endmembers(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var common = InputOptions.Create();
        var p = new Option<int?>("-p", "--endmember-count") { Description = "Number of endmembers (default: the elbow of the unmixing residual; see the estimate command)." };
        var extractor = ExtractorOption();
        var noRefine = new Option<bool>("--no-refine") { Description = "Keep the extracted endmembers as they are (no archetypal refinement, no projection onto the signal subspace)." };
        var output = new Option<string>("-o", "--output") { Description = "CSV to write (an ENVI spectral library .sli/.hdr and a plot .png are written next to it).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var cmd = new Command("endmembers", """
            Extract endmember spectra: the same stage as unmix's (VCA, then N-FINDR's swaps, then the archetypal
            refinement, by default), so the CSV is the set unmix would use with the same options.

            Example:
              hyperunmix endmembers sample-rasters/scene.tif -p 4 -o endmembers.csv
            """) { scene, p, extractor, noRefine, output, overwrite };
        foreach (var opt in common.All) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = common.Apply(parse, new UnmixOptions
            {
                Scene = new SceneInput { Input = parse.GetValue(scene)! },
                Endmembers = new EndmemberOptions
                {
                    EndmemberCount = parse.GetValue(p),
                    Extractor = parse.GetValue(extractor)!,
                    RefineEndmembers = !parse.GetValue(noRefine),
                },
                Outputs = new OutputOptions { Output = parse.GetValue(output)! },
            });
            if (o.Endmembers.EndmemberCount is < 1) throw new UsageException($"-p must be at least 1, got {o.Endmembers.EndmemberCount}");
            var csv = Path.GetFullPath(o.Outputs.Output);
            var sli = Path.ChangeExtension(csv, ".sli");
            var png = Path.ChangeExtension(csv, ".png");
            foreach (var f in new[] { csv, sli, Path.ChangeExtension(csv, ".hdr"), png })
                if (File.Exists(f) && !parse.GetValue(overwrite)) throw new RasterOutputException(f, "already exists (use --overwrite to replace it)");
            if (!Directory.Exists(Path.GetDirectoryName(csv))) throw new RasterOutputException(csv, "the output folder does not exist");
            var sample = ReadSample(o, cancel, out var info, out var screen);
            cancel.ThrowIfCancellationRequested();
            var bands = screen.Bands;
            var stage = EndmemberStage.Run(sample, EndmemberRequest.From(o, info.Wavelengths is null ? null : bands.Select(b => info.Wavelengths[b]).ToArray()), cancel);
            var set = stage.Endmembers;
            EndmemberFiles.WriteCsv(csv, set);
            EndmemberFiles.WriteEnviLibrary(sli, set);
            QuickLook.WriteSpectra(png, set);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{set.Count} endmembers ({stage.Source}; estimated SNR {stage.SnrDb:F1} dB)"));
            Console.WriteLine($"  {csv}\n  {sli}\n  {png}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
