using System.Text.Json;
using System.Text.Json.Nodes;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>A model file that cannot be used (wrong format, wrong bands...). Names the file.</summary>
public sealed class MtlModelException(string path, string problem) : Exception($"{path}: {problem}");

/// <summary>
/// The shared, immutable part of a fitted deep model: endmembers E, the column branch a → W_c a + g_c(a) (a learned
/// nonlinear mixing model that does not depend on the pixel), the data scale and α. Applying it to any pixel solves
/// min over the simplex of ‖y − (W_c a + g_c(a))‖² + α‖y − E a‖² (normalised units), warm-started from FCLS.
/// A small serialisable value: fitted once, broadcast to every tile.
/// </summary>
public sealed class MtlModel
{
    public const string Format = "hyperunmix-mtl";
    private readonly AbundanceSolver _fcls;
    public const int FormatVersion = 1;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private MtlModel(int bands, int p, float[] e, float[] wc, MlpLayout column, float[] columnTheta, double scale, double alpha,
        string[] names, double[]? wavelengths, int iterations)
    {
        Bands = bands;
        Count = p;
        ENormalised = e;
        Wc = wc;
        ColumnLayout = column;
        ColumnTheta = columnTheta;
        Scale = scale;
        Alpha = alpha;
        Names = names;
        Wavelengths = wavelengths;
        ApplyIterations = iterations;
        var eData = new double[bands * p];
        for (var i = 0; i < eData.Length; i++) eData[i] = e[i] * scale;
        Endmembers = new EndmemberSet(eData, bands, p, names, wavelengths);
        _fcls = new AbundanceSolver(Endmembers, LinearMethod.Fcls);
        // A safe first step for the projected gradient: 1 / Lipschitz constant of the linear part.
        var lip = 2 * (SpectralNormSquared(wc, bands, p) + alpha * SpectralNormSquared(e, bands, p));
        InitialStep = (float)(1 / Math.Max(lip, 1e-12));
    }

    public int Bands { get; }
    public int Count { get; }
    /// <summary>Endmembers in data units.</summary>
    public EndmemberSet Endmembers { get; }
    public float[] ENormalised { get; }
    public float[] Wc { get; }
    public MlpLayout ColumnLayout { get; }
    /// <summary>The column MLP's weights and biases, laid out from offset 0.</summary>
    public float[] ColumnTheta { get; }
    public double Scale { get; }
    public double Alpha { get; }
    public string[] Names { get; }
    public double[]? Wavelengths { get; }
    public int ApplyIterations { get; }
    /// <summary>How pixels were scaled before the fit (and are scaled before applying): none, by their NNLS sum, or by their length.</summary>
    public PixelScale PixelScale { get; private init; }
    private AbundanceSolver? _scaleSolver;

    /// <summary>The same model, for pixels divided by their scale (what it was fitted on).</summary>
    public MtlModel WithPixelScale(PixelScale scale) =>
        new(Bands, Count, ENormalised, Wc, ColumnLayout, ColumnTheta, Scale, Alpha, Names, Wavelengths, ApplyIterations)
        {
            PixelScale = scale,
            _scaleSolver = scale == PixelScale.None ? null : new AbundanceSolver(Endmembers, LinearMethod.Fcls, scale: scale),
        };
    internal float InitialStep { get; }

    internal static MtlModel FromNetwork(MtlNetwork net, float[] theta, double scale, string[] names, double[]? wavelengths)
    {
        var src = net.ColumnLayout;
        var baseOffset = src.WeightOffsets[0];
        var layout = new MlpLayout(src.Sizes, src.WeightOffsets.Select(o => o - baseOffset).ToArray(), src.BiasOffsets.Select(o => o - baseOffset).ToArray());
        var colTheta = theta.AsSpan(baseOffset, net.Count - baseOffset).ToArray();
        if (!net.Options.Nonlinear || !net.Options.ColumnBranch) Array.Clear(colTheta);
        // Without the column branch, the learned mixing model is the NMF's: W_c = E.
        var wc = net.Options.ColumnBranch ? theta.AsSpan(net.WcOffset, net.L * net.P).ToArray() : theta.AsSpan(net.EOffset, net.L * net.P).ToArray();
        return new MtlModel(net.L, net.P, theta.AsSpan(net.EOffset, net.L * net.P).ToArray(), wc, layout, colTheta, scale, net.Options.Alpha,
            names, wavelengths, net.Options.ApplyIterations);
    }

