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
    /// <summary>The path of <see cref="SceneInput.Input"/>.</summary>
    public const string Input = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Input);
    /// <summary>The path of <see cref="SceneInput.Bands"/>.</summary>
    public const string Bands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Bands);
    /// <summary>The path of <see cref="SceneInput.DropBadBands"/>.</summary>
    public const string DropBadBands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.DropBadBands);
    /// <summary>The path of <see cref="SceneInput.InputScale"/>.</summary>
    public const string InputScale = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.InputScale);
    /// <summary>The path of <see cref="SceneInput.InputNoData"/>.</summary>
    public const string InputNoData = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.InputNoData);
    /// <summary>The path of <see cref="SceneInput.NanAsNoData"/>.</summary>
    public const string NanAsNoData = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.NanAsNoData);
    /// <summary>The path of <see cref="SceneInput.Masks"/>.</summary>
    public const string Masks = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Masks);
    /// <summary>The path of <see cref="SceneInput.Roi"/>.</summary>
    public const string Roi = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.Roi);
    /// <summary>The path of <see cref="SceneInput.DropAbsorptionBands"/>.</summary>
    public const string DropAbsorptionBands = nameof(UnmixOptions.Scene) + "." + nameof(SceneInput.DropAbsorptionBands);

    /// <summary>The path of <see cref="EndmemberOptions.EndmembersFile"/>.</summary>
    public const string EndmembersFile = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmembersFile);
    /// <summary>The path of <see cref="EndmemberOptions.EndmemberNames"/>.</summary>
    public const string EndmemberNames = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmemberNames);
    /// <summary>The path of <see cref="EndmemberOptions.Resample"/>.</summary>
    public const string Resample = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.Resample);
    /// <summary>The path of <see cref="EndmemberOptions.EndmemberCount"/>.</summary>
    public const string EndmemberCount = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.EndmemberCount);
    /// <summary>The path of <see cref="EndmemberOptions.SampleSize"/>.</summary>
    public const string SampleSize = nameof(UnmixOptions.Endmembers) + "." + nameof(EndmemberOptions.SampleSize);

    /// <summary>The path of <see cref="MethodOptions.Name"/>.</summary>
    public const string Method = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.Name);
    /// <summary>The path of <see cref="MethodOptions.ModelFile"/>.</summary>
    public const string ModelFile = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.ModelFile);
    /// <summary>The path of <see cref="MethodOptions.FitPixels"/>.</summary>
    public const string FitPixels = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.FitPixels);
    /// <summary>The path of <see cref="MethodOptions.Normalize"/>.</summary>
    public const string Normalize = nameof(UnmixOptions.Method) + "." + nameof(MethodOptions.Normalize);

    /// <summary>The path of <see cref="OutputOptions.Output"/>.</summary>
    public const string Output = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.Output);
    /// <summary>The path of <see cref="OutputOptions.Overwrite"/>.</summary>
    public const string Overwrite = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.Overwrite);
    /// <summary>The path of <see cref="OutputOptions.TruthAbundances"/>.</summary>
    public const string TruthAbundances = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.TruthAbundances);
    /// <summary>The path of <see cref="OutputOptions.TruthEndmembers"/>.</summary>
    public const string TruthEndmembers = nameof(UnmixOptions.Outputs) + "." + nameof(OutputOptions.TruthEndmembers);

    /// <summary>The path of <see cref="ExecutionOptions.TileSize"/>.</summary>
    public const string TileSize = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.TileSize);
    /// <summary>The path of <see cref="ExecutionOptions.Threads"/>.</summary>
    public const string Threads = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.Threads);
    /// <summary>The path of <see cref="ExecutionOptions.MemoryBytes"/>.</summary>
    public const string MemoryBytes = nameof(UnmixOptions.Execution) + "." + nameof(ExecutionOptions.MemoryBytes);

    /// <summary>The ROI's <see cref="Raster.RoiSelection.AssumeSceneCrs"/> (the Raster assembly names it so itself).</summary>
    public const string AssumeSceneCrs = Raster.RoiSelection.AssumeSceneCrsPath;

    /// <summary>The path of <see cref="MesmaOptions.DropUncoveredBands"/>.</summary>
    public const string DropUncoveredBands = nameof(MesmaOptions) + "." + nameof(MesmaOptions.DropUncoveredBands);
    /// <summary>The path of <see cref="LibraryUnits.Wavelength"/>.</summary>
    public const string LibraryWavelengthUnit = nameof(LibraryUnits) + "." + nameof(LibraryUnits.Wavelength);
    /// <summary>The path of <see cref="LibraryUnits.ReflectanceScale"/>.</summary>
    public const string LibraryScale = nameof(LibraryUnits) + "." + nameof(LibraryUnits.ReflectanceScale);
    /// <summary>The path of <see cref="Unmixing.Mesma.MesmaSettings.MaxModels"/>.</summary>
    public const string MaxModels = nameof(Unmixing.Mesma.MesmaSettings) + "." + nameof(Unmixing.Mesma.MesmaSettings.MaxModels);

    /// <summary>The path of <see cref="SynthOptions.EndmemberCount"/>.</summary>
    public const string SynthEndmemberCount = nameof(SynthOptions) + "." + nameof(SynthOptions.EndmemberCount);
    /// <summary>The path of <see cref="SynthOptions.Library"/>.</summary>
    public const string SynthLibrary = nameof(SynthOptions) + "." + nameof(SynthOptions.Library);
    /// <summary>The path of <see cref="SynthOptions.Bands"/>.</summary>
    public const string SynthBands = nameof(SynthOptions) + "." + nameof(SynthOptions.Bands);
    /// <summary>The path of the synthetic scene's rare materials (<see cref="Unmixing.Synthetic.SceneOptions.RareCount"/>).</summary>
    public const string SynthRare = nameof(SynthOptions) + ".Scene.RareCount";
    /// <summary>The path of <see cref="SynthOptions.Overwrite"/>.</summary>
    public const string SynthOverwrite = nameof(SynthOptions) + "." + nameof(SynthOptions.Overwrite);
    /// <summary>The path of <see cref="LibraryFromRoiOptions.Overwrite"/>.</summary>
    public const string LibraryOverwrite = nameof(LibraryFromRoiOptions) + "." + nameof(LibraryFromRoiOptions.Overwrite);
}
