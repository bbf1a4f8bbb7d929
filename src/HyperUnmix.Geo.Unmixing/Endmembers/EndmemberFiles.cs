using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace HyperUnmix.Geo.Unmixing.Endmembers;

/// <summary>A problem in an endmember file: names the file and what is wrong.</summary>
/// <param name="path">The endmember or library file at fault.</param>
/// <param name="problem">What is wrong with it, in one line; the message is "path: problem".</param>
public sealed class EndmemberFileException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    /// <summary>The endmember or library file at fault.</summary>
    public string Path { get; } = path;
    /// <summary>BadInput (exit code 3).</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
}

/// <summary>Spectra as read from a file: any number of them (a library may hold more spectra than bands).</summary>
/// <param name="Path">The file the spectra were read from.</param>
/// <param name="Spectra">One array per spectrum, each of <see cref="Bands"/> values, in the file's units.</param>
/// <param name="Names">One name per spectrum.</param>
/// <param name="Wavelengths">Each band's wavelength as the file gives it, or null when it gives none.</param>
public sealed record SpectralLibrary(string Path, double[][] Spectra, string[] Names, double[]? Wavelengths)
{
    /// <summary>Values per spectrum (0 for an empty library).</summary>
    public int Bands => Spectra.Length == 0 ? 0 : Spectra[0].Length;
    /// <summary>Number of spectra.</summary>
    public int Count => Spectra.Length;
    /// <summary>Full width at half maximum of each band (the wavelengths' unit), when the file gives it.</summary>
    public double[]? Fwhm { get; init; }
    /// <summary>Class columns: field name (e.g. "level_1") → each spectrum's class in it.</summary>
    public IReadOnlyDictionary<string, string[]> Classes { get; init; } = new Dictionary<string, string[]>();
    /// <summary>Class colours (RGB) by field and class name, when a sidecar gives them.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, (byte R, byte G, byte B)>> ClassColours { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, (byte R, byte G, byte B)>>();
    /// <summary>How the wavelength unit and the reflectance scale were decided (stated, read from the file, or detected).</summary>
    public string Units { get; init; } = "as read";

    /// <summary>The named spectra (all when <paramref name="names"/> is empty) as an endmember set.</summary>
    public EndmemberSet Select(IReadOnlyCollection<string>? names = null)
    {
        int[] idx;
        if (names is null || names.Count == 0)
        {
            if (Count > Bands)
                throw new EndmemberFileException(Path, $"holds {Count} spectra for {Bands} bands: choose the endmembers by name ({EndmemberFiles.NamesOption})");
            idx = Enumerable.Range(0, Count).ToArray();
        }
        else
        {
            idx = names.Select(name => Array.IndexOf(Names, name) is var i && i >= 0
                ? i : throw new EndmemberFileException(Path, $"has no spectrum named '{name}' (it has: {string.Join(", ", Names.Take(10))}{(Count > 10 ? ", ..." : "")})")).ToArray();
        }
        return SelectIndices(idx);
    }

    /// <summary>The spectra at the given indices as an endmember set.</summary>
    public EndmemberSet SelectIndices(IReadOnlyList<int> idx)
    {
        try
        {
            return EndmemberSet.FromSpectra(idx.Select(i => Spectra[i]).ToArray(), idx.Select(i => Names[i]).ToArray(), Wavelengths);
        }
        catch (ArgumentException e)
        {
            throw new EndmemberFileException(Path, e.Message);
        }
    }
}

/// <summary>
/// Reads and writes endmember spectra: CSV (one row per band; optional columns band/channel/original_band,
/// wavelength[_nm], fwhm[_nm]; every other column one spectrum) and ENVI spectral libraries (.sli + .hdr).
/// </summary>
public static class EndmemberFiles
{
    // The run options these errors point to, by their property paths (HyperUnmix.Geo.Pipeline's OptionPath); the
    // command line substitutes its flags.
    internal const string NamesOption = "Endmembers.EndmemberNames";
    internal const string ResampleOption = "Endmembers.Resample";

    private static readonly string[] IndexColumns = ["band", "channel", "original_band", "index"];
    private static readonly string[] WavelengthColumns = ["wavelength", "wavelength_nm", "wavelength_um", "wavelength (nm)", "wl"];
    private static readonly string[] FwhmColumns = ["fwhm", "fwhm_nm"];

    /// <summary>Loads a CSV or an ENVI spectral library (chosen by extension: .sli/.hdr are ENVI).</summary>
    public static EndmemberSet Load(string path, IReadOnlyCollection<string>? select = null) => LoadLibrary(path).Select(select);

