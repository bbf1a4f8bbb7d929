namespace HyperUnmix.Geo.Gdal;

/// <summary>An error reported by GDAL, carrying GDAL's own message and the file it concerns.</summary>
public class GdalException : HyperUnmixException
{
    /// <summary>An error about <paramref name="path"/> (prefixed to the message as "path: ") with GDAL's error number, or 0.</summary>
    /// <param name="message">The problem, in one line.</param>
    /// <param name="path">The file or dataset concerned, or null when none is known.</param>
    /// <param name="gdalErrorNumber">GDAL's CPLErrorNum, or 0 when this library detected the error.</param>
    /// <param name="inner">The exception that caused this one, if any.</param>
    public GdalException(string message, string? path = null, int gdalErrorNumber = 0, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner)
    {
        Path = path;
        GdalErrorNumber = gdalErrorNumber;
    }

    /// <summary>The file or dataset the error concerns, when known.</summary>
    public string? Path { get; }

    /// <summary>GDAL's CPLErrorNum (0 when the error was detected by this library).</summary>
    public int GdalErrorNumber { get; }

    /// <summary>GDAL's errors concern inputs: every failure of an output is a RasterOutputException (the sink wraps GDAL's).</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
}

/// <summary>The file does not exist or is not a raster/vector dataset GDAL can open.</summary>
public sealed class GdalOpenException(string message, string path, int gdalErrorNumber = 0)
    : GdalException(message, path, gdalErrorNumber);

/// <summary>Reading or writing pixels failed (truncated file, I/O error, disk full...).</summary>
public sealed class GdalIOException(string message, string? path, int gdalErrorNumber = 0)
    : GdalException(message, path, gdalErrorNumber);

/// <summary>The native GDAL library could not be found or loaded.</summary>
public sealed class GdalNotInstalledException(string message, Exception? inner = null)
    : GdalException(message, null, 0, inner)
{
    /// <summary>Internal (exit code 1): a missing GDAL is the environment's fault, not the input's.</summary>
    public override ErrorKind Kind => ErrorKind.Internal;
}