    /// <summary>Per-worker buffers for <see cref="Apply"/>.</summary>
    public sealed class Workspace
    {
        internal Workspace(MtlModel m, int batch)
        {
            Batch = batch;
            Mlp = new Mlp.Workspace(m.ColumnLayout, batch);
            Yn = new float[batch * m.Bands];
            Sum1 = new double[batch];
            Sum2 = new double[batch];
            At = new float[batch * m.Count];
            Trial = new float[batch * m.Count];
            Grad = new float[batch * m.Count];
            R1 = new float[batch * m.Bands];
            R2 = new float[batch * m.Bands];
            Loss = new double[batch];
            TrialLoss = new double[batch];
            Step = new float[batch];
            Fcls = new float[m.Count * batch];
            Residual = new float[batch];
            Valid = new byte[batch];
            Solver = new TileScratch();
            Chunk = new float[m.Bands * batch];
            PixelScales = new float[batch];
        }

        internal float[] Chunk { get; }
        internal float[] PixelScales { get; }

        public int Batch { get; }
        internal Mlp.Workspace Mlp { get; }
        internal float[] Yn { get; }
        internal double[] Sum1 { get; }
        internal double[] Sum2 { get; }
        internal float[] At { get; }
        internal float[] Trial { get; }
        internal float[] Grad { get; }
        internal float[] R1 { get; }
        internal float[] R2 { get; }
        internal double[] Loss { get; }
        internal double[] TrialLoss { get; }
        internal float[] Step { get; }
        internal float[] Fcls { get; }
        internal float[] Residual { get; }
        internal byte[] Valid { get; }
        internal TileScratch Solver { get; }
    }

    /// <summary>Pixels handled per batch by <see cref="Apply"/>.</summary>
    public const int BatchPixels = 1024;

    public Workspace CreateWorkspace() => new(this, BatchPixels);

