using System.Globalization;
using System.Text;
using System.Text.Json;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>A library's units when the user states them (null: read from the file, else detected and reported).</summary>
/// <param name="Wavelength">"nm" or "um".</param>
/// <param name="ReflectanceScale">1, 100 or 10000: the value that stands for reflectance 1.</param>
public sealed record LibraryUnits(string? Wavelength = null, double? ReflectanceScale = null);

/// <summary>
/// Reads spectral libraries with names and classes, in one form whatever the file: wavelengths in nanometres,
/// reflectance 0-1, FWHM in nanometres when known, class columns per spectrum.
/// <list type="bullet">
/// <item>ENVI <c>.sli</c> + <c>.hdr</c> (<c>spectra names</c>, <c>wavelength units</c>, <c>fwhm</c>,
/// <c>reflectance scale factor</c>), with EnMAP-Box's sidecars: <c>STEM.csv</c> (<c>spectra names,level_1,...</c>)
/// and <c>STEM.json</c> (class codes, names, colours).</item>
/// <item>Our CSV: one row per band (<c>channel</c>/<c>band</c>, <c>wavelength_nm</c> or <c>wavelength_um</c>,
/// <c>fwhm_nm</c>, then one column per spectrum); a row whose first cell is a name instead of a band number gives
/// each spectrum's class in the field of that name.</item>
/// <item>EnMAP-Box vector libraries (GeoPackage, GeoJSON): one feature per spectrum, a <c>profiles</c> field with
/// JSON <c>{"x": [...], "y": [...], "xUnit": "Micrometers"}</c>, a <c>name</c> field, the other text fields as classes.</item>
/// </list>
/// Units are stated (<see cref="LibraryUnits"/>), read from the file, or detected from the values; the result says
/// which in <see cref="SpectralLibrary.Units"/>. Errors name the file.
/// </summary>
internal static partial class SpectralLibraries
{
    public static SpectralLibrary Read(string path, LibraryUnits? units = null)
    {
        units ??= new LibraryUnits();
        if (Directory.Exists(path))
            return IsSplib07(path) ? ReadSplib07(path, units) : ReadEcostress(path, Directory.GetFiles(path, "*.txt").Order(StringComparer.Ordinal).ToArray(), units);
        if (!File.Exists(path)) throw new EndmemberFileException(path, "file not found");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".txt" when IsSplib07(path) => ReadSplib07(path, units),
            ".txt" => ReadEcostress(path, [path], units),
            ".sli" or ".hdr" => ReadEnvi(path, units),
            ".gpkg" or ".geojson" or ".json" => ReadVector(path, units),
            _ => ReadCsv(path, units),
        };
    }

    private static SpectralLibrary ReadEnvi(string path, LibraryUnits units)
    {
        var raw = EndmemberFiles.ReadEnviLibrary(path);
        var hdrPath = Path.GetExtension(path).Equals(".hdr", StringComparison.OrdinalIgnoreCase) ? path : Path.ChangeExtension(path, ".hdr");
        var h = EndmemberFiles.ParseEnviHeader(File.ReadAllText(hdrPath));
        if (raw.Wavelengths is null) throw new EndmemberFileException(hdrPath, $"has no 'wavelength' list of {raw.Bands} values: a library's bands must have wavelengths to be matched to a scene's");
        var fwhm = RasterListOrNull(h.GetValueOrDefault("fwhm"), raw.Bands);
        double? factor = h.TryGetValue("reflectance scale factor", out var f) && double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out var rf) && rf > 0 ? rf : null;
        var (classes, colours) = EnviSidecars(path, raw.Names);
        return Normalise(raw with { Fwhm = fwhm, Classes = classes, ClassColours = colours }, units, h.GetValueOrDefault("wavelength units"), factor, hdrPath);
    }

    private static double[]? RasterListOrNull(string? s, int n)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var parts = s.Trim().TrimStart('{').TrimEnd('}').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var v = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])) return null;
        return v.Length == n ? v : null;
    }

    /// <summary>EnMAP-Box's class sidecars of an .sli: STEM.csv (per spectrum, matched by name) and STEM.json (colours).</summary>
    private static (Dictionary<string, string[]>, Dictionary<string, IReadOnlyDictionary<string, (byte, byte, byte)>>) EnviSidecars(string path, string[] names)
    {
        var classes = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var colours = new Dictionary<string, IReadOnlyDictionary<string, (byte, byte, byte)>>(StringComparer.OrdinalIgnoreCase);
        var csv = Path.ChangeExtension(path, ".csv");
        if (File.Exists(csv))
        {
            var lines = File.ReadAllLines(csv).Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
            if (lines.Length > 0)
            {
                var header = SplitCsv(lines[0]);
                var nameCol = Array.FindIndex(header, c => c.Trim().Equals("spectra names", StringComparison.OrdinalIgnoreCase) || c.Trim().Equals("name", StringComparison.OrdinalIgnoreCase));
                if (nameCol < 0) throw new EndmemberFileException(csv, "has no 'spectra names' column: cannot match its rows to the library's spectra");
                var rows = new Dictionary<string, string[]>(StringComparer.Ordinal);
                for (var r = 1; r < lines.Length; r++)
                {
                    var cells = SplitCsv(lines[r]);
                    if (cells.Length != header.Length) throw new EndmemberFileException(csv, $"line {r + 1} has {cells.Length} fields, the header has {header.Length}");
                    if (!rows.TryAdd(cells[nameCol].Trim(), cells)) throw new EndmemberFileException(csv, $"line {r + 1}: spectrum '{cells[nameCol].Trim()}' is listed twice");
                }
                foreach (var n in names)
                    if (!rows.ContainsKey(n)) throw new EndmemberFileException(csv, $"has no row for spectrum '{n}' of the library");
                for (var c = 0; c < header.Length; c++)
                    if (c != nameCol) classes[header[c].Trim()] = names.Select(n => rows[n][c].Trim()).ToArray();
            }
        }
        var json = Path.ChangeExtension(path, ".json");
        if (File.Exists(json))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(json));
                foreach (var field in doc.RootElement.EnumerateObject())
                {
                    if (!field.Value.TryGetProperty("categories", out var cats)) continue;
                    var map = new Dictionary<string, (byte, byte, byte)>(StringComparer.Ordinal);
                    foreach (var cat in cats.EnumerateArray())
                    {
                        // [code, name, [r, g, b]]
                        var rgb = cat[2];
                        map[cat[1].GetString()!] = ((byte)rgb[0].GetInt32(), (byte)rgb[1].GetInt32(), (byte)rgb[2].GetInt32());
                    }
                    colours[field.Name] = map;
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or IndexOutOfRangeException or KeyNotFoundException)
            {
                throw new EndmemberFileException(json, $"is not an EnMAP-Box class file ({{\"level_1\": {{\"categories\": [[code, name, [r, g, b]], ...]}}}}): {e.Message}");
            }
        }
        return (classes, colours);
    }

    private static readonly string[] IndexColumns = ["band", "channel", "original_band", "index"];

    private static SpectralLibrary ReadCsv(string path, LibraryUnits units)
    {
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l) && !l.StartsWith('#')).ToArray();
        if (lines.Length < 2) throw new EndmemberFileException(path, "is empty: expected a header row and one row per band");
        var header = SplitCsv(lines[0]).Select(h => h.Trim()).ToArray();
        var lower = header.Select(h => h.ToLowerInvariant()).ToArray();
        var wlCol = Array.FindIndex(lower, h => h is "wavelength" or "wavelength_nm" or "wavelength_um" or "wavelength (nm)" or "wl");
        if (wlCol < 0) throw new EndmemberFileException(path, "has no wavelength column (wavelength_nm or wavelength_um): a library's bands must have wavelengths to be matched to a scene's");
        var fwhmCol = Array.FindIndex(lower, h => h is "fwhm" or "fwhm_nm" or "fwhm_um");
        string? wlUnit = lower[wlCol].EndsWith("_nm", StringComparison.Ordinal) || lower[wlCol].Contains("(nm)", StringComparison.Ordinal) ? "nm"
            : lower[wlCol].EndsWith("_um", StringComparison.Ordinal) ? "um" : null;
        var spectraCols = Enumerable.Range(0, header.Length).Where(i => i != wlCol && i != fwhmCol && !IndexColumns.Contains(lower[i])).ToArray();
        if (spectraCols.Length == 0) throw new EndmemberFileException(path, "has no spectrum columns (only band/wavelength columns)");
        var classes = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var wl = new List<double>();
        var fwhm = new List<double>();
        var values = new List<double[]>();
        for (var r = 1; r < lines.Length; r++)
        {
            var cells = SplitCsv(lines[r]);
            if (cells.Length != header.Length) throw new EndmemberFileException(path, $"line {r + 1} has {cells.Length} fields, the header has {header.Length}");
            var first = cells[0].Trim();
            if (!double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && first.Length > 0)
            {
                // A class row: its first cell names the field, its spectrum cells give each spectrum's class.
                if (values.Count > 0) throw new EndmemberFileException(path, $"line {r + 1}: class row '{first}' after the band rows (class rows come right after the header)");
                classes[first] = spectraCols.Select(c => cells[c].Trim()).ToArray();
                continue;
            }
            wl.Add(Number(cells[wlCol], path, r + 1));
            if (fwhmCol >= 0) fwhm.Add(Number(cells[fwhmCol], path, r + 1));
            values.Add(spectraCols.Select(c => Number(cells[c], path, r + 1)).ToArray());
        }
        if (values.Count == 0) throw new EndmemberFileException(path, "has no band rows");
        var spectra = spectraCols.Select((_, k) => values.Select(row => row[k]).ToArray()).ToArray();
        var lib = new SpectralLibrary(path, spectra, spectraCols.Select(c => header[c]).ToArray(), wl.ToArray())
        {
            Fwhm = fwhmCol >= 0 ? fwhm.ToArray() : null,
            Classes = classes,
        };
        return Normalise(lib, units, wlUnit, null, path);
    }

    private static SpectralLibrary ReadVector(string path, LibraryUnits units)
    {
        List<(long Fid, Dictionary<string, string?> Fields)> features;
        try
        {
            using var ds = GdalDataset.OpenVector(path);
            var layer = ds.GetLayer(0);
            features = layer.ReadAttributes();
        }
        catch (GdalException e)
        {
            throw new EndmemberFileException(path, $"cannot be read as a vector library: {e.Message}");
        }
        if (features.Count == 0) throw new EndmemberFileException(path, "has no features (one feature per spectrum expected)");
        var profileField = features[0].Fields.Keys.FirstOrDefault(k => k.Equals("profiles", StringComparison.OrdinalIgnoreCase))
            ?? throw new EndmemberFileException(path, $"has no 'profiles' field (EnMAP-Box libraries keep each spectrum as JSON there); fields: {string.Join(", ", features[0].Fields.Keys)}");
        var nameField = features[0].Fields.Keys.FirstOrDefault(k => k.Equals("name", StringComparison.OrdinalIgnoreCase));
        double[]? x = null;
        string? xUnit = null;
        var spectra = new List<double[]>();
        var names = new List<string>();
        foreach (var (fid, fields) in features)
        {
            var json = fields[profileField] ?? throw new EndmemberFileException(path, $"feature {fid} has no profile");
            double[] fx, fy;
            string? unit;
            try
            {
                using var doc = JsonDocument.Parse(json);
                var root = doc.RootElement;
                fx = root.GetProperty("x").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                fy = root.GetProperty("y").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToArray();
                unit = root.TryGetProperty("xUnit", out var u) ? u.GetString() : null;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new EndmemberFileException(path, $"feature {fid}: the profile is not EnMAP-Box JSON {{\"x\": [...], \"y\": [...]}}: {e.Message}");
            }
            if (fx.Length != fy.Length) throw new EndmemberFileException(path, $"feature {fid}: {fx.Length} x values for {fy.Length} y values");
            if (fy.Any(v => !double.IsFinite(v))) throw new EndmemberFileException(path, $"feature {fid}: the profile has missing or non-finite values");
            if (x is null) { x = fx; xUnit = unit; }
            else if (!x.SequenceEqual(fx) || unit != xUnit)
                throw new EndmemberFileException(path, $"feature {fid}: its wavelengths differ from the first feature's (a library's spectra must share their bands)");
            spectra.Add(fy);
            names.Add(nameField is not null && fields[nameField] is { } n ? n : $"spectrum {fid}");
        }
        // Every other field that holds text in every feature is a class column.
        var classes = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in features[0].Fields.Keys)
        {
            if (key.Equals(profileField, StringComparison.OrdinalIgnoreCase) || key.Equals(nameField, StringComparison.OrdinalIgnoreCase)) continue;
            var col = features.Select(f => f.Fields[key]).ToArray();
            if (col.All(v => v is not null && !v.TrimStart().StartsWith('{'))) classes[key] = col.Select(v => v!).ToArray();
        }
        var lib = new SpectralLibrary(path, spectra.ToArray(), names.ToArray(), x!) { Classes = classes };
        // Colours: EnMAP-Box writes the .json class file next to the library when it exports one.
        var side = Path.ChangeExtension(path, ".json");
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(side)) lib = lib with { ClassColours = EnviSidecarsColours(side) };
        return Normalise(lib, units, xUnit, null, path);
    }

    private static Dictionary<string, IReadOnlyDictionary<string, (byte, byte, byte)>> EnviSidecarsColours(string json)
    {
        var fake = Path.ChangeExtension(json, ".no-such-sli");
        return EnviSidecars(fake, []).Item2;
    }

    /// <summary>
    /// ECOSTRESS (and ASTER) library files, one spectrum each: "Key: Value" header lines (Name, Type, Class, ...,
    /// "X Units: Wavelength (micrometers)", "Y Units: Reflectance (percent)"), a blank line, then "x y" rows (either
    /// order of x). Type, Class and Subclass become class columns. The spectra are put on the first file's
    /// wavelengths inside the range every spectrum covers, the others linearly interpolated (reported in Units).
    /// </summary>
    private static SpectralLibrary ReadEcostress(string where, string[] files, LibraryUnits units)
    {
        if (files.Length == 0) throw new EndmemberFileException(where, "holds no ECOSTRESS spectrum files (*.txt)");
        var spectra = new List<(string File, Dictionary<string, string> Meta, double[] X, double[] Y)>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file, System.Text.Encoding.Latin1);
            var meta = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var i = 0;
            for (; i < lines.Length && lines[i].Trim().Length > 0; i++)
            {
                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                if (colon < 0) throw new EndmemberFileException(file, $"line {i + 1}: '{lines[i].Trim()}' is not a 'Key: Value' header line of an ECOSTRESS spectrum file");
                meta[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
            if (!meta.ContainsKey("X Units") || !meta.ContainsKey("Y Units"))
                throw new EndmemberFileException(file, "has no 'X Units' / 'Y Units' header lines: not an ECOSTRESS spectrum file");
            var pts = new List<(double X, double Y)>();
            for (; i < lines.Length; i++)
            {
                var parts = lines[i].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0) continue;
                if (parts.Length != 2) throw new EndmemberFileException(file, $"line {i + 1}: expected 'wavelength value', got '{lines[i].Trim()}'");
                var x = Number(parts[0], file, i + 1);
                var y = Number(parts[1], file, i + 1);
                if (x > 0) pts.Add((x, y));
            }
            if (pts.Count < 2) throw new EndmemberFileException(file, "has fewer than two spectrum rows");
            pts.Sort((a, b) => a.X.CompareTo(b.X));
            spectra.Add((file, meta, pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray()));
        }
        string Unit(string s) => s.Contains("micro", StringComparison.OrdinalIgnoreCase) ? "um" : s.Contains("nano", StringComparison.OrdinalIgnoreCase) ? "nm"
            : throw new EndmemberFileException(where, $"X Units '{s}' is neither micrometers nor nanometers");
        double Scale(string s) => s.Contains("percent", StringComparison.OrdinalIgnoreCase) ? 100 : 1;
        var xUnit = Unit(spectra[0].Meta["X Units"]);
        foreach (var sp in spectra)
        {
            if (Unit(sp.Meta["X Units"]) != xUnit) throw new EndmemberFileException(sp.File, $"X Units '{sp.Meta["X Units"]}' differ from {spectra[0].File}'s");
            if (!sp.Meta["Y Units"].Contains("reflect", StringComparison.OrdinalIgnoreCase))
                throw new EndmemberFileException(sp.File, $"Y Units '{sp.Meta["Y Units"]}' is not reflectance");
        }
        double lo = spectra.Max(sp => sp.X[0]), hi = spectra.Min(sp => sp.X[^1]);
        var grid = spectra[0].X.Where(v => v >= lo && v <= hi).ToArray();
        if (grid.Length < 2) throw new EndmemberFileException(where, "its spectra share no wavelength range");
        var values = spectra.Select(sp => grid.Select(g => Unmixing.Mesma.SpectralResampler.Linear(sp.X, sp.Y, g) / Scale(sp.Meta["Y Units"])).ToArray()).ToArray();
        var classes = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in new[] { "Type", "Class", "Subclass" })
            if (spectra.All(sp => sp.Meta.ContainsKey(key))) classes[key.ToLowerInvariant()] = spectra.Select(sp => sp.Meta[key]).ToArray();
        var lib = new SpectralLibrary(where, values, spectra.Select(sp => sp.Meta.GetValueOrDefault("Name") ?? Path.GetFileNameWithoutExtension(sp.File)).ToArray(), grid)
        {
            Classes = classes,
        };
        var normalised = Normalise(lib, units, xUnit, null, where);
        var resampled = spectra.Count(sp => !sp.X.SequenceEqual(spectra[0].X));
        return normalised with { Units = normalised.Units + (resampled > 0 ? $"; {resampled} of {spectra.Count} spectra linearly interpolated to the first one's wavelengths" : "")
            + (spectra.Any(sp => Scale(sp.Meta["Y Units"]) != 1) ? "; Y Units percent divided by 100" : "") };
    }

    /// <summary>
    /// Converts to nanometres and reflectance 0-1, from what the user stated, else what the file says, else what the
    /// values show (reported in <see cref="SpectralLibrary.Units"/>); refuses values no unit explains.
    /// </summary>
    private static SpectralLibrary Normalise(SpectralLibrary lib, LibraryUnits units, string? fileUnit, double? fileScale, string where,
        string fileScaleSource = "the header's reflectance scale factor")
    {
        var wl = lib.Wavelengths!;
        if (wl.Length != lib.Bands) throw new EndmemberFileException(where, $"{wl.Length} wavelengths for {lib.Bands} bands");
        string unitSource;
        var unit = units.Wavelength;
        if (unit is not null) unitSource = "stated";
        else if (WavelengthUnit(fileUnit) is { } u) { unit = u; unitSource = "from the file"; }
        else
        {
            var max = wl.Max();
            unit = max < 30 ? "um" : max >= 200 ? "nm" : throw new EndmemberFileException(where,
                $"wavelengths up to {max:G4} are neither micrometres nor nanometres: state the unit ({OptionPath.LibraryWavelengthUnit} nm|um)");
            unitSource = "detected from the values";
        }
        var toNm = unit switch
        {
            "nm" => 1.0,
            "um" => 1000.0,
            _ => throw new EndmemberFileException(where, $"wavelength unit '{unit}' is not nm or um"),
        };
        string scaleSource;
        var all = lib.Spectra.SelectMany(s => s).ToArray();
        var largest = all.Length == 0 ? 0 : all.Max();
        double scale;
        if (units.ReflectanceScale is { } stated) { scale = stated; scaleSource = "stated"; }
        else if (fileScale is { } fs) { scale = fs; scaleSource = fileScaleSource; }
        else
        {
            scale = largest <= 1.5 ? 1 : largest <= 150 ? 100 : largest <= 15000 ? 10000 : throw new EndmemberFileException(where,
                $"its largest value {largest:G4} is not reflectance 0-1, percent or x10000: state the scale ({OptionPath.LibraryScale})");
            scaleSource = $"detected from the largest value {largest:G4}";
        }
        if (largest / scale > 1.5)
            throw new EndmemberFileException(where, $"its largest value {largest:G4} is reflectance {largest / scale:G3} with scale {scale:G}: not reflectance; state the scale ({OptionPath.LibraryScale})");
        var order = Enumerable.Range(0, wl.Length).OrderBy(i => wl[i]).ToArray();
        for (var i = 1; i < order.Length; i++)
            if (wl[order[i]] == wl[order[i - 1]]) throw new EndmemberFileException(where, $"wavelength {wl[order[i]]:G6} is listed twice");
        var spectra = lib.Spectra.Select(s => order.Select(i => s[i] / scale).ToArray()).ToArray();
        return lib with
        {
            Spectra = spectra,
            Wavelengths = order.Select(i => wl[i] * toNm).ToArray(),
            Fwhm = lib.Fwhm is { } f ? order.Select(i => f[i] * toNm).ToArray() : null,
            Units = string.Create(CultureInfo.InvariantCulture, $"wavelengths in {(unit == "nm" ? "nanometres" : "micrometres")} ({unitSource}), reflectance x{scale:G} ({scaleSource})"),
        };
    }

    private static string? WavelengthUnit(string? s) => s?.Trim().ToLowerInvariant() switch
    {
        "nanometers" or "nanometres" or "nm" => "nm",
        "micrometers" or "micrometres" or "microns" or "um" or "µm" or "μm" => "um",
        _ => null,
    };

    /// <summary>Writes a library as our CSV: channel, wavelength_nm, fwhm_nm (when known), one column per spectrum; class rows after the header.</summary>
    public static void WriteCsv(string path, SpectralLibrary lib)
    {
        var sb = new StringBuilder();
        sb.Append("channel,wavelength_nm");
        if (lib.Fwhm is not null) sb.Append(",fwhm_nm");
        foreach (var n in lib.Names) sb.Append(',').Append(Quote(n));
        sb.Append('\n');
        foreach (var (field, values) in lib.Classes)
        {
            sb.Append(Quote(field)).Append(',');
            if (lib.Fwhm is not null) sb.Append(',');
            foreach (var v in values) sb.Append(',').Append(Quote(v));
            sb.Append('\n');
        }
        for (var b = 0; b < lib.Bands; b++)
        {
            sb.Append(b + 1).Append(',').Append(lib.Wavelengths![b].ToString("R", CultureInfo.InvariantCulture));
            if (lib.Fwhm is { } f) sb.Append(',').Append(f[b].ToString("R", CultureInfo.InvariantCulture));
            foreach (var s in lib.Spectra) sb.Append(',').Append(s[b].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        EndmemberFiles.WriteAtomically(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static double Number(string s, string path, int line) => EndmemberFiles.ParseNumber(s, path, line);
    private static string Quote(string s) => EndmemberFiles.Quote(s);
    private static string[] SplitCsv(string line) => EndmemberFiles.SplitCsv(line);
}
