using System.Globalization;
using System.Text.RegularExpressions;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline;

internal static partial class SpectralLibraries
{
    /// <summary>splib07's title line: "splib07a Record=4742: Kaolinite CM9 BECKb AREF" (also s07_AV14, s07_EMIT...).</summary>
    [GeneratedRegex(@"^\s*(\S+)\s+Record=(\d+):\s*(.*?)\s*$")]
    private static partial Regex Splib07Title();

    [GeneratedRegex(@"^Chapter[A-Z]_(.+)$")]
    private static partial Regex Splib07Chapter();

    /// <summary>The splib07 title of a text file, or null when its first line is not one.</summary>
    private static string? Splib07TitleOf(string file)
    {
        using var reader = new StreamReader(file, System.Text.Encoding.Latin1);
        var first = reader.ReadLine();
        return first is not null && Splib07Title().Match(first) is { Success: true } m ? m.Groups[3].Value : null;
    }

    /// <summary>Whether a folder (searched recursively) or a file is USGS splib07 ASCII data.</summary>
    private static bool IsSplib07(string path) => Directory.Exists(path)
        ? Directory.EnumerateFiles(path, "*.txt", SearchOption.AllDirectories).Take(20).Any(f => Splib07TitleOf(f) is not null)
        : Splib07TitleOf(path) is not null;

