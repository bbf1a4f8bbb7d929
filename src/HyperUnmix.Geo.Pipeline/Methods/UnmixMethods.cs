using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>The names of the built-in methods (<see cref="MethodOptions.Name"/>); <see cref="UnmixMethods"/> holds them all.</summary>
public static class UnmixMethod
{
    /// <summary>The deep multi-task model (Mehrdad &amp; Janani), fitted on a sample and applied to every tile.</summary>
    public const string Mtl = "mtl";
    /// <summary>Fully constrained least squares, per pixel: abundances non-negative and summing to one.</summary>
    public const string Fcls = "fcls";
    /// <summary>Non-negative least squares, per pixel.</summary>
    public const string Nnls = "nnls";
    /// <summary>Sum-to-one constrained least squares, per pixel (abundances may be negative).</summary>
    public const string Scls = "scls";
    /// <summary>Unconstrained least squares, per pixel.</summary>
    public const string Ucls = "ucls";
}

/// <summary>What a method's planning step gets: the endmembers so far, a model the user gave, and the scene's sample.</summary>
/// <param name="Sample">The stratified sample (read on first use).</param>
/// <param name="Lap">Ends a timed stage ("fit").</param>
internal sealed record MethodPlanning(UnmixOptions Options, EndmemberSet Endmembers, MtlModel? GivenModel, Func<PixelSample> Sample,
    ProgressHandler? Progress, Action<string> Lap, CancellationToken Cancel);

/// <summary>A method's planning result: the endmembers every tile shares, its artifacts, and the deep fit made (or null).</summary>
internal sealed record MethodPlan(EndmemberSet Endmembers, PlanArtifacts Artifacts, MtlFit? Fit);

/// <summary>
/// A way of estimating abundances: planned once per scene (<see cref="Plan"/>), then applied tile by tile by the
/// unmixer it creates from the plan. A new method is one class implementing this and one line in
/// <see cref="UnmixMethods"/>; its name then appears in the command's <c>--method</c> choices.
/// </summary>
internal interface IUnmixMethod
{
    /// <summary>The name users give (<c>--method NAME</c>), lower case.</summary>
    string Name { get; }
    /// <summary>One line for the command's help.</summary>
    string Description { get; }
    /// <summary>A few words for a menu (the QGIS plugin's method list).</summary>
    string Label { get; }
    /// <summary>The pixel scale when <see cref="MethodOptions.Normalize"/> is not given.</summary>
    PixelScale DefaultScale { get; }
    /// <summary>Whether the method fits a model (written as the run's .model.json; <see cref="MethodOptions.ModelFile"/> applies one).</summary>
    bool FitsModel { get; }
    /// <summary>The method's parameters for the output's metadata, or null.</summary>
    string? Parameters(UnmixOptions o);
    MethodPlan Plan(MethodPlanning planning);
    ITileUnmixer CreateUnmixer(UnmixPlan plan, PlanArtifacts artifacts, CancellationToken cancel);
}

/// <summary>The methods a run can name.</summary>
internal static class UnmixMethods
{
    public static IReadOnlyList<IUnmixMethod> All { get; } =
    [
        new DeepMethod(),
        new LinearUnmixMethod(UnmixMethod.Fcls, LinearMethod.Fcls, "fully constrained least squares (abundances >= 0, sum to one)", "FCLS (non-negative, sum-to-one)"),
        new LinearUnmixMethod(UnmixMethod.Nnls, LinearMethod.Nnls, "non-negative least squares", "NNLS (non-negative)"),
        new LinearUnmixMethod(UnmixMethod.Scls, LinearMethod.Scls, "sum-to-one constrained least squares", "SCLS (sum-to-one)"),
        new LinearUnmixMethod(UnmixMethod.Ucls, LinearMethod.Ucls, "unconstrained least squares", "UCLS (unconstrained)"),
    ];

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    /// <summary>The method named <paramref name="name"/>; a <see cref="UsageException"/> naming the choices otherwise.</summary>
    public static IUnmixMethod Get(string name) =>
        All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown method '{name}': one of {string.Join(", ", Names)}");

    /// <summary>
    /// The tile unmixer of a plan, chosen here once for every runner (the local one with the artifacts planning left
    /// in memory, the cluster's with those read back from the plan's files); null for the I/O floor.
    /// </summary>
    public static ITileUnmixer? CreateUnmixer(UnmixPlan plan, PlanArtifacts artifacts, CancellationToken cancel) =>
        plan.Options.Execution.IoOnly ? null : Get(plan.Options.Method.Name).CreateUnmixer(plan, artifacts, cancel);
}

/// <summary>The names a run can choose from, with their descriptions: what a command line or a plugin offers.</summary>
public static class UnmixChoices
{
    /// <summary>The methods' names, the default (the deep method) first.</summary>
    public static IReadOnlyList<string> Methods => UnmixMethods.Names.ToList();

    /// <summary>"name (description) | ...", for the help of an option that names a method.</summary>
    public static string MethodHelp => string.Join(" | ", UnmixMethods.All.Select(m => $"{m.Name} ({m.Description})")) + ".";

    /// <summary>The endmember extractors' names, the default first.</summary>
    public static IReadOnlyList<string> Extractors => Unmixing.Extraction.EndmemberExtractors.Names.ToList();

    /// <summary>"name (description) | ...", for the help of an option that names an extractor.</summary>
    public static string ExtractorHelp => string.Join(" | ", Unmixing.Extraction.EndmemberExtractors.All.Select(e => $"{e.Name} ({e.Description})")) + ".";

    /// <summary>
    /// The pixel-brightness choices (<c>--normalize</c>): auto (the method's default), then every <see cref="PixelScale"/>,
    /// none last (the plugin's enum indices, saved in users' QGIS models, stay what they were).
    /// </summary>
    public static IReadOnlyList<string> Normalizations => ["auto", .. PixelScales.Names.OrderBy(n => n == PixelScales.Name(PixelScale.None))];

    private static string NormalizationLabel(string name) => name switch
    {
        "auto" => "automatic (mtl: decided per scene by the brightness test; none otherwise)",
        "scale" => "scale (per-pixel brightness)",
        "l2" => "l2 (unit-length pixels)",
        _ => name,
    };

    /// <summary>
    /// The QGIS plugin's choices module (plugins/qgis/hyperunmix/choices.py), generated from the registries so that a
    /// method, extractor or pixel scale added here reaches the plugin's menus: <c>hyperunmix plugin-choices</c> writes it.
    /// </summary>
    public static string PluginModule()
    {
        static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Quote)) + "]";
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var extractors = Unmixing.Extraction.EndmemberExtractors.All;
        return string.Join("\n",
            "# Generated by `hyperunmix plugin-choices` from the command's registries; do not edit (a test compares).",
            "# The enum parameters are indices into these lists, in the registries' order.",
            $"METHODS = {List(UnmixMethods.All.Select(m => m.Name))}",
            $"METHOD_LABELS = {List(UnmixMethods.All.Select(m => m.Label))}",
            $"EXTRACTORS = {List(extractors.Select(e => e.Name))}",
            $"EXTRACTOR_LABELS = {List(extractors.Select(e => e.Description))}",
            $"NORMALIZES = {List(Normalizations)}",
            $"NORMALIZE_LABELS = {List(Normalizations.Select(NormalizationLabel))}",
            "");
    }
}