    /// <summary>
    /// Abundances (P x N, band-sequential) and the model's reconstruction RMSE (N, data units) for a band-sequential
    /// tile y (L x N, data units). Pixels with valid = 0 get <paramref name="noData"/>. Each pixel's result depends
    /// on that pixel alone, so tiles and threads do not change it.
    /// </summary>
    /// <param name="initial">Optional abundances (P x N) to start from instead of FCLS, e.g. those of the fit.</param>
    /// <param name="iterations">Projected-gradient iterations (default: the model's); 0 keeps the start.</param>
    /// <param name="cancel">Checked at every iteration of every batch.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled.</exception>
    public void Apply(ReadOnlySpan<float> y, int n, ReadOnlySpan<byte> valid, Span<float> abundances, Span<float> residual, float noData,
        Workspace ws, ReadOnlySpan<float> initial = default, int? iterations = null, CancellationToken cancel = default)
    {
        // Every product a pixel's result depends on runs in a fixed order: not OpenBLAS, whose kernels (and so the
        // last bits) change with the CPU, the thread count and the size of the call.
        var blas = ReproducibleBlas.Instance;
        if (y.Length < Bands * n) throw new ArgumentException($"tile has {y.Length} samples, expected {Bands} x {n}");
        // A batch of m pixels is stored with stride m (features x pixels). The products run in a fixed order per
        // pixel, so a partial last batch gives each pixel the same result as a full one: no padding needed.
        var chunk = ws.Chunk;
        for (var start = 0; start < n; start += ws.Batch)
        {
            var m = Math.Min(ws.Batch, n - start);
            for (var l = 0; l < Bands; l++) y.Slice(l * n + start, m).CopyTo(chunk.AsSpan(l * m, m));
            valid.Slice(start, m).CopyTo(ws.Valid);
            if (!initial.IsEmpty)
                for (var j = 0; j < Count; j++) initial.Slice(j * n + start, m).CopyTo(ws.At.AsSpan(j * m, m));
            var scales = ws.PixelScales;
            if (PixelScale != PixelScale.None)
            {
                // The model was fitted on pixels divided by their scale (their NNLS sum or length): do the same here.
                _scaleSolver!.SolveTile(chunk, m, ws.Valid.AsSpan(0, m), ws.Fcls, ws.Residual, 0f, ws.Solver, scales);
                for (var l = 0; l < Bands; l++)
                {
                    var row = chunk.AsSpan(l * m, m);
                    for (var px = 0; px < m; px++) row[px] = scales[px] > 0 ? row[px] / scales[px] : 0;
                }
                // The scaled solution (a = b / Σb, or FCLS of the unit-length pixel) is the linear start: no second solve.
                if (initial.IsEmpty)
                    for (var j = 0; j < Count; j++)
                        for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / Count;
            }
            var started = !initial.IsEmpty || PixelScale != PixelScale.None;
            ApplyBatch(chunk, m, ws, blas, started, iterations ?? ApplyIterations, cancel);
            for (var px = 0; px < m; px++)
            {
                var ok = valid[start + px] != 0;
                var dark = PixelScale != PixelScale.None && !(scales[px] > 0);
                for (var j = 0; j < Count; j++) abundances[j * n + start + px] = !ok ? noData : dark ? 1f / Count : ws.At[j * m + px];
                residual[start + px] = !ok ? noData : PixelScale != PixelScale.None ? ws.Residual[px] * scales[px] : ws.Residual[px];
            }
        }
    }

    private void ApplyBatch(float[] y, int m, Workspace ws, IBlas blas, bool started, int iterations, CancellationToken cancel)
    {
        int l = Bands, p = Count;
        if (!started)
        {
            // Warm start: FCLS with the model's endmembers, in data units.
            _fcls.SolveTile(y, m, ws.Valid.AsSpan(0, m), ws.Fcls, ws.Residual, 0f, ws.Solver);
            for (var j = 0; j < p; j++)
                for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / p;
        }
        // Everything below is feature-major (features x pixels): every product runs across the pixels, so a pixel's
        // value depends on its own column alone.
        var inv = (float)(1 / Scale);
        for (var i = 0; i < l * m; i++) ws.Yn[i] = y[i] * inv;

        Objective(ws.At, m, ws, ws.Loss, blas);
        Array.Fill(ws.Step, InitialStep, 0, m);
        Span<float> column = stackalloc float[p];
        Span<float> scratch = stackalloc float[p];
        var stale = false;
        for (var it = 0; it < iterations; it++)
        {
            // Up to MaxApplyIterations per batch: a stop request must not wait for them all.
            cancel.ThrowIfCancellationRequested();
            // The gradient needs the network's activations and residuals at the accepted point; after a rejected
            // trial they belong to the trial, so evaluate again.
            if (stale) Objective(ws.At, m, ws, ws.Loss, blas);
            Gradient(m, ws, blas);
            for (var px = 0; px < m; px++)
            {
                for (var j = 0; j < p; j++) column[j] = ws.At[j * m + px] - ws.Step[px] * ws.Grad[j * m + px];
                Simplex.Project(column, scratch);
                for (var j = 0; j < p; j++) ws.Trial[j * m + px] = column[j];
            }
            Objective(ws.Trial, m, ws, ws.TrialLoss, blas);
            stale = false;
            for (var px = 0; px < m; px++)
            {
                if (ws.TrialLoss[px] <= ws.Loss[px])
                {
                    for (var j = 0; j < p; j++) ws.At[j * m + px] = ws.Trial[j * m + px];
                    ws.Loss[px] = ws.TrialLoss[px];
                    ws.Step[px] = Math.Min(ws.Step[px] * 1.5f, InitialStep * 64);
                }
                else
                {
                    ws.Step[px] *= 0.5f;
                    stale = true;
                }
            }
        }
        // Residuals R1 at the accepted abundances for the reconstruction RMSE.
        Objective(ws.At, m, ws, ws.Loss, blas);
        var acc = ws.Sum1;
        Array.Clear(acc, 0, m);
        for (var b = 0; b < l; b++)
            for (var px = 0; px < m; px++) { double d = ws.R1[b * m + px]; acc[px] += d * d; }
        for (var px = 0; px < m; px++) ws.Residual[px] = (float)(Scale * Math.Sqrt(acc[px] / l));
    }