    /// <summary>Reads every spectrum of a CSV or ENVI spectral library.</summary>
    public static SpectralLibrary LoadLibrary(string path)
    {
        if (!File.Exists(path)) throw new EndmemberFileException(path, "file not found");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".sli" or ".hdr" ? ReadEnviLibrary(path) : ReadCsv(path);
    }

    /// <summary>Reads a CSV library: a header row, then one row per band; every column but band/index, wavelength and FWHM columns is a spectrum named by its header.</summary>
    /// <exception cref="EndmemberFileException">No rows or spectrum columns, a ragged row, or a cell that is not a finite number.</exception>
    public static SpectralLibrary ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l) && !l.StartsWith('#')).ToArray();
        if (lines.Length < 2) throw new EndmemberFileException(path, "is empty: expected a header row and one row per band");
        var header = SplitCsv(lines[0]);
        var wlCol = Array.FindIndex(header, h => WavelengthColumns.Contains(h.Trim().ToLowerInvariant()));
        var spectraCols = Enumerable.Range(0, header.Length)
            .Where(i => i != wlCol && !IndexColumns.Contains(header[i].Trim().ToLowerInvariant()) && !FwhmColumns.Contains(header[i].Trim().ToLowerInvariant()))
            .ToArray();
        if (spectraCols.Length == 0) throw new EndmemberFileException(path, "has no spectrum columns (only band/wavelength columns)");
        var l = lines.Length - 1;
        var e = new double[l * spectraCols.Length];
        var wl = wlCol >= 0 ? new double[l] : null;
        for (var r = 0; r < l; r++)
        {
            var cells = SplitCsv(lines[r + 1]);
            if (cells.Length != header.Length)
                throw new EndmemberFileException(path, $"line {r + 2} has {cells.Length} fields, the header has {header.Length}");
            for (var k = 0; k < spectraCols.Length; k++)
                e[r * spectraCols.Length + k] = ParseNumber(cells[spectraCols[k]], path, r + 2);
            if (wl is not null) wl[r] = ParseNumber(cells[wlCol], path, r + 2);
        }
        var spectra = Enumerable.Range(0, spectraCols.Length).Select(k => Enumerable.Range(0, l).Select(r => e[r * spectraCols.Length + k]).ToArray()).ToArray();
        return new SpectralLibrary(path, spectra, spectraCols.Select(i => header[i].Trim()).ToArray(), wl);
    }

    /// <summary>Writes the set as CSV (band, wavelength when known, then one column per endmember), atomically: readers never see half a file.</summary>
    public static void WriteCsv(string path, EndmemberSet set)
    {
        var sb = new StringBuilder();
        sb.Append("band");
        if (set.Wavelengths is not null) sb.Append(",wavelength");
        foreach (var n in set.Names) sb.Append(',').Append(Quote(n));
        sb.Append('\n');
        for (var l = 0; l < set.Bands; l++)
        {
            sb.Append(l + 1);
            if (set.Wavelengths is { } w) sb.Append(',').Append(w[l].ToString("R", CultureInfo.InvariantCulture));
            for (var j = 0; j < set.Count; j++) sb.Append(',').Append(set.E[l * set.Count + j].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        WriteAtomically(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>Writes an ENVI spectral library: float32 .sli (one line per spectrum) and its .hdr.</summary>
    public static void WriteEnviLibrary(string path, EndmemberSet set, string wavelengthUnits = "Nanometers")
    {
        var data = new byte[set.Bands * set.Count * 4];
        var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.AsSpan());
        for (var j = 0; j < set.Count; j++)
            for (var l = 0; l < set.Bands; l++) span[j * set.Bands + l] = (float)set.E[l * set.Count + j];
        var hdr = new StringBuilder();
        hdr.Append("ENVI\ndescription = {HyperUnmix.Geo endmember spectra}\n");
        hdr.Append(CultureInfo.InvariantCulture, $"samples = {set.Bands}\nlines = {set.Count}\nbands = 1\nheader offset = 0\n");
        hdr.Append("file type = ENVI Spectral Library\ndata type = 4\ninterleave = bsq\nbyte order = 0\n");
        hdr.Append("spectra names = {").Append(string.Join(", ", set.Names.Select(n => n.Replace(',', ';')))).Append("}\n");
        if (set.Wavelengths is { } w)
        {
            hdr.Append(CultureInfo.InvariantCulture, $"wavelength units = {wavelengthUnits}\n");
            hdr.Append("wavelength = {").Append(string.Join(", ", w.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))).Append("}\n");
        }
        WriteAtomically(path, data);
        WriteAtomically(Path.ChangeExtension(path, ".hdr"), Encoding.UTF8.GetBytes(hdr.ToString()));
    }

    /// <summary>Reads an ENVI spectral library (float32 or float64, either byte order) from its data file or its .hdr.</summary>
    /// <exception cref="EndmemberFileException">No header or data file, an invalid or unsupported header item, or a truncated file.</exception>
    public static SpectralLibrary ReadEnviLibrary(string path)
    {
        var hdrPath = Path.GetExtension(path).Equals(".hdr", StringComparison.OrdinalIgnoreCase) ? path : Path.ChangeExtension(path, ".hdr");
        if (!File.Exists(hdrPath)) throw new EndmemberFileException(path, $"has no ENVI header ({hdrPath} not found)");
        var h = ParseEnviHeader(File.ReadAllText(hdrPath));
        // Every item checked, in the header's terms: "header offset = abc", "samples = -1" or an offset of -8 were
        // internal errors or .NET's own text.
        int Int(string key, int min) => h.TryGetValue(key, out var v) && int.TryParse(v, CultureInfo.InvariantCulture, out var i) && i >= min
            ? i : throw new EndmemberFileException(hdrPath, $"'{key}' is {(h.TryGetValue(key, out var given) ? $"'{given}'" : "missing")}, expected a whole number of at least {min}");
        int samples = Int("samples", 1), lines = Int("lines", 1), type = Int("data type", 0);
        var offset = h.ContainsKey("header offset") ? Int("header offset", 0) : 0;
        if (type is not (4 or 5)) throw new EndmemberFileException(hdrPath, $"data type {type} is not supported (4 = float32, 5 = float64)");
        var dataPath = hdrPath == path ? FindData(hdrPath) : path;
        var size = type == 4 ? 4 : 8;
        var needed = offset + (long)samples * lines * size;
        // A library is read whole: one beyond what an array holds is refused before it is read.
        if (needed > Array.MaxLength)
            throw new EndmemberFileException(hdrPath, string.Create(CultureInfo.InvariantCulture,
                $"describes {lines} spectra of {samples} bands ({needed:N0} bytes), more than a spectral library read whole can hold ({Array.MaxLength:N0} bytes)"));
        var length = new FileInfo(dataPath).Length;
        if (length < needed)
            throw new EndmemberFileException(dataPath, $"truncated: {lines} spectra of {samples} bands need {needed} bytes, file has {length}");
        var bytes = File.ReadAllBytes(dataPath);
        var bigEndian = h.GetValueOrDefault("byte order") == "1";
        var spectra = new List<double[]>();
        for (var j = 0; j < lines; j++)
        {
            var s = new double[samples];
            for (var l = 0; l < samples; l++)
            {
                var at = offset + (j * samples + l) * size;
                var v = bytes.AsSpan(at, size);
                s[l] = (size, bigEndian) switch
                {
                    (4, false) => BinaryPrimitives.ReadSingleLittleEndian(v),
                    (4, true) => BinaryPrimitives.ReadSingleBigEndian(v),
                    (_, false) => BinaryPrimitives.ReadDoubleLittleEndian(v),
                    _ => BinaryPrimitives.ReadDoubleBigEndian(v),
                };
            }
            spectra.Add(s);
        }
        var names = SplitList(h.GetValueOrDefault("spectra names"));
        var wl = SplitList(h.GetValueOrDefault("wavelength")).Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
            ? x : throw new EndmemberFileException(hdrPath, $"'wavelength' holds '{v}', not a number")).ToArray();
        return new SpectralLibrary(path, spectra.ToArray(), names.Length == lines ? names : Enumerable.Range(1, lines).Select(i => $"spectrum {i}").ToArray(),
            wl.Length == samples ? wl : null);
    }

    /// <summary>
    /// Checks that endmembers fit a scene's bands. With wavelengths on both sides that differ, the spectra are
    /// linearly resampled to the scene's wavelengths when <paramref name="resample"/> is set, else refused.
    /// </summary>
    public static EndmemberSet MatchScene(EndmemberSet set, string source, int sceneBands, double[]? sceneWavelengths, bool resample)
    {
        var same = set.Bands == sceneBands && (set.Wavelengths is null || sceneWavelengths is null ||
                   set.Wavelengths.Zip(sceneWavelengths).All(t => Math.Abs(t.First - t.Second) <= 1e-3 * Math.Max(1, Math.Abs(t.Second))));
        if (same) return set;
        if (set.Wavelengths is null || sceneWavelengths is null)
            throw new EndmemberFileException(source,
                $"has {set.Bands} bands, but {sceneBands} bands of the scene are used (after the band selection and screening), and without wavelengths on both sides they cannot be matched");
        if (!resample)
        {
            var worst = set.Bands == sceneBands ? set.Wavelengths.Zip(sceneWavelengths).Max(t => Math.Abs(t.First - t.Second)) : double.NaN;
            throw new EndmemberFileException(source, set.Bands == sceneBands
                ? $"wavelengths differ from the scene's by up to {worst:G4}; pass {ResampleOption} to interpolate the spectra to the scene's wavelengths"
                : $"has {set.Bands} bands, but {sceneBands} bands of the scene are used (after the band selection and screening); pass {ResampleOption} to interpolate the spectra to the scene's wavelengths");
        }
        var order = Enumerable.Range(0, set.Bands).OrderBy(i => set.Wavelengths[i]).ToArray();
        var xs = order.Select(i => set.Wavelengths[i]).ToArray();
        if (sceneWavelengths.Min() < xs[0] - 1e-6 || sceneWavelengths.Max() > xs[^1] + 1e-6)
            throw new EndmemberFileException(source, $"covers {xs[0]:G6}-{xs[^1]:G6}, the scene {sceneWavelengths.Min():G6}-{sceneWavelengths.Max():G6}: cannot resample outside the library's range");
        var spectra = new List<double[]>();
        for (var j = 0; j < set.Count; j++)
        {
            var s = set.Spectrum(j);
            var ys = order.Select(i => s[i]).ToArray();
            spectra.Add(sceneWavelengths.Select(w => Interpolate(xs, ys, w)).ToArray());
        }
        return EndmemberSet.FromSpectra(spectra, set.Names, sceneWavelengths);
    }

    private static double Interpolate(double[] xs, double[] ys, double x)
    {
        var i = Array.BinarySearch(xs, x);
        if (i >= 0) return ys[i];
        i = ~i;
        if (i == 0) return ys[0];
        if (i >= xs.Length) return ys[^1];
        var t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
        return ys[i - 1] + t * (ys[i] - ys[i - 1]);
    }

    /// <summary>An ENVI header's items, keys case-insensitive; a "{...}" value spanning lines is joined into one line, braces kept.</summary>
    public static Dictionary<string, string> ParseEnviHeader(string text)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) continue;
            var key = line[..eq].Trim();
            var value = line[(eq + 1)..].Trim();
            if (value.StartsWith('{'))
                while (!value.Contains('}', StringComparison.Ordinal) && i + 1 < lines.Length) value += " " + lines[++i].Trim();
            d[key] = value;
        }
        return d;
    }

    private static string[] SplitList(string? v) => string.IsNullOrWhiteSpace(v) ? []
        : v.Trim().TrimStart('{').TrimEnd('}').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static string FindData(string hdr)
    {
        foreach (var ext in new[] { ".sli", ".img", ".dat", "" })
        {
            var p = Path.ChangeExtension(hdr, ext == "" ? null : ext);
            if (File.Exists(p) && p != hdr) return p;
        }
        throw new EndmemberFileException(hdr, "no data file (.sli, .img, .dat) found next to the header");
    }

    /// <summary>A CSV cell as a finite number, or an error naming the file and line.</summary>
    public static double ParseNumber(string s, string path, int line) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v : throw new EndmemberFileException(path, $"line {line}: '{s.Trim()}' is not a finite number");

    /// <summary>One CSV line's cells (quoted cells may hold commas and doubled quotes).</summary>
    public static string[] SplitCsv(string line)
    {
        var cells = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '"') { if (quoted && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; } else quoted = !quoted; }
            else if (c == ',' && !quoted) { cells.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        cells.Add(sb.ToString().TrimEnd('\r'));
        return cells.ToArray();
    }

    /// <summary>A CSV cell, quoted when it holds a comma or a quote.</summary>
    public static string Quote(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal) ? $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : s;

    /// <summary>
    /// This machine in temporary names, as <c>OutputSet.HostTag</c> (same formula; a test checks they agree): a later
    /// run removes a temporary when its process is gone, which only the machine that wrote it can tell.
    /// </summary>
    public static string HostTag { get; } =
        "h" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Environment.MachineName)))[..6].ToLowerInvariant();

    /// <summary>Writes a small file under a temporary name and renames it, so readers never see half a file.</summary>
    public static void WriteAtomically(string path, byte[] content)
    {
        var full = Path.GetFullPath(path);
        // A short hidden name (".hu-PID-..." like every temporary of this project: a later run removes it if this
        // process dies before the rename), so that a legal 255-character final name still has a legal temporary one.
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".hu-{Environment.ProcessId}-{HostTag}-{Guid.NewGuid().ToString("N")[..12]}.partial");
        try
        {
            File.WriteAllBytes(temp, content);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
