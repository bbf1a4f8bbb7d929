using System.Text.Json;
using System.Text.Json.Nodes;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>The model file: writing, and reading with every field checked.</summary>
public sealed partial class MtlModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Saves the model as JSON (arrays as base64 float32, little-endian).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? provenance = null) =>
        EndmemberFiles.WriteAtomically(path, ToBytes(provenance));

    /// <summary>The model file's bytes (what <see cref="Save"/> writes).</summary>
    public byte[] ToBytes(IReadOnlyDictionary<string, string>? provenance = null)
    {
        var root = new JsonObject
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["bands"] = Bands,
            ["endmembers"] = Count,
            ["names"] = new JsonArray(Names.Select(n => (JsonNode)n).ToArray()),
            ["wavelengths"] = Wavelengths is null ? null : new JsonArray(Wavelengths.Select(w => (JsonNode)w).ToArray()),
            ["scale"] = Scale,
            ["alpha"] = Alpha,
            ["apply_iterations"] = ApplyIterations,
            ["pixel_scale"] = PixelScales.Name(PixelScale),
            ["column_layers"] = new JsonArray(ColumnLayout.Sizes.Select(s => (JsonNode)s).ToArray()),
            ["E"] = B64(ENormalised),
            ["column_linear"] = B64(Wc),
            ["column_theta"] = B64(ColumnTheta),
            ["provenance"] = provenance is null ? null : new JsonObject(provenance.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        return JsonSerializer.SerializeToUtf8Bytes(root, Indented);
    }

    /// <summary>The most projected-gradient iterations a model file may ask for per pixel (the fit uses 5).</summary>
    public const int MaxApplyIterations = 10_000;
    // Bounds on a model file's sizes, checked before anything is allocated: the per-worker workspace holds a
    // batch of 1,024 pixels for every band and hidden unit, so these keep it under a few hundred MB.
    private const int MaxBands = 16_384, MaxHiddenWidth = 4_096, MaxHiddenLayers = 16;
    // Data scale and alpha far outside these make the normalised data or the loss overflow float32.
    private const double MinScale = 1e-30, MaxScale = 1e30, MaxAlpha = 1e6;

    /// <summary>
    /// Reads a model file, checking every field against the bounds above before allocating: a file edited by hand
    /// or crafted must be refused with its name and the field, not run out of memory, overflow or run for ever.
    /// </summary>
    /// <exception cref="MtlModelException">Missing, not a model, damaged, or a field out of bounds.</exception>
    public static MtlModel Load(string path)
    {
        if (!File.Exists(path)) throw new MtlModelException(path, "model file not found");
        return FromBytes(File.ReadAllBytes(path), path);
    }

    /// <summary>A model from a model file's bytes (<paramref name="path"/> names it in errors), checked like <see cref="Load"/>.</summary>
    public static MtlModel FromBytes(byte[] json, string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new MtlModelException(path, $"not a model file (invalid JSON: {e.Message})"); }
        // Checked field by field: a root that is an array, or "format": 5, must read as not-a-model, not as an internal error.
        if (root is not JsonObject) throw new MtlModelException(path, "not a model file (its JSON root is not an object)");
        if (root["format"] is not JsonValue format || !format.TryGetValue<string>(out var name) || name != Format)
            throw new MtlModelException(path, $"not a {Format} model file (\"format\" is not \"{Format}\")");
        if (root["format_version"] is not JsonValue version || !version.TryGetValue<double>(out var v) || v != Math.Floor(v))
            throw new MtlModelException(path, "format_version is missing or not an integer");
        if (v != FormatVersion) throw new MtlModelException(path, $"model format version {v:G} is not supported (this version reads {FormatVersion})");
        try
        {
            var bands = (int)Number(root, "bands", path, 1, MaxBands, integer: true);
            var p = (int)Number(root, "endmembers", path, 1, bands, integer: true);
            var scale = Number(root, "scale", path, MinScale, MaxScale, integer: false);
            var alpha = Number(root, "alpha", path, 0, MaxAlpha, integer: false);
            var iterations = (int)Number(root, "apply_iterations", path, 0, MaxApplyIterations, integer: true);
            var sizes = root["column_layers"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray();
            if (sizes.Length < 2 || sizes.Length > MaxHiddenLayers + 2)
                throw new MtlModelException(path, $"column_layers has {sizes.Length} sizes, expected 2 to {MaxHiddenLayers + 2}");
            if (sizes[0] != p || sizes[^1] != bands)
                throw new MtlModelException(path, $"column_layers runs from {sizes[0]:G} to {sizes[^1]:G}, expected from endmembers ({p}) to bands ({bands})");
            foreach (var h in sizes[1..^1])
                if (!(h >= 1 && h <= MaxHiddenWidth && h == Math.Floor(h)))
                    throw new MtlModelException(path, $"column_layers has a hidden width of {h:G}, expected an integer from 1 to {MaxHiddenWidth}");
            var widths = sizes.Select(h => (int)h).ToArray();
            // At most 17 layers of 16,384 x 4,096 weights: the offsets fit an int by the bounds above.
            var w = new int[widths.Length - 1];
            var b = new int[widths.Length - 1];
            var offset = 0;
            for (var k = 0; k < w.Length; k++) { w[k] = offset; offset = checked(offset + widths[k] * widths[k + 1]); b[k] = offset; offset = checked(offset + widths[k + 1]); }
            var e = FromB64(root["E"]!.GetValue<string>(), bands * p, path, "E");
            var wc = FromB64(root["column_linear"]!.GetValue<string>(), bands * p, path, "column_linear", MaxWeight);
            var theta = FromB64(root["column_theta"]!.GetValue<string>(), offset, path, "column_theta", MaxWeight);
            var names = root["names"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
            var wl = root["wavelengths"]?.AsArray().Select(n => n!.GetValue<double>()).ToArray();
            // Files written before the vocabulary was unified say sum and length for scale and l2.
            var pixelScale = root["pixel_scale"]?.GetValue<string>() switch
            {
                null => PixelScale.None,
                "sum" => PixelScale.Scale,
                "length" => PixelScale.L2,
                var given => PixelScales.Parse(given) ?? throw new MtlModelException(path, $"pixel_scale is '{given}', expected one of {string.Join(", ", PixelScales.Names)}"),
            };
            var model = new MtlModel(bands, p, e, wc, new MlpLayout(widths, w, b), theta, scale, alpha, names, wl, iterations);
            return pixelScale == PixelScale.None ? model : model.WithPixelScale(pixelScale);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new MtlModelException(path, $"damaged model file ({e.Message})");
        }
    }

    /// <summary>Refuses a scene whose bands do not match the model's.</summary>
    public void CheckScene(string path, int bands, double[]? wavelengths)
    {
        if (bands != Bands) throw new MtlModelException(path, $"the model was fitted on {Bands} bands, the scene has {bands}: apply it only to scenes of the same sensor and band selection");
        if (Wavelengths is not null && wavelengths is not null)
            for (var i = 0; i < bands; i++)
                if (Math.Abs(Wavelengths[i] - wavelengths[i]) > 1e-3 * Math.Max(1, Math.Abs(wavelengths[i])))
                    throw new MtlModelException(path, $"band {i + 1} is at {wavelengths[i]:G6}, the model's at {Wavelengths[i]:G6}: not the same sensor or band selection");
    }

    private static string B64(float[] x) => Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));

    /// <summary>
    /// The largest network weight a model may hold. Fitted on scaled data, weights stay near 1 (at most 1.9 on the
    /// sample and EnMAP scenes); 1e30 is finite but overflows float32 products, and once gave every abundance 0 and
    /// an infinite residual with exit 0.
    /// </summary>
    public const float MaxWeight = 1e6f;

    private static float[] FromB64(string s, int expected, string path, string what, float limit = float.MaxValue)
    {
        var bytes = Convert.FromBase64String(s);
        if (bytes.Length != expected * 4L) throw new MtlModelException(path, $"{what} has {bytes.Length / 4} values, expected {expected}");
        var r = new float[expected];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        var bad = Array.FindIndex(r, v => !float.IsFinite(v));
        if (bad >= 0) throw new MtlModelException(path, $"{what} has a non-finite value ({r[bad]}) at index {bad}");
        var big = Array.FindIndex(r, v => Math.Abs(v) > limit);
        if (big >= 0)
            throw new MtlModelException(path, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{what} has {r[big]:G} at index {big}, beyond the ±{limit:G} a fitted model's weights stay within (damaged or not fitted by this tool)"));
        return r;
    }

    /// <summary>A numeric field within [min, max] (an integer when asked), or an error naming the field.</summary>
    private static double Number(JsonNode root, string field, string path, double min, double max, bool integer)
    {
        var node = root[field] ?? throw new MtlModelException(path, $"{field} is missing");
        var v = node.GetValue<double>();
        if (!(v >= min && v <= max) || (integer && v != Math.Floor(v)))
            throw new MtlModelException(path, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{field} is {v:G}, expected {(integer ? "an integer" : "a number")} from {min:G} to {max:G}"));
        return v;
    }
}