    /// <summary>Per-pixel f(a) = ‖W_c a + g(a) − y‖² + α‖E a − y‖², leaving the residuals in R1 and R2 (bands x pixels).</summary>
    private void Objective(float[] at, int m, Workspace ws, double[] loss, IBlas blas)
    {
        int l = Bands, p = Count;
        new Mlp(ColumnLayout, blas).ForwardColumns(ColumnTheta, at, m, ws.Mlp);
        var r1 = ws.R1.AsSpan(0, l * m);
        ws.Mlp.Output.AsSpan(0, l * m).CopyTo(r1);
        blas.Gemm(false, false, l, m, p, 1f, Wc, p, at, m, 1f, r1, m);
        var r2 = ws.R2.AsSpan(0, l * m);
        blas.Gemm(false, false, l, m, p, 1f, ENormalised, p, at, m, 0f, r2, m);
        double[] s1 = ws.Sum1, s2 = ws.Sum2;
        Array.Clear(s1, 0, m);
        Array.Clear(s2, 0, m);
        for (var b = 0; b < l; b++)
        {
            var yr = ws.Yn.AsSpan(b * m, m);
            var d1r = r1.Slice(b * m, m);
            var d2r = r2.Slice(b * m, m);
            for (var px = 0; px < m; px++)
            {
                var d1 = d1r[px] -= yr[px];
                var d2 = d2r[px] -= yr[px];
                s1[px] += (double)d1 * d1;
                s2[px] += (double)d2 * d2;
            }
        }
        for (var px = 0; px < m; px++) loss[px] = s1[px] + Alpha * s2[px];
    }

    /// <summary>dF/dA (P x pixels) for the residuals left by the last <see cref="Objective"/> at ws.At.</summary>
    private void Gradient(int m, Workspace ws, IBlas blas)
    {
        int l = Bands, p = Count;
        var g = ws.Grad.AsSpan(0, p * m);
        blas.Gemm(true, false, p, m, l, 2f, Wc, p, ws.R1, m, 0f, g, m);
        blas.Gemm(true, false, p, m, l, (float)(2 * Alpha), ENormalised, p, ws.R2, m, 1f, g, m);
        // Through the network: the forward pass in ws.Mlp is at ws.At (Objective was last called on it).
        new Mlp(ColumnLayout, blas).BackwardInputColumns(ColumnTheta, m, ws.Mlp, ws.R1, 2f, g);
    }

    private static double SpectralNormSquared(float[] m, int rows, int cols)
    {
        var mat = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rows, cols, (i, j) => m[i * cols + j]);
        return Math.Pow(mat.L2Norm(), 2);
    }

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
            ["pixel_scale"] = PixelScale.ToString().ToLowerInvariant(),
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
            var pixelScale = root["pixel_scale"]?.GetValue<string>() switch
            {
                null or "none" => PixelScale.None,
                "sum" => PixelScale.Sum,
                "length" => PixelScale.Length,
                var other => throw new MtlModelException(path, $"pixel_scale is '{other}', expected none, sum or length"),
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
