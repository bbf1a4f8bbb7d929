namespace HyperUnmix.Geo.Raster;

/// <summary>The input data is unusable (wrong size, wrong band count, NaN, truncated...). Names the file.</summary>
/// <param name="path">The file at fault.</param>
/// <param name="problem">What is wrong with it, in one line; the message is "path: problem".</param>
public class RasterDataException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    /// <summary>BadInput (exit code 3).</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
    /// <summary>The file at fault.</summary>
    public string Path { get; } = path;
    /// <summary>What is wrong with the file, without its path.</summary>
    public string Problem { get; } = problem;
}

/// <summary>The output cannot be written (exists, folder missing, I/O failure).</summary>
/// <param name="path">The output that cannot be written.</param>
/// <param name="problem">Why, in one line; the message is "path: problem".</param>
/// <param name="inner">The failure that caused it (e.g. an IOException or GDAL's error), if any.</param>
public class RasterOutputException(string path, string problem, Exception? inner = null) : HyperUnmixException($"{path}: {problem}", inner)
{
    /// <summary>OutputFailure (exit code 4).</summary>
    public override ErrorKind Kind => ErrorKind.OutputFailure;
    /// <summary>The output that cannot be written.</summary>
    public string Path { get; } = path;
}
