namespace HyperUnmix.Geo.Raster;

/// <summary>
/// The run options this assembly's errors point to, by the property paths HyperUnmix.Geo.Pipeline's options name them
/// (its OptionPath): messages name properties, never a command line's flags, which the command substitutes.
/// </summary>
internal static class OptionNames
{
    public const string NoData = "Scene.InputNoData";
    public const string NanAsNoData = "Scene.NanAsNoData";
    public const string Masks = "Scene.Masks";
    public const string Output = "Outputs.Output";
    public const string Overwrite = "Outputs.Overwrite";
}
