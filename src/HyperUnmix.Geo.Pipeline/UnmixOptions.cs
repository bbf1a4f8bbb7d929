using System.Text.Json.Serialization;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// Everything an unmixing run needs, by concern: the scene read, the endmembers asked for, the method, the outputs,
/// and how this machine executes the run. Errors name an option by its property path from here
/// (<see cref="UsageException.Option"/>, e.g. "Execution.Threads").
/// </summary>
public sealed record UnmixOptions
{
    /// <summary>The scene and how it is read: bands, scale, nodata, masks, ROI.</summary>
    public required SceneInput Scene { get; init; }
    /// <summary>The endmembers: given in a file, or extracted.</summary>
    public EndmemberOptions Endmembers { get; init; } = new();
    /// <summary>The unmixing method and its settings.</summary>
    public MethodOptions Method { get; init; } = new();
    /// <summary>What is written, and where.</summary>
    public required OutputOptions Outputs { get; init; }
    /// <summary>How the machine that runs executes the run: tiles, threads, memory.</summary>
    public ExecutionOptions Execution { get; init; } = new();
    /// <summary>Seed for the sampling, the extraction and the deep fit; same seed, same result.</summary>
    public long Seed { get; init; } = 42;
}

/// <summary>The scene an unmixing run reads, and how: the bands, value scale, nodata, masks and region of interest.</summary>
public sealed record SceneInput
{
    /// <summary>The scene: a raster GDAL opens (ENVI, GeoTIFF, ...) or a sensor product the reader recognises (EnMAP, EMIT, PRISMA, ...).</summary>
    public required string Input { get; init; }
    /// <summary>0-based bands to use (all when null).</summary>
    public IReadOnlyList<int>? Bands { get; init; }
    /// <summary>Leave out the bands the file flags bad (ENVI bbl = 0, a product's band flags), after <see cref="Bands"/>.</summary>
    public bool DropBadBands { get; init; }
    /// <summary>Leave out the atmospheric absorption windows (<see cref="BandScreen.AbsorptionWindows"/>) when the wavelengths are known.</summary>
    public bool DropAbsorptionBands { get; init; } = true;
    /// <summary>Factor applied to input values after the file's own scale/offset (e.g. 0.0001 for DN to reflectance).</summary>
    public double InputScale { get; init; } = 1;
    /// <summary>The nodata value of every band, overriding the file's own (NaN allowed); null: the file's.</summary>
    public double? InputNoData { get; init; }
    /// <summary>
    /// Make a pixel nodata when one of its samples is non-finite (NaN, ±Inf) and not the band's nodata. False (the
    /// default): such a sample stops the run with a <see cref="RasterDataException"/> naming the file, band and pixel (exit code 3).
    /// </summary>
    public bool NanAsNoData { get; init; }
    /// <summary>Which of a sensor product's masks make pixels nodata (<see cref="RasterOpenOptions.Masks"/>): null = the product's defaults.</summary>
    public IReadOnlyList<string>? Masks { get; init; }
    /// <summary>Read through GDAL's RasterIO even where uncompressed float32 layouts could be read straight from the file; the values are the same.</summary>
    public bool ForceGdalReader { get; init; }
    /// <summary>
    /// Polygons that limit the run (any vector file OGR opens: GeoJSON, Shapefile, GeoPackage, ...): the output covers
    /// their bounding window, and pixels whose centre lies outside them are nodata. Null: the whole scene.
    /// </summary>
    public string? Roi { get; init; }
    /// <summary>Which features of <see cref="Roi"/> make up the region: layer, attribute filter, feature ids, CRS assumption.</summary>
    public RoiSelection RoiSelection { get; init; } = new();
}

/// <summary>The endmembers a run asks for: spectra from a file, or extracted from a sample of the scene.</summary>
public sealed record EndmemberOptions
{
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
    /// <summary>Refine extracted endmembers as convex combinations of pixels (archetypal analysis), then project them onto HySime's signal subspace; see docs/accuracy-linear.md.</summary>
    public bool RefineEndmembers { get; init; } = true;
    /// <summary>Pixels the refinement runs on (a subset of the sample when there are more).</summary>
    public int RefinePixels { get; init; } = 10000;
    /// <summary>Pixels sampled (spatially stratified) for HySime and VCA.</summary>
    public int SampleSize { get; init; } = 20000;
}

