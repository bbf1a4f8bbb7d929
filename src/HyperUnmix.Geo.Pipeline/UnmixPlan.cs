using System.Security.Cryptography;
using System.Text.Json;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>A plan's endmembers, exactly (doubles round-trip through JSON).</summary>
public sealed record PlanEndmembers(double[] E, int Bands, int Count, string[] Names, double[]? Wavelengths)
{
    public static PlanEndmembers From(EndmemberSet e) => new(e.E, e.Bands, e.Count, e.Names, e.Wavelengths);
    public EndmemberSet ToSet() => new(E, Bands, Count, Names, Wavelengths);
}

/// <summary>What the report says about a deep fit made while planning (the model itself is in the plan's model file).</summary>
public sealed record FitSummary(int Pixels, double[] LossHistory, int Epochs, double Seconds, double Gflops, double[] ValidationHistory);

/// <summary>
/// One scene's plan: everything a tile needs, small and serialisable. It is made once per scene (endmembers extracted
/// or read, the deep model fitted or read) and then every tile of <see cref="Grid"/> is a pure function of the plan
/// and the tile's window, wherever and however often it runs (<see cref="TileProcessor"/>). The local runner and
/// the cluster runner both work from it; pixels never travel in it.
/// </summary>
public sealed record UnmixPlan
{
    public const int CurrentVersion = 1;
    public int Version { get; init; } = CurrentVersion;
    /// <summary>The run's options (input, bands, scale, nodata, ROI, method, output, ...).</summary>
    public required UnmixOptions Options { get; init; }
    /// <summary>0-based bands read from the input.</summary>
    public required int[] Bands { get; init; }
    /// <summary>The part of the scene unmixed (the ROI's bounding window, or the whole scene).</summary>
    public required Window Area { get; init; }
    public required int TileSize { get; init; }
    /// <summary>The endmembers every tile shares (for the deep method, the model's).</summary>
    public required PlanEndmembers Endmembers { get; init; }
    public required string EndmemberSource { get; init; }
    /// <summary>The deep model applied to every tile, and its SHA-256 (checked before use).</summary>
    public string? ModelFile { get; init; }
    public string? ModelSha256 { get; init; }
    /// <summary>Abundances of a fit that covered every valid pixel of the area (those pixels keep them), and its SHA-256.</summary>
    public string? FittedFile { get; init; }
    public string? FittedSha256 { get; init; }
    public int? EstimatedCount { get; init; }
    public double? VcaSnrDb { get; init; }
    public FitSummary? Fit { get; init; }
    /// <summary>Seconds spent planning, by stage.</summary>
    public Dictionary<string, double> StageSeconds { get; init; } = [];
    public required string[] OutputBands { get; init; }
    public required Dictionary<string, string> Metadata { get; init; }

    /// <summary>The tiles, in the order their outputs are assembled.</summary>
    public TilePlan Grid => new(Area, TileSize, TileSize);

    /// <summary>How plans and a job's scene options are written (enums by name, NaN allowed).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        // NaN output nodata and the like.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    /// <summary>Reads a plan file, or says which file is not one.</summary>
    public static UnmixPlan Load(string path)
    {
        try
        {
            var plan = JsonSerializer.Deserialize<UnmixPlan>(File.ReadAllBytes(path), JsonOptions) ?? throw new JsonException("empty");
            if (plan.Version != CurrentVersion) throw new RasterDataException(path, $"plan version {plan.Version} is not supported (this version reads {CurrentVersion})");
            return plan;
        }
        catch (JsonException e)
        {
            throw new RasterDataException(path, $"is not a plan file ({e.Message})");
        }
    }

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}

/// <summary>The abundances of an exhaustive deep fit, by scene position: a small binary file next to the plan.</summary>
public static class FittedAbundances
{
    private static ReadOnlySpan<byte> Magic => "HUFIT1\n\0"u8;

    public static void Write(string path, int p, long[] positions, float[] abundances)
    {
        var n = positions.Length;
        if (abundances.Length != (long)p * n) throw new ArgumentException("abundances must be P x positions");
        var bytes = new byte[8 + 8 + 8L * n + 4L * p * n];
        Magic.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), p);
        BitConverter.TryWriteBytes(bytes.AsSpan(12), n);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(positions.AsSpan()).CopyTo(bytes.AsSpan(16));
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(abundances.AsSpan()).CopyTo(bytes.AsSpan(16 + 8 * n));
        EndmemberFiles.WriteAtomically(path, bytes);
    }

    /// <summary>A fitted-abundance file's contents (<paramref name="path"/> names it in errors).</summary>
    public static (int P, long[] Positions, float[] Abundances) Parse(byte[] bytes, string path)
    {
        if (bytes.Length < 16 || !bytes.AsSpan(0, 8).SequenceEqual(Magic)) throw new RasterDataException(path, "is not a fitted-abundance file");
        int p = BitConverter.ToInt32(bytes, 8), n = BitConverter.ToInt32(bytes, 12);
        if (p < 1 || n < 0 || bytes.Length != 16 + 8L * n + 4L * p * n) throw new RasterDataException(path, "is truncated or damaged");
        var positions = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes.AsSpan(16, 8 * n)).ToArray();
        var a = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(16 + 8 * n)).ToArray();
        return (p, positions, a);
    }
}

