using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Cli;

/// <summary>
/// The one table from the library's option names (property paths, <see cref="OptionPath"/>) to this command's flags.
/// The library's messages name properties ("Execution.Threads must be at least 1"); where the command prints an
/// error it names the flags instead ("--threads must be at least 1"), so its messages read as its own.
/// </summary>
internal static class OptionFlags
{
    /// <summary>Property path to flag; null where the command takes the value as an argument, not an option.</summary>
    private static readonly Dictionary<string, string?> Flags = new(StringComparer.Ordinal)
    {
        [OptionPath.Input] = null,
        [OptionPath.Bands] = "--bands",
        [OptionPath.DropBadBands] = "--drop-bad-bands",
        [OptionPath.DropAbsorptionBands] = "--keep-absorption-bands",
        [OptionPath.InputScale] = "--scale",
        [OptionPath.InputNoData] = "--nodata",
        [OptionPath.NanAsNoData] = "--nan-as-nodata",
        [OptionPath.Masks] = "--masks",
        [OptionPath.Roi] = "--roi",
        [OptionPath.AssumeSceneCrs] = "--roi-assume-scene-crs",
        [OptionPath.EndmembersFile] = "--endmembers",
        [OptionPath.EndmemberNames] = "--endmember-names",
        [OptionPath.Resample] = "--resample",
        [OptionPath.EndmemberCount] = "-p",
        [OptionPath.SampleSize] = "--sample",
        [OptionPath.Method] = "--method",
        [OptionPath.ModelFile] = "--model",
        [OptionPath.FitPixels] = "--fit-pixels",
        [OptionPath.Normalize] = "--normalize",
        [OptionPath.Output] = "-o",
        [OptionPath.Overwrite] = "--overwrite",
        [OptionPath.TruthAbundances] = "--truth",
        [OptionPath.TruthEndmembers] = "--truth-endmembers",
        [OptionPath.TileSize] = "--tile",
        [OptionPath.Threads] = "--threads",
        [OptionPath.MemoryBytes] = "--memory",
        [OptionPath.DropUncoveredBands] = "--drop-uncovered-bands",
        [OptionPath.LibraryWavelengthUnit] = "--library-wavelength-unit",
        [OptionPath.LibraryScale] = "--library-scale",
        [OptionPath.MaxModels] = "--max-models",
        [OptionPath.SynthEndmemberCount] = "-p",
        [OptionPath.SynthLibrary] = "--library",
        [OptionPath.SynthBands] = "--bands",
        [OptionPath.SynthRare] = "--rare",
        [OptionPath.SynthOverwrite] = "--overwrite",
        [OptionPath.LibraryOverwrite] = "--overwrite",
    };

    /// <summary>Any path of the table, whole (not the start of a longer name).</summary>
    private static readonly Regex Paths = new(
        @"(?<![\w./\\])(" + string.Join('|', Flags.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)) + @")(?![\w/\\]|\.\w)",
        RegexOptions.CultureInvariant);

    /// <summary>The property paths the table knows.</summary>
    public static IEnumerable<string> Known => Flags.Keys;

    /// <summary>The flag of a property path (null: an argument, or a path the table does not know).</summary>
    public static string? Flag(string path) => Flags.GetValueOrDefault(path);

    /// <summary>A library message with every property path it names replaced by its flag.</summary>
    public static string Rewrite(string message) => Paths.Replace(message, m => Flags[m.Value] ?? m.Value);

    /// <summary>
    /// An error's message as the command prints it: the flags for the paths; a usage error of one option whose detail
    /// does not name it reads "flag: detail" (or the detail alone for an argument).
    /// </summary>
    public static string Message(Exception e) => e is UsageException { Option: { } option } u && !u.Detail.Contains(option, StringComparison.Ordinal)
        ? Flag(option) is { } flag ? $"{flag}: {Rewrite(u.Detail)}" : Rewrite(u.Detail)
        : Rewrite(e.Message);
}
