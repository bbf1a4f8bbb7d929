using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace HyperUnmix.Geo.TestSupport;

/// <summary>Runs programs as the tests need them: to their end, both output streams read at once (no pipe deadlock).</summary>
public static class Processes
{
    /// <summary>Runs <paramref name="file"/> with exactly these arguments; returns its exit code, stdout and stderr.</summary>
    /// <param name="environment">Variables set for the child (a null value removes the variable).</param>
    /// <param name="timeout">Killed (with its children) and a <see cref="TimeoutException"/> past this.</param>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (timeout is { } limit && !p.WaitForExit(limit))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in {limit}");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a tool that must succeed (the test fails otherwise, with its stderr); returns its stdout.</summary>
    public static string Tool(string tool, params string[] args)
    {
        var (code, stdout, stderr) = Run(tool, args);
        Assert.True(code == 0, $"{tool} {string.Join(' ', args)} failed ({code}): {stderr}");
        return stdout;
    }
}

/// <summary>GDAL's command-line tools: an independent reader of what our writer wrote.</summary>
public static class GdalTools
{
    /// <summary><c>gdalinfo -json</c> (with every metadata domain when <paramref name="allDomains"/>).</summary>
    public static JsonElement Info(string path, bool allDomains = false) =>
        JsonDocument.Parse(allDomains ? Processes.Tool("gdalinfo", "-json", "-mdd", "all", path) : Processes.Tool("gdalinfo", "-json", path)).RootElement;

    /// <summary>Every band's value at one pixel (<c>gdallocationinfo -valonly</c>).</summary>
    public static double[] LocationValues(string path, int col, int row) =>
        Processes.Tool("gdallocationinfo", "-valonly", path, col.ToString(CultureInfo.InvariantCulture), row.ToString(CultureInfo.InvariantCulture))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
}

/// <summary>Where the repository and the shared datasets are (../shared/datasets beside the clone, as in CI).</summary>
public static class Repo
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds HyperUnmix.Geo.sln.</summary>
    /// <exception cref="DirectoryNotFoundException">No folder above holds it.</exception>
    public static string Root
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "HyperUnmix.Geo.sln"))) d = d.Parent;
            return d?.FullName ?? throw new DirectoryNotFoundException($"no HyperUnmix.Geo.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>A file of the shared datasets.</summary>
    public static string Dataset(string relative) => Path.GetFullPath(Path.Combine(Root, "..", "shared", "datasets", relative));
}
