namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    private static Command SampleData()
    {
        var dir = new Argument<string>("folder") { Description = "Folder to write the sample scenes into (created if missing).", DefaultValueFactory = _ => "sample-rasters" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing files." };
        var cmd = new Command("sample-data", "Regenerate the project's sample-rasters/ (deterministic).") { dir, overwrite };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            foreach (var f in SampleRasters.Write(parse.GetValue(dir)!, parse.GetValue(overwrite))) Console.WriteLine($"  {f}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
