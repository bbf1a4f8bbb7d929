namespace HyperUnmix.Geo.Unmixing.Solvers;

/// <summary>
/// A tile's pixels and where an unmixer writes its results: the one value that every call of the tile path takes
/// (solvers, the deep model, the pipeline's tile unmixers), so that no call there needs more than a few arguments.
/// Whether <see cref="Y"/> is band-sequential (L x N) or pixel-interleaved (N x L) is said by the method called.
/// </summary>
public readonly ref struct TileBuffers
{
    /// <summary>The pixels' samples, in the layout of the method called.</summary>
    public required ReadOnlySpan<float> Y { get; init; }
    /// <summary>N, the number of pixels.</summary>
    public required int Pixels { get; init; }
    /// <summary>Per pixel: 0 = not solved (its outputs get <see cref="NoData"/>).</summary>
    public required ReadOnlySpan<byte> Valid { get; init; }
    /// <summary>Endmember j's value of pixel k goes to [j * <see cref="AbundanceStride"/> + k].</summary>
    public required Span<float> Abundances { get; init; }
    /// <summary>Per-pixel reconstruction RMSE (data units).</summary>
    public required Span<float> Residual { get; init; }
    /// <summary>Written to every output of a pixel that is not valid.</summary>
    public float NoData { get; init; }
    /// <summary>Distance between endmembers in <see cref="Abundances"/> (0: <see cref="Pixels"/>).</summary>
    public int Stride { get; init; }
    /// <summary>Optional: receives each pixel's scale (Σb under <see cref="PixelScale.Scale"/>, ‖y‖ under <see cref="PixelScale.L2"/>, 1 otherwise).</summary>
    public Span<float> Scales { get; init; }

    /// <summary>The stride in force.</summary>
    public int AbundanceStride => Stride == 0 ? Pixels : Stride;

    /// <summary>
    /// Pixels <paramref name="start"/> .. start + <paramref name="count"/> - 1, whose samples are <paramref name="y"/>
    /// (the caller's copy or view): the same abundance stride, every per-pixel span sliced.
    /// </summary>
    public TileBuffers Part(int start, int count, ReadOnlySpan<float> y) => new()
    {
        Y = y,
        Pixels = count,
        Valid = Valid.Slice(start, count),
        Abundances = Abundances[start..],
        Residual = Residual.Slice(start, count),
        NoData = NoData,
        Stride = AbundanceStride,
        Scales = Scales.IsEmpty ? default : Scales.Slice(start, count),
    };

    /// <summary>
    /// Buffers for <paramref name="pixels"/> pixels that are all valid, with new abundance and residual arrays: the
    /// shape of the fits and tests that solve a sample rather than a tile.
    /// </summary>
    public static TileBuffers AllValid(ReadOnlySpan<float> y, int pixels, int endmembers) => new()
    {
        Y = y,
        Pixels = pixels,
        Valid = AllOnes(pixels),
        Abundances = new float[endmembers * pixels],
        Residual = new float[pixels],
    };

    private static byte[] AllOnes(int n)
    {
        var v = new byte[n];
        v.AsSpan().Fill(1);
        return v;
    }
}