/// <summary>The unmixing method and its settings.</summary>
public sealed record MethodOptions
{
    /// <summary>A method's name (<see cref="UnmixMethod"/>): the deep method by default.</summary>
    public string Name { get; init; } = UnmixMethod.Mtl;
    /// <summary>Hyperparameters of the deep method.</summary>
    public MtlOptions Mtl { get; init; } = new();
    /// <summary>A fitted deep model to apply instead of fitting one (same sensor and bands).</summary>
    public string? ModelFile { get; init; }
    /// <summary>Pixels the deep model is fitted on (a subset of the stratified sample when there are more).</summary>
    public int FitPixels { get; init; } = 10000;
    /// <summary>
    /// How each pixel's brightness is separated from its composition: the scaled mixing model, unit-length pixels,
    /// or none. Null: the scaled model for the default (deep) method, chosen by measurement (docs/accuracy-linear.md),
    /// and none for the classic solvers, which then stay what their names say.
    /// </summary>
    public PixelScale? Normalize { get; init; }

    /// <summary>The pixel scale in force.</summary>
    public PixelScale EffectiveNormalize => Normalize ?? UnmixMethods.Get(Name).DefaultScale;

    /// <summary>
    /// Write signal-weighted fractions (each material's share of the pixel's signal) instead of physical ones (area
    /// shares, the default). Samson's reference is signal-weighted, Jasper Ridge's physical (docs/accuracy-linear.md).
    /// </summary>
    public bool SignalFractions { get; init; }
}

/// <summary>What a run writes, and where.</summary>
public sealed record OutputOptions
{
    /// <summary>The abundance raster; side outputs are named after it.</summary>
    public required string Output { get; init; }
    /// <summary>The abundance raster's format: tiled GeoTIFF (the default), Cloud-Optimized GeoTIFF or ENVI.</summary>
    public RasterFormat Format { get; init; } = RasterFormat.GTiff;
    /// <summary>The value written in every band of a pixel that was not unmixed (nodata, outside the ROI, screened out); also the raster's declared nodata. Default -9999.</summary>
    public float OutputNoData { get; init; } = -9999f;
    /// <summary>
    /// Replace existing outputs. Without it an existing output stops the run before any work with a
    /// <see cref="RasterOutputException"/> (exit code 4).
    /// </summary>
    public bool Overwrite { get; init; }
    /// <summary>Write the endmember files, report, style and quick-looks next to the raster.</summary>
    public bool SideOutputs { get; init; } = true;
    /// <summary>Ground-truth abundances (raster) for metrics in the report.</summary>
    public string? TruthAbundances { get; init; }
    /// <summary>Ground-truth endmember spectra (CSV or ENVI spectral library) for metrics in the report.</summary>
    public string? TruthEndmembers { get; init; }
}

/// <summary>
/// How the machine that runs executes the run. <see cref="Threads"/> and <see cref="MemoryBytes"/> are that machine's
/// own and are never serialised: neither a plan nor a cluster job's orders carry them, and whoever runs the tiles
/// (the local runner, a cluster worker) applies its own.
/// </summary>
public sealed record ExecutionOptions
{
    /// <summary>The largest tile side, pixels (smaller when the memory budget asks; the plan records the grid it chose).</summary>
    public int TileSize { get; init; } = 256;
    /// <summary>Tiles unmixed in parallel, at most (fewer when the memory budget asks); at least 1. Default: the processor count.</summary>
    [JsonIgnore]
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>The smallest <see cref="MemoryBytes"/> a run (or a cluster worker) accepts: 16 MB.</summary>
    public const long MinMemoryBytes = 16L << 20;
    /// <summary>Budget for tile buffers in flight, bytes.</summary>
    [JsonIgnore]
    public long MemoryBytes { get; init; } = 1L << 30;
    /// <summary>
    /// Measure the I/O floor: read every tile and write an output of the same size (the input's first bands
    /// stand in for the abundances, so compression costs the same) without unmixing.
    /// </summary>
    public bool IoOnly { get; init; }
}

/// <summary>Progress of a run: a stage name and the fraction of all work done.</summary>
public delegate void ProgressHandler(string stage, double fraction);
