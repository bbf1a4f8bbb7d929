namespace HyperUnmix.Geo.Raster;

/// <summary>The input data is unusable (wrong size, wrong band count, NaN, truncated...). Names the file.</summary>
public class RasterDataException(string path, string problem) : Exception($"{path}: {problem}")
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>The output cannot be written (exists, folder missing, I/O failure).</summary>
public class RasterOutputException(string path, string problem, Exception? inner = null) : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
}
