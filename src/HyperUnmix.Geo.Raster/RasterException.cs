namespace HyperUnmix.Geo.Raster;

/// <summary>The input data is unusable (wrong size, wrong band count, NaN, truncated...). Names the file.</summary>
public class RasterDataException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    public override ErrorKind Kind => ErrorKind.BadInput;
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>The output cannot be written (exists, folder missing, I/O failure).</summary>
public class RasterOutputException(string path, string problem, Exception? inner = null) : HyperUnmixException($"{path}: {problem}", inner)
{
    public override ErrorKind Kind => ErrorKind.OutputFailure;
    public string Path { get; } = path;
}
