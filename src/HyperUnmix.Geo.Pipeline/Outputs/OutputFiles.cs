namespace HyperUnmix.Geo.Pipeline;

/// <summary>The side outputs' names, derived from the abundance raster's.</summary>
internal sealed record OutputFiles(string Csv, string Sli, string Report, string Qml, string AbundancePng, string SpectraPng, string Model)
{
    public IReadOnlyList<string> All => [Csv, Sli, Path.ChangeExtension(Sli, ".hdr"), Report, Qml, AbundancePng, SpectraPng, Model];

    /// <summary>The side outputs of an abundance raster written to <paramref name="output"/>.</summary>
    public static OutputFiles For(string output)
    {
        var full = Path.GetFullPath(output);
        var stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
        // QGIS applies <raster>.qml automatically when it loads <raster>.
        return new OutputFiles(stem + ".endmembers.csv", stem + ".endmembers.sli", stem + ".report.json", stem + ".qml",
            stem + ".abundances.png", stem + ".endmembers.png", stem + ".model.json");
    }
}
