namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command Evaluate()
    {
        var output = new Argument<string>("abundances") { Description = "An abundance raster written by 'unmix'." };
        var truth = new Option<string?>("--truth") { Description = "Ground-truth abundance raster (one band per endmember)." };
        var truthE = new Option<string?>("--truth-endmembers") { Description = "Ground-truth endmember CSV." };
        var est = new Option<string?>("--endmembers") { Description = "Estimated endmembers (default: the run's <stem>.endmembers.csv)." };
        var match = new Option<string>("--match") { Description = "Hungarian matching on 'sad' (spectral angle) or 'abundance' (map RMSE).", DefaultValueFactory = _ => "sad" };
        match.AcceptOnlyFromAmong("sad", "abundance");
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("evaluate", "Score an unmixing against ground truth: SAD (rad and deg) and abundance RMSE, Hungarian-matched.\n\nExample:\n  hyperunmix evaluate abundances.tif --truth sample-rasters/scene_abundances.tif --truth-endmembers sample-rasters/scene_endmembers.csv")
            { output, truth, truthE, est, match, json };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var raster = parse.GetValue(output)!;
            var estPath = parse.GetValue(est) ?? UnmixJob.OutputNames(new UnmixOptions { Scene = new SceneInput { Input = "" }, Outputs = new OutputOptions { Output = raster } }).Csv;
            var estimated = File.Exists(estPath) ? EndmemberFiles.Load(estPath) : null;
            if (parse.GetValue(est) is { } given && estimated is null) throw new EndmemberFileException(given, "file not found");
            var by = parse.GetValue(match) == "abundance" ? MatchBy.Abundance : MatchBy.Sad;
            var s = Evaluation.Score(raster, parse.GetValue(truth), parse.GetValue(truthE), estimated, null, by);
            var names = estimated?.Names ?? Enumerable.Range(1, s.Match.Length).Select(i => $"EM{i}").ToArray();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(Evaluation.ToJsonObject(s, names), Json));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"Matching: Hungarian on {(by == MatchBy.Sad ? "spectral angle" : "abundance RMSE")}");
            Console.WriteLine($"{"reference",-10} {"estimate",-10} {"SAD rad",9} {"SAD deg",9} {"RMSE",9}");
            for (var r = 0; r < s.Match.Length; r++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r + 1,-10} {(s.Match[r] >= 0 ? names[s.Match[r]] : "-"),-10} {s.SadRadians[r],9:F4} {s.SadRadians[r] * 180 / Math.PI,9:F2} {s.AbundanceRmsePer[r],9:F4}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"mean",-21} {s.MeanSadRadians,9:F4} {s.MeanSadDegrees,9:F2} {s.AbundanceRmse,9:F4}   (aRMSE x100 = {s.AbundanceRmse * 100:F2})"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
