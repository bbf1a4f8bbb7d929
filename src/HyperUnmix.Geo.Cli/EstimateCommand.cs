namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Estimate(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var common = InputOptions.Create();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("estimate", "Estimate the number of endmembers: the elbow of the unmixing residual (what unmix uses without -p), with HySime and HFC-VD as second opinions, on a stratified sample of valid pixels.\n\nExample:\n  hyperunmix estimate sample-rasters/scene.tif") { scene, json };
        foreach (var opt in common.All) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = common.Apply(parse, new UnmixOptions { Scene = new SceneInput { Input = parse.GetValue(scene)! }, Outputs = new OutputOptions { Output = "unused" } });
            var sample = ReadSample(o, cancel, out _, out _);
            cancel.ThrowIfCancellationRequested();
            if (sample.Count <= sample.Bands)
                throw new RasterDataException(o.Scene.Input, $"only {sample.Count} valid pixels for {sample.Bands} bands: too few for HySime");
            var r = HySime.Estimate(sample.Y, sample.Bands, sample.Count);
            double[] pf = [1e-3, 1e-4, 1e-5];
            var vd = HfcVd.Estimate(sample.Y, sample.Bands, sample.Count, pf);
            var elbow = ResidualElbow.Estimate(sample.Y, sample.Bands, sample.Count, EndmemberStage.MaxEstimatedEndmembers, o.Seed, cancel: cancel);
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    endmembers = elbow.Count,
                    uncertain = elbow.Uncertain,
                    residual_by_p = elbow.Residuals,
                    hysime = r.Count,
                    hfc_vd = pf.Select((f, i) => new { pf = f, count = vd[i] }).ToArray(),
                    pixels = sample.Count,
                    bands = sample.Bands,
                }, Json));
            else
            {
                Console.WriteLine($"Endmembers: {elbow.Count}{(elbow.Uncertain ? " (uncertain: a close call; look at the residual band or try P +/- 1)" : "")} ({sample.Count} pixels, {sample.Bands} bands)");
                Console.WriteLine("  residual's elbow: RMS residual for P = 1, 2, ...: " +
                    string.Join(", ", elbow.Residuals.Select(v => v.ToString("G3", CultureInfo.InvariantCulture))) +
                    string.Create(CultureInfo.InvariantCulture, $"; P is the last count before one more endmember lowers it by less than {ResidualElbow.Threshold:P0}"));
                Console.WriteLine($"HySime (second opinion; counts more on real scenes): {r.Count} endmembers");
                Console.WriteLine($"HFC-VD (second opinion; often P or P - 1): {string.Join(", ", pf.Select((f, i) => string.Create(CultureInfo.InvariantCulture, $"{vd[i]} at Pf {f:G1}")))}");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The run's sample after the same screening as unmix's (bands without information and fill pixels left out).</summary>
    private static PixelSample ReadSample(UnmixOptions o, CancellationToken cancel, out RasterInfo info, out ScreenResult screen)
    {
        using var src = UnmixJob.OpenInput(o);
        info = src.Info;
        var bands = UnmixJob.SelectBands(o, src.Info);
        var roi = o.Scene.Roi is null ? null : RegionOfInterest.Load(o.Scene.Roi, src.Info, cancel: cancel);
        (screen, var read) = UnmixJob.Screen(o, src, bands, roi, roi?.Window ?? src.Extent);
        var sample = read();
        if (sample.Count == 0) throw new RasterDataException(o.Scene.Input, "has no valid pixel");
        if (screen.Dropped.Count > 0 || screen.ZeroPixels > 0 || screen.NonPhysicalPixels > 0) Console.Error.WriteLine($"hyperunmix: screening: {screen.Summary(bands.Length)}");
        return sample;
    }
}
