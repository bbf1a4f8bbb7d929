namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// An option value that cannot work (exit code 2). It names the option by its property path (<see cref="OptionPath"/>),
/// not by any command line's flag: a .NET caller reads "Execution.Threads must be at least 1, got 0", and the
/// command rewrites the paths its messages name into its flags ("--threads must be at least 1, got 0").
/// </summary>
public sealed class UsageException : HyperUnmixException
{
    /// <summary>A usage error that concerns no single option (or the command line itself).</summary>
    public UsageException(string message) : base(message) => Detail = message;

    /// <summary>
    /// A usage error of <paramref name="option"/>. The message is <paramref name="detail"/> when it names the option
    /// itself ("Execution.Threads must be at least 1"), else "option: detail" ("Outputs.Output: the path is empty").
    /// </summary>
    public UsageException(string option, string detail)
        : base(detail.Contains(option, StringComparison.Ordinal) ? detail : $"{option}: {detail}")
    {
        Option = option;
        Detail = detail;
    }

    /// <summary>Usage (exit code 2).</summary>
    public override ErrorKind Kind => ErrorKind.Usage;
    /// <summary>The option's property path (<see cref="OptionPath"/>), or null when the error concerns no single option.</summary>
    public string? Option { get; }
    /// <summary>What is wrong with it.</summary>
    public string Detail { get; }
}

/// <summary>
/// The property paths errors name options by: from <see cref="UnmixOptions"/> ("Execution.Threads"), or a record's
/// name and property for the options of other runs ("MesmaOptions.DropUncoveredBands"). Stable: the command line
/// maps each to its flag (HyperUnmix.Geo.Cli's OptionFlags), so renaming one is a change to both.
/// </summary>
public static class OptionPath
{
    public const string Input = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Input);
    public const string Bands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Bands);
    public const string DropBadBands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.DropBadBands);
    public const string InputScale = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.InputScale);
    public const string InputNoData = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.InputNoData);
    public const string NanAsNoData = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.NanAsNoData);
    public const string Masks = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Masks);
    public const string Roi = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Roi);
    public const string DropAbsorptionBands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.DropAbsorptionBands);

    public const string EndmembersFile = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmembersFile);
    public const string EndmemberNames = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmemberNames);
    public const string Resample = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.Resample);
    public const string EndmemberCount = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmemberCount);
    public const string SampleSize = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.SampleSize);

    public const string Method = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.Name);
    public const string ModelFile = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.ModelFile);
    public const string FitPixels = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.FitPixels);
    public const string Normalize = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.Normalize);

    public const string Output = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.Output);
    public const string Overwrite = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.Overwrite);
    public const string TruthAbundances = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.TruthAbundances);
    public const string TruthEndmembers = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.TruthEndmembers);

    public const string TileSize = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.TileSize);
    public const string Threads = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.Threads);
    public const string MemoryBytes = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.MemoryBytes);

    /// <summary>The ROI's <see cref="Raster.RoiSelection.AssumeSceneCrs"/> (the Raster assembly names it so itself).</summary>
    public const string AssumeSceneCrs = Raster.RoiSelection.AssumeSceneCrsPath;

    public const string DropUncoveredBands = nameof(MesmaOptions) + "." + nameof(MesmaOptions.DropUncoveredBands);
    public const string LibraryWavelengthUnit = nameof(LibraryUnits) + "." + nameof(LibraryUnits.Wavelength);
    public const string LibraryScale = nameof(LibraryUnits) + "." + nameof(LibraryUnits.ReflectanceScale);
    public const string MaxModels = nameof(Unmixing.Mesma.MesmaSettings) + "." + nameof(Unmixing.Mesma.MesmaSettings.MaxModels);

    public const string SynthEndmemberCount = nameof(SynthOptions) + "." + nameof(SynthOptions.EndmemberCount);
    public const string SynthLibrary = nameof(SynthOptions) + "." + nameof(SynthOptions.Library);
    public const string SynthOverwrite = nameof(SynthOptions) + "." + nameof(SynthOptions.Overwrite);
    public const string LibraryOverwrite = nameof(LibraryFromRoiOptions) + "." + nameof(LibraryFromRoiOptions.Overwrite);
}
