namespace HyperUnmix.Geo;

/// <summary>What kind of failure an error is; the command's exit code is its number (README, "Exit codes").</summary>
public enum ErrorKind
{
    /// <summary>A failed internal check: a bug, or the environment (GDAL missing).</summary>
    Internal = 1,
    /// <summary>Options or arguments that cannot work together or are out of range.</summary>
    Usage = 2,
    /// <summary>An input (scene, library, endmember file, model, polygons) that is missing, corrupt or unsuitable.</summary>
    BadInput = 3,
    /// <summary>An output that cannot be written (or an output set that cannot be committed).</summary>
    OutputFailure = 4,
    /// <summary>The cluster cannot be reached (Redis, or no worker).</summary>
    ClusterUnavailable = 5,
}

/// <summary>
/// The root of every error HyperUnmix.Geo raises on purpose: one line that names the file or option and the problem,
/// and its <see cref="Kind"/>. A .NET caller catches this type; the command maps <see cref="Kind"/> to its exit code.
/// Anything else that escapes (an <see cref="ArgumentException"/> from a framework call, a bug) is not one of these.
/// </summary>
public abstract class HyperUnmixException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The kind of failure; the command exits with its number (1 to 5).</summary>
    public abstract ErrorKind Kind { get; }
}
