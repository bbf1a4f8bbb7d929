using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Everything an unmixing run needs; each field maps to a command-line option.</summary>
public sealed record UnmixOptions
{
    public required string Input { get; init; }
    /// <summary>The abundance raster; side outputs are named after it.</summary>
    public required string Output { get; init; }
    /// <summary>A method's name (<see cref="UnmixMethod"/>): the deep method by default.</summary>
    public string Method { get; init; } = UnmixMethod.Mtl;
    /// <summary>Hyperparameters of the deep method.</summary>
    public MtlOptions Mtl { get; init; } = new();
    /// <summary>A fitted deep model to apply instead of fitting one (same sensor and bands).</summary>
    public string? ModelFile { get; init; }
    /// <summary>Pixels the deep model is fitted on (a subset of the stratified sample when there are more).</summary>
    public int FitPixels { get; init; } = 10000;
    /// <summary>Endmember spectra (CSV or ENVI spectral library); extracted with VCA when null.</summary>
    public string? EndmembersFile { get; init; }
    /// <summary>Names of the spectra to use from <see cref="EndmembersFile"/> (all when empty).</summary>
    public IReadOnlyList<string> EndmemberNames { get; init; } = [];
    /// <summary>Resample library spectra to the scene's wavelengths when they differ.</summary>
    public bool Resample { get; init; }
    /// <summary>Number of endmembers to extract; estimated with HySime when null.</summary>
    public int? EndmemberCount { get; init; }
    /// <summary>How endmembers are extracted when none are given: an extractor's name (<see cref="EndmemberExtractors"/>).</summary>
    public string Extractor { get; init; } = EndmemberExtractors.Default;
    /// <summary>Refine extracted endmembers as convex combinations of pixels (archetypal analysis); see docs/accuracy-linear.md.</summary>
    public bool RefineEndmembers { get; init; } = true;
    /// <summary>Pixels the refinement runs on (a subset of the sample when there are more).</summary>
    public int RefinePixels { get; init; } = 10000;
    /// <summary>
    /// How each pixel's brightness is separated from its composition: the scaled mixing model, unit-length pixels,
    /// or none. Null: the scaled model for the default (deep) method, chosen by measurement (docs/accuracy-linear.md),
    /// and none for the classic solvers, which then stay what their names say.
    /// </summary>
    public PixelScale? Normalize { get; init; }

    /// <summary>The pixel scale in force.</summary>
    public PixelScale EffectiveNormalize => Normalize ?? UnmixMethods.Get(Method).DefaultScale;
    public string? Roi { get; init; }
    public RoiSelection RoiSelection { get; init; } = new();
    public int TileSize { get; init; } = 256;
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Budget for tile buffers in flight, bytes.</summary>
    public long MemoryBytes { get; init; } = 1L << 30;
    public RasterFormat Format { get; init; } = RasterFormat.GTiff;
    /// <summary>0-based bands to use (all when null).</summary>
    public IReadOnlyList<int>? Bands { get; init; }
    public bool DropBadBands { get; init; }
    /// <summary>Leave out the atmospheric absorption windows (<see cref="BandScreen.AbsorptionWindows"/>) when the wavelengths are known.</summary>
    public bool DropAbsorptionBands { get; init; } = true;

    /// <summary>
    /// Write signal-weighted fractions (each material's share of the pixel's signal) instead of physical ones (area
    /// shares, the default). Samson's reference is signal-weighted, Jasper Ridge's physical (docs/accuracy-linear.md).
    /// </summary>
    public bool SignalFractions { get; init; }
    /// <summary>Factor applied to input values after the file's own scale/offset (e.g. 0.0001 for DN to reflectance).</summary>
    public double InputScale { get; init; } = 1;
    public double? InputNoData { get; init; }
    public bool NanAsNoData { get; init; }
    /// <summary>Which of a sensor product's masks make pixels nodata (<see cref="RasterOpenOptions.Masks"/>): null = the product's defaults.</summary>
    public IReadOnlyList<string>? Masks { get; init; }
    public float OutputNoData { get; init; } = -9999f;
    public long Seed { get; init; } = 42;
    public bool Overwrite { get; init; }
    /// <summary>Pixels sampled (spatially stratified) for HySime and VCA.</summary>
    public int SampleSize { get; init; } = 20000;
    /// <summary>Ground-truth abundances (raster) for metrics in the report.</summary>
    public string? TruthAbundances { get; init; }
    public string? TruthEndmembers { get; init; }
    /// <summary>Write the endmember files, report, style and quick-looks next to the raster.</summary>
    public bool SideOutputs { get; init; } = true;
    public bool ForceGdalReader { get; init; }
    /// <summary>
    /// Measure the I/O floor: read every tile and write an output of the same size (the input's first bands
    /// stand in for the abundances, so compression costs the same) without unmixing.
    /// </summary>
    public bool IoOnly { get; init; }
}

/// <summary>An option value that cannot work (exit code 2).</summary>
public sealed class UsageException(string message) : HyperUnmixException(message)
{
    public override ErrorKind Kind => ErrorKind.Usage;
}

/// <summary>Progress of a run: a stage name and the fraction of all work done.</summary>
public delegate void ProgressHandler(string stage, double fraction);
