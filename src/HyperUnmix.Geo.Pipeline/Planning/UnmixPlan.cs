using System.Security.Cryptography;
using System.Text.Json;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>A plan's endmembers, exactly (doubles round-trip through JSON).</summary>
/// <param name="E">The spectra, L x P row-major: band b of endmember j at E[b * P + j].</param>
/// <param name="Bands">L: the number of bands used (one per entry of the plan's <see cref="UnmixPlan.Bands"/>).</param>
/// <param name="Count">P: the number of endmembers.</param>
/// <param name="Names">The endmembers' names, in output band order.</param>
/// <param name="Wavelengths">The used bands' wavelengths, or null when unknown.</param>
public sealed record PlanEndmembers(double[] E, int Bands, int Count, string[] Names, double[]? Wavelengths)
{
    /// <summary>The plan form of <paramref name="e"/>.</summary>
    internal static PlanEndmembers From(EndmemberSet e) => new(e.E, e.Bands, e.Count, e.Names, e.Wavelengths);
    /// <summary>The endmembers as an <see cref="EndmemberSet"/>; throws <see cref="ArgumentException"/> when the sizes disagree, a value is not finite, or the spectra are linearly dependent.</summary>
    public EndmemberSet ToSet() => new(E, Bands, Count, Names, Wavelengths);
}

/// <summary>What the report says about a deep fit made while planning (the model itself is in the plan's model file).</summary>
/// <param name="Pixels">Pixels given to the fit, held-out ones included.</param>
/// <param name="LossHistory">The training loss (normalised units) at each epoch.</param>
/// <param name="Epochs">Epochs run before stopping.</param>
/// <param name="Seconds">Wall-clock time of the fit.</param>
/// <param name="Gflops">Floating-point work of the loss and gradient evaluations, in 10⁹ operations.</param>
/// <param name="ValidationHistory">Held-out reconstruction error (mean squared, data units) at each check.</param>
/// <param name="Test">The nonlinearity test's decision (null when it did not run), for the report of a scene assembled from the plan.</param>
public sealed record FitSummary(int Pixels, double[] LossHistory, int Epochs, double Seconds, double Gflops, double[] ValidationHistory,
    Unmixing.Deep.NonlinearityTest? Test = null);

/// <summary>
/// One scene's plan: everything a tile needs, small and serialisable. It is made once per scene (endmembers extracted
/// or read, the deep model fitted or read) and then every tile of <see cref="Grid"/> is a pure function of the plan
/// and the tile's window, wherever and however often it runs (<see cref="TileProcessor"/>). The local runner and
/// the cluster runner both work from it; pixels never travel in it.
/// </summary>
public sealed record UnmixPlan
{
    /// <summary>The plan format this version writes and reads; <see cref="Load(byte[], string)"/> refuses any other (<see cref="RasterDataException"/>, exit code 3).</summary>
    /// <remarks>2: the options nested by concern (<see cref="UnmixOptions.Scene"/>, ...), without threads and memory.
    /// 3: no fitted-abundance file; every pixel of a deep run gets the model applied (a version-2 plan's tiles would
    /// differ from this version's on the pixels of an exhaustive fit).</remarks>
    public const int CurrentVersion = 3;
    /// <summary>This plan's format (<see cref="CurrentVersion"/> when made here).</summary>
    public int Version { get; init; } = CurrentVersion;
    /// <summary>The run's options (input, bands, scale, nodata, ROI, method, output, ...).</summary>
    public required UnmixOptions Options { get; init; }
    /// <summary>0-based bands read from the input (those the screening kept).</summary>
    public required int[] Bands { get; init; }
    /// <summary>What the screening left out, and the bands the options asked for before it.</summary>
    public ScreenResult? Screen { get; init; }
    /// <summary>The brightness decision (scaled or plain model) when the run made one.</summary>
    public BrightnessDecision? Brightness { get; init; }
    /// <summary>Number of bands the options selected, before the screening.</summary>
    public int RequestedBands { get; init; }
    /// <summary>The part of the scene unmixed (the ROI's bounding window, or the whole scene).</summary>
    public required Window Area { get; init; }
    /// <summary>Tile side in pixels: <see cref="ExecutionOptions.TileSize"/>, halved while the planning machine's tiles in flight exceed half its memory budget (at least 16).</summary>
    public required int TileSize { get; init; }
    /// <summary>The endmembers every tile shares (for the deep method, the model's).</summary>
    public required PlanEndmembers Endmembers { get; init; }
    /// <summary>Where the endmembers came from: the file's full path, "deep model PATH", or how they were extracted.</summary>
    public required string EndmemberSource { get; init; }
    /// <summary>The deep model applied to every tile, and its SHA-256 (checked before use).</summary>
    public string? ModelFile { get; init; }
    /// <summary>Lower-case hex SHA-256 of <see cref="ModelFile"/>; null without one.</summary>
    public string? ModelSha256 { get; init; }
    /// <summary>HySime's count of endmembers when P was estimated (a second opinion: P is the residual's elbow); else null.</summary>
    public int? EstimatedCount { get; init; }
    /// <summary>The signal-to-noise ratio the extractor estimated, dB, when endmembers were extracted and it estimated one; else null.</summary>
    public double? VcaSnrDb { get; init; }
    /// <summary>The deep fit made while planning; null when none was (a given model, a linear method).</summary>
    public FitSummary? Fit { get; init; }
    /// <summary>Seconds spent planning, by stage.</summary>
    public Dictionary<string, double> StageSeconds { get; init; } = [];
    /// <summary>The output raster's band names: one per endmember, then "residual_rmse".</summary>
    public required string[] OutputBands { get; init; }
    /// <summary>The metadata written into the output raster (HYPERUNMIX_VERSION, _METHOD, _INPUT, _ENDMEMBERS, _SEED, _PARAMETERS, ...).</summary>
    public required Dictionary<string, string> Metadata { get; init; }

    /// <summary>The tiles, in the order their outputs are assembled.</summary>
    public TilePlan Grid => new(Area, TileSize, TileSize);

    /// <summary>How plans and a job's scene options are written (enums by name, NaN allowed).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        // NaN output nodata and the like.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>The plan as a plan file's bytes (indented UTF-8 JSON, <see cref="JsonOptions"/>), as <see cref="Load(byte[], string)"/> reads it.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    /// <summary>Reads a plan file, or says which file is not one.</summary>
    public static UnmixPlan Load(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>A plan from a plan file's bytes (<paramref name="path"/> names it in errors).</summary>
    public static UnmixPlan Load(byte[] json, string path)
    {
        try
        {
            // The version first: a plan of another version may not even have this one's shape.
            if (VersionOf(json) is { } v && v != CurrentVersion) throw new RasterDataException(path, $"plan version {v} is not supported (this version reads {CurrentVersion})");
            var plan = JsonSerializer.Deserialize<UnmixPlan>(json, JsonOptions) ?? throw new JsonException("empty");
            if (plan.Version != CurrentVersion) throw new RasterDataException(path, $"plan version {plan.Version} is not supported (this version reads {CurrentVersion})");
            return plan;
        }
        catch (JsonException e)
        {
            throw new RasterDataException(path, $"is not a plan file ({e.Message})");
        }
    }

    /// <summary>A plan file's "Version", read before anything else (null: none, or not a JSON object).</summary>
    internal static int? VersionOf(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(nameof(Version), out var v) && v.TryGetInt32(out var n) ? n : null;
    }

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}

