namespace HyperUnmix.Geo.Cli;

/// <summary>The command's exit codes (documented in the README).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Internal = 1;
    public const int Usage = 2;
    public const int BadInput = 3;
    public const int OutputFailure = 4;
    /// <summary>The cluster cannot be reached (Redis or no worker).</summary>
    public const int ClusterUnavailable = 5;
    public const int Cancelled = 130;

    /// <summary>Maps an exception to an exit code and a one-line message a user understands.</summary>
    /// <remarks>
    /// The library's own errors (<see cref="HyperUnmixException"/>) carry their kind, whose number is the exit code;
    /// the options they name by property path are named by flag (<see cref="OptionFlags"/>).
    /// An <see cref="ArgumentException"/> from elsewhere is still read as a usage error (System.CommandLine and the
    /// coordinator's refusals raise it); other I/O errors concern outputs.
    /// </remarks>
    public static (int Code, string Message) Classify(Exception e) => e switch
    {
        OperationCanceledException => (Cancelled, "cancelled; no output was written"),
        HyperUnmixException h => ((int)h.Kind, OptionFlags.Message(h)),
        ArgumentException => (Usage, OptionFlags.Rewrite(e.Message)),
        IOException or UnauthorizedAccessException => (OutputFailure, e.Message),
        _ => (Internal, $"internal error: {e.GetType().Name}: {e.Message}"),
    };

    /// <summary>
    /// Joins a message's lines into one: errors are one line each (README), but GDAL's SQL errors and System.CommandLine's
    /// lists of allowed values span several, which breaks scripts reading stderr line by line.
    /// </summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
}
