namespace HyperUnmix.Geo.Cli;

public static partial class Commands
{
    private static Command Estimate(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var common = InputOptions.Create();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("estimate", "Estimate the number of endmembers with HySime (and HFC-VD as a second opinion) on a stratified sample of valid pixels.\n\nExample:\n  hyperunmix estimate sample-rasters/scene.tif") { scene, json };
        foreach (var opt in common.All) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = common.Apply(parse, new UnmixOptions { Input = parse.GetValue(scene)!, Output = "unused" });
            var sample = ReadSample(o, cancel, out _);
            cancel.ThrowIfCancellationRequested();
            if (sample.Count <= sample.Bands)
                throw new RasterDataException(o.Input, $"only {sample.Count} valid pixels for {sample.Bands} bands: too few for HySime");
            var r = HySime.Estimate(sample.Y, sample.Bands, sample.Count);
            double[] pf = [1e-3, 1e-4, 1e-5];
            var vd = HfcVd.Estimate(sample.Y, sample.Bands, sample.Count, pf);
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    hysime = r.Count,
                    hfc_vd = pf.Select((f, i) => new { pf = f, count = vd[i] }).ToArray(),
                    pixels = sample.Count,
                    bands = sample.Bands,
                }, Json));
            else
            {
                Console.WriteLine($"HySime: {r.Count} endmembers ({sample.Count} pixels, {sample.Bands} bands)");
                Console.WriteLine($"HFC-VD (second opinion; often P or P - 1): {string.Join(", ", pf.Select((f, i) => string.Create(CultureInfo.InvariantCulture, $"{vd[i]} at Pf {f:G1}")))}");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static PixelSample ReadSample(UnmixOptions o, CancellationToken cancel, out RasterInfo info)
    {
        using var src = UnmixJob.OpenInput(o);
        info = src.Info;
        var bands = UnmixJob.SelectBands(o, src.Info);
        var roi = o.Roi is null ? null : RegionOfInterest.Load(o.Roi, src.Info, cancel: cancel);
        var sample = Sampling.Read(src, roi?.Window ?? src.Extent, roi, bands, o.InputScale, o.SampleSize, o.Seed);
        if (sample.Count == 0) throw new RasterDataException(o.Input, "has no valid pixel");
        return sample;
    }
}