/// <summary>
/// Unmixes tiles of a plan: (plan, window) -> abundance and residual bands. Every runner uses it: the local runner
/// in parallel over one scene, cluster workers one leased tile at a time. Thread-safe; each thread takes its own
/// <see cref="Workspace"/>.
/// </summary>
public sealed class TileProcessor : IDisposable
{
    private readonly RasterSource _source;
    private readonly bool _ownsSource;
    private readonly RegionOfInterest? _roi;
    private readonly ITileUnmixer? _unmixer;

    internal TileProcessor(UnmixPlan plan, RasterSource source, RegionOfInterest? roi, ITileUnmixer? unmixer, bool ownsSource)
    {
        Plan = plan;
        Grid = plan.Grid;
        _source = source;
        _roi = roi;
        _unmixer = unmixer;
        _ownsSource = ownsSource;
    }

    public UnmixPlan Plan { get; }
    public TilePlan Grid { get; }
    /// <summary>Abundance bands and the residual.</summary>
    public int OutputBands => Plan.Endmembers.Count + 1;
    public RasterInfo SceneInfo => _source.Info;

    /// <summary>
    /// Opens what the plan's tiles need: the scene, the ROI, and the endmembers or the model (refused unless its
    /// SHA-256 is the plan's: a tile must never be computed with other parameters than its neighbours).
    /// </summary>
    public static TileProcessor Open(UnmixPlan plan, CancellationToken cancel = default)
    {
        var o = plan.Options;
        var source = UnmixJob.OpenInput(o);
        try
        {
            var info = source.Info;
            if (!new Window(0, 0, info.Width, info.Height).Contains(plan.Area) || plan.Bands.Any(b => b < 0 || b >= info.BandCount))
                throw new RasterDataException(o.Input, $"does not match its plan ({info.Width}x{info.Height}, {info.BandCount} bands): the file changed after planning");
            var roi = o.Roi is null ? null : RegionOfInterest.Load(o.Roi, info, o.RoiSelection, cancel);
            ITileUnmixer? unmixer;
            if (o.IoOnly) unmixer = null;
            else if (o.Method != UnmixMethod.Mtl) unmixer = UnmixJob.LinearUnmixer(plan.Endmembers.ToSet(), o);
            else
            {
                var model = MtlModel.FromBytes(Checked(plan.ModelFile, plan.ModelSha256, "model"), plan.ModelFile!);
                (long[], float[])? fitted = null;
                if (plan.FittedFile is not null)
                {
                    var (_, positions, a) = FittedAbundances.Parse(Checked(plan.FittedFile, plan.FittedSha256, "fitted abundances"), plan.FittedFile);
                    fitted = (positions, a);
                }
                unmixer = new MtlTileUnmixer(model, fitted, info.Width, cancel);
            }
            return new TileProcessor(plan, source, roi, unmixer, ownsSource: true);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    private static byte[] Checked(string? path, string? sha, string what)
    {
        if (path is null || sha is null) throw new InvalidOperationException($"the plan names no {what} file");
        if (!File.Exists(path)) throw new RasterDataException(path, $"{what} file of the plan not found");
        var bytes = File.ReadAllBytes(path);
        if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(sha, StringComparison.Ordinal))
            throw new RasterDataException(path, $"{what} file changed since planning (SHA-256 differs)");
        return bytes;
    }

    /// <summary>
    /// Pixels per strip when tiles are read a few rows at a time. Pixel-interleaved: 256 spectra of 224 bands are
    /// 229 KB, cache-sized. Band-sequential: 4096 pixels, so that a band's run in a tiled file (the strip's rows of a
    /// block) is 16 KB or more per read.
    /// </summary>
    public static int StripPixels(BufferLayout layout) => layout == BufferLayout.PixelInterleaved ? 256 : 4096;

    /// <summary>Rows per strip of a tile <paramref name="width"/> pixels wide (at least one).</summary>
    public static int StripRows(BufferLayout layout, int width) => Math.Max(1, StripPixels(layout) / width);

    /// <summary>
    /// Tiles are read in the file's own layout when the unmixer takes it (no transposition), otherwise band-sequential.
    /// </summary>
    private BufferLayout Layout =>
        _source.NativeLayout == BufferLayout.PixelInterleaved && (_unmixer?.TakesPixelInterleaved ?? true) ? BufferLayout.PixelInterleaved : BufferLayout.BandSequential;

    /// <summary>
    /// Tiles read from the file itself go a few rows at a time into a small buffer, and are solved while it is in
    /// cache: each pixel's result depends on the pixel alone, and a tile-sized buffer costs a page fault per 4 KB to
    /// fill (measured: ENVI BSQ 1000 x 1000 x 224, fcls, whole tiles 2.3-2.4 s). Tiles read through GDAL, and
    /// tiles for the deep model, are read whole (GDAL's block cache serves whole blocks best).
    /// </summary>
    private bool Strips => _source.ReadsFileDirectly && (_unmixer?.TakesPixelInterleaved ?? true);

    public Workspace CreateWorkspace()
    {
        var tilePixels = Grid.TileWidth * Grid.TileHeight;
        // Strips hold whole rows: at least one row of the widest tile.
        var input = Strips ? Math.Max(StripPixels(Layout), Grid.TileWidth) : tilePixels;
        return new(Plan.Bands.Length * input, Plan.Endmembers.Count, tilePixels, _unmixer?.CreateState());
    }

    /// <summary>
    /// Unmixes tile <paramref name="index"/> of <see cref="Grid"/> into <see cref="Workspace.Output"/> (band-sequential,
    /// abundances then residual, nodata outside the valid pixels). Returns the number of valid pixels.
    /// The tile is read in <see cref="Layout"/>, in strips of whole rows where <see cref="Strips"/> says so.
    /// </summary>
    public int Process(int index, Workspace ws)
    {
        var w = Grid[index].Window;
        var n = (int)w.Area;
        ws.Window = w;
        var inside = ws.Inside.AsSpan(0, n);
        var any = true;
        if (_roi is not null)
        {
            // The polygon mask is rasterised once; tiles it does not reach are never read.
            inside.Fill(1);
            any = _roi.Mask(w, inside) > 0;
        }
        var count = 0;
        if (any && Strips)
        {
            var rows = StripRows(Layout, w.Width);
            for (var r = 0; r < w.Height; r += rows)
            {
                var strip = new Window(w.ColOff, w.RowOff + r, w.Width, Math.Min(rows, w.Height - r));
                count += ProcessPixels(strip, r * w.Width, n, ws);
            }
        }
        else if (any) count = ProcessPixels(w, 0, n, ws);
        if (count == 0) ws.Buffer.AsSpan(0, OutputBands * n).Fill(Plan.Options.OutputNoData);
        return count;
    }

    /// <summary>Reads and unmixes <paramref name="part"/> of the tile, whose pixels start at <paramref name="offset"/> of its <paramref name="n"/>.</summary>
    private int ProcessPixels(Window part, int offset, int n, Workspace ws)
    {
        var o = Plan.Options;
        int bands = Plan.Bands.Length, p = Plan.Endmembers.Count, m = (int)part.Area;
        var layout = Layout;
        var valid = ws.Valid.AsSpan(offset, m);
        var y = ws.Y.AsSpan(0, bands * m);
        var count = _source.Read(part, Plan.Bands, y, valid, layout);
        if (_roi is not null)
        {
            var inside = ws.Inside.AsSpan(offset, m);
            count = 0;
            for (var k = 0; k < m; k++) count += valid[k] &= inside[k];
        }
        if (o.InputScale != 1)
            foreach (ref var v in y) v = (float)(v * o.InputScale);
        var output = ws.Buffer.AsSpan(0, (p + 1) * n);
        if (count == 0)
        {
            // Nothing valid here (nodata, outside the polygon): no solve.
            for (var b = 0; b <= p; b++) output.Slice(b * n + offset, m).Fill(o.OutputNoData);
            return 0;
        }
        if (_unmixer is not null)
            _unmixer.Solve(y, layout, m, valid, output[offset..], n, output.Slice(p * n + offset, m), o.OutputNoData, part, ws.State!);
        else
            // The I/O floor: the input's first bands stand in for the abundances.
            for (var b = 0; b <= p; b++)
            {
                var band = Math.Min(b, bands - 1);
                for (var k = 0; k < m; k++)
                    output[b * n + offset + k] = valid[k] == 0 ? o.OutputNoData
                        : layout == BufferLayout.PixelInterleaved ? y[k * bands + band] : y[band * m + k];
            }
        return count;
    }

    public void Dispose()
    {
        if (_ownsSource) _source.Dispose();
    }

    /// <summary>One thread's buffers, reused from tile to tile.</summary>
    public sealed class Workspace
    {
        internal Workspace(int inputSamples, int p, int maxPixels, object? state)
        {
            Y = new float[inputSamples];
            Valid = new byte[maxPixels];
            Inside = new byte[maxPixels];
            Buffer = new float[(p + 1) * maxPixels];
            State = state;
            Bands = p + 1;
        }

        internal float[] Y { get; }
        internal byte[] Valid { get; }
        internal byte[] Inside { get; }
        internal float[] Buffer { get; }
        internal object? State { get; }
        private int Bands { get; }
        /// <summary>The last processed tile's window (scene coordinates).</summary>
        public Window Window { get; internal set; }
        /// <summary>The last processed tile's output: bands x pixels, band-sequential.</summary>
        public ReadOnlySpan<float> Output => Buffer.AsSpan(0, (int)(Bands * Window.Area));
    }
}