    /// <summary>
    /// USGS Spectral Library Version 7 ASCII data (Kokaly et al. 2017; the ASCIIdata_splib07a/b and convolved
    /// s07_* folders): one file per spectrum, a title line ("splib07a Record=4742: Kaolinite CM9 BECKb AREF") then one
    /// reflectance value (0-1) per line, -1.23e34 for a deleted channel. The wavelengths (and bandpasses) of each
    /// spectrometer are separate files of the same shape ("... Wavelengths BECK Beckman 0.2-3.0 microns",
    /// "... Bandpass (FWHM) ..."); a spectrum is matched to the one with as many values, in its folder or a folder
    /// above it. Spectra in a ChapterX_Name folder get the class "Name" in the field <c>chapter</c>. The spectra
    /// are put on the first spectrum's wavelengths (deleted channels left out) inside the range all of them cover;
    /// others are linearly interpolated, which the result's Units says. FWHM is kept when no spectrum was interpolated.
    /// </summary>
    private static SpectralLibrary ReadSplib07(string path, LibraryUnits units)
    {
        var folder = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        // Wavelength and bandpass files: in the folder given (recursively), or beside the file given and up to two folders above.
        var searched = new List<string> { folder };
        if (!Directory.Exists(path))
            for (var d = Directory.GetParent(folder); d is not null && searched.Count < 3; d = d.Parent) searched.Add(d.FullName);
        var all = (Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*.txt", SearchOption.AllDirectories)
                : searched.SelectMany(d => Directory.EnumerateFiles(d, "*.txt")).Append(Path.GetFullPath(path)))
            .Distinct().Order(StringComparer.Ordinal).ToArray();
        var axes = new List<(string File, string Title, double[] Values, bool Bandpass)>();
        var spectra = new List<(string File, string Name, double[] Values)>();
        foreach (var file in all)
        {
            var title = Splib07TitleOf(file);
            if (title is null) continue;
            var isWavelengths = title.StartsWith("Wavelength", StringComparison.OrdinalIgnoreCase);
            var isBandpass = title.StartsWith("Bandpass", StringComparison.OrdinalIgnoreCase) || title.Contains("FWHM", StringComparison.OrdinalIgnoreCase);
            if (isWavelengths || isBandpass) axes.Add((file, title, Splib07Values(file), isBandpass));
            else if (Directory.Exists(path) || file == Path.GetFullPath(path)) spectra.Add((file, Regex.Replace(title, @"\s+", " "), Splib07Values(file)));
        }
        if (spectra.Count == 0) throw new EndmemberFileException(path, "holds no splib07 spectrum files (a title line 'splib07a Record=N: NAME' then one value per line)");
        var wavelengthFiles = axes.Where(a => !a.Bandpass).ToArray();
        (string File, string Title, double[] Values) Axis(string spectrumFile, int count, bool bandpass)
        {
            var match = axes.Where(a => a.Bandpass == bandpass && a.Values.Length == count).ToArray();
            if (match.Length > 1)
                throw new EndmemberFileException(spectrumFile, $"has {count} values, and {match.Length} {(bandpass ? "bandpass" : "wavelength")} files have as many ({string.Join(", ", match.Select(m => Path.GetFileName(m.File)))}): cannot tell which is its");
            if (match.Length == 0)
                return bandpass ? default : throw new EndmemberFileException(spectrumFile, $"has {count} values, and no splib07 wavelengths file with {count} values was found in {string.Join(" or ", searched)}"
                    + (wavelengthFiles.Length == 0 ? " (none at all: the release keeps them beside the chapter folders, e.g. splib07a_Wavelengths_BECK_Beckman_0.2-3.0_microns.txt)" : $" (those found have {string.Join(", ", wavelengthFiles.Select(a => a.Values.Length).Distinct())} values)"));
            return (match[0].File, match[0].Title, match[0].Values);
        }
        var parsed = spectra.Select(s =>
        {
            var axis = Axis(s.File, s.Values.Length, bandpass: false);
            var keep = Enumerable.Range(0, s.Values.Length).Where(i => s.Values[i] > -1e30 && axis.Values[i] > -1e30 && axis.Values[i] > 0).OrderBy(i => axis.Values[i]).ToArray();
            if (keep.Length < 2) throw new EndmemberFileException(s.File, "has fewer than two channels that are not deleted (-1.23e34)");
            return (s.File, s.Name, Axis: axis, Keep: keep, X: keep.Select(i => axis.Values[i]).ToArray(), Y: keep.Select(i => s.Values[i]).ToArray());
        }).ToArray();
        var unit = parsed[0].Axis.Title.Contains("micron", StringComparison.OrdinalIgnoreCase) || Regex.IsMatch(parsed[0].Axis.Title, @"\bum\b") ? "um"
            : parsed[0].Axis.Title.Contains("nanomet", StringComparison.OrdinalIgnoreCase) || Regex.IsMatch(parsed[0].Axis.Title, @"\bnm\b") ? "nm" : null;
        foreach (var p in parsed.Skip(1))
            if (p.Axis.File != parsed[0].Axis.File && unit is not null && !p.Axis.Title.Contains(unit == "um" ? "micron" : "nanomet", StringComparison.OrdinalIgnoreCase) && !Regex.IsMatch(p.Axis.Title, $@"\b{unit}\b"))
                throw new EndmemberFileException(p.Axis.File, $"does not say its unit is {(unit == "um" ? "microns" : "nanometres")} like {Path.GetFileName(parsed[0].Axis.File)}: state it with {OptionPath.LibraryWavelengthUnit}");
        double lo = parsed.Max(p => p.X[0]), hi = parsed.Min(p => p.X[^1]);
        var first = parsed[0];
        var gridIndex = Enumerable.Range(0, first.X.Length).Where(i => first.X[i] >= lo && first.X[i] <= hi).ToArray();
        var grid = gridIndex.Select(i => first.X[i]).ToArray();
        if (grid.Length < 2) throw new EndmemberFileException(path, "its spectra share no wavelength range");
        var interpolated = 0;
        var values = parsed.Select(p =>
        {
            if (p.X.SequenceEqual(first.X)) return gridIndex.Select(i => p.Y[i]).ToArray();
            interpolated++;
            return grid.Select(g => Unmixing.Mesma.SpectralResampler.Linear(p.X, p.Y, g)).ToArray();
        }).ToArray();
        double[]? fwhm = null;
        if (interpolated == 0 && Axis(first.File, first.Axis.Values.Length, bandpass: true) is { File: not null } band)
            fwhm = gridIndex.Select(i => band.Values[first.Keep[i]]).ToArray();
        var classes = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var chapters = parsed.Select(p => Splib07Chapter().Match(Path.GetFileName(Path.GetDirectoryName(p.File)!)) is { Success: true } m ? m.Groups[1].Value.Replace('_', ' ') : null).ToArray();
        if (chapters.All(c => c is not null)) classes["chapter"] = chapters!;
        var names = parsed.Select(p => p.Name).ToArray();
        foreach (var dup in names.GroupBy(n => n).Where(g => g.Count() > 1).Take(1))
            throw new EndmemberFileException(path, $"holds spectrum '{dup.Key}' {dup.Count()} times");
        var lib = new SpectralLibrary(path, values, names, grid) { Fwhm = fwhm, Classes = classes };
        var normalised = Normalise(lib, units, unit, 1, path, "splib07 is reflectance 0-1");
        var deleted = parsed.Sum(p => p.Axis.Values.Length - p.Keep.Length);
        return normalised with
        {
            Units = normalised.Units + (interpolated > 0 ? $"; {interpolated} of {parsed.Length} spectra linearly interpolated to the first one's wavelengths ({Path.GetFileName(first.Axis.File)})" : "")
                + (deleted > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {deleted} deleted channels (-1.23e34) left out") : ""),
        };
    }

    private static double[] Splib07Values(string file)
    {
        var lines = File.ReadAllLines(file, System.Text.Encoding.Latin1);
        var values = new List<double>(lines.Length);
        for (var i = 1; i < lines.Length; i++)
        {
            var s = lines[i].Trim();
            if (s.Length == 0) continue;
            values.Add(Number(s, file, i + 1));
        }
        if (values.Count == 0) throw new EndmemberFileException(file, "has a splib07 title line and no values");
        return values.ToArray();
    }
}
