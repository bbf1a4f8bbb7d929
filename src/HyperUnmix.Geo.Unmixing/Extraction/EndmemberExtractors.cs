using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>Endmembers extracted from pixels: spectra (L x P, column j the j-th), the pixels they came from, and a summary.</summary>
/// <param name="Source">What was done, for run summaries and reports ("VCA (seed 42)").</param>
/// <param name="SnrDb">The signal-to-noise ratio the extractor estimated, or NaN.</param>
internal sealed record ExtractedEndmembers(double[] E, int[] PixelIndices, string Source, double SnrDb);

/// <summary>
/// An endmember extraction algorithm: P spectra from a matrix of pixels (L x N, band-major, scaled values).
/// A new extractor is one class implementing this and one line in <see cref="EndmemberExtractors"/>; its name then
/// appears in the command's <c>--extractor</c> choices.
/// </summary>
internal interface IEndmemberExtractor
{
    /// <summary>The name users give (<c>--extractor NAME</c>), lower case.</summary>
    string Name { get; }
    /// <summary>One line for the command's help.</summary>
    string Description { get; }
    /// <summary>Extracts <paramref name="p"/> endmembers from the <paramref name="n"/> pixels of <paramref name="y"/>; deterministic for a seed.</summary>
    /// <param name="axes">The pixels' eigen-decompositions when the caller has them already (<see cref="PrincipalAxes"/>); an extractor may ignore them.</param>
    ExtractedEndmembers Extract(double[] y, int l, int n, int p, long seed, PrincipalAxes? axes, CancellationToken cancel);
}

/// <summary>
/// An extractor's result that is no set of spectra, for a reason the extractor can name: a property of the data
/// (BadInput, exit 3); the endmember stage says it with the scene's name.
/// </summary>
internal sealed class ExtractionException(string message) : HyperUnmixException(message)
{
    /// <summary>BadInput (exit code 3).</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
}

/// <summary>The extractors a run can name.</summary>
internal static class EndmemberExtractors
{
    /// <summary>The default: N-FINDR started from VCA's pixels (docs/endmembers.md).</summary>
    public const string Default = "nfindr";

    public static IReadOnlyList<IEndmemberExtractor> All { get; } = [new NFindrExtractor(), new VcaExtractor(), new SisalExtractor()];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>The extractor named <paramref name="name"/>; ArgumentException naming the choices otherwise.</summary>
    public static IEndmemberExtractor Get(string name) =>
        All.FirstOrDefault(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown endmember extractor '{name}': one of {string.Join(", ", Names)}");
}

/// <summary>Vertex Component Analysis (Nascimento &amp; Bioucas-Dias 2005), seeded.</summary>
internal sealed class VcaExtractor : IEndmemberExtractor
{
    public string Name => "vca";
    public string Description => "VCA (vertex component analysis)";

    public ExtractedEndmembers Extract(double[] y, int l, int n, int p, long seed, PrincipalAxes? axes, CancellationToken cancel)
    {
        var vca = Vca.Extract(y, l, n, p, seed, axes: axes);
        return new(vca.Endmembers, vca.PixelIndices, $"VCA (seed {seed})", vca.SnrDb);
    }
}

/// <summary>N-FINDR's volume-maximising swaps, started from VCA's pixels.</summary>
internal sealed class NFindrExtractor : IEndmemberExtractor
{
    public string Name => "nfindr";
    public string Description => "N-FINDR from VCA's pixels";

    public ExtractedEndmembers Extract(double[] y, int l, int n, int p, long seed, PrincipalAxes? axes, CancellationToken cancel)
    {
        // VCA and N-FINDR decompose the same pixels: once.
        axes = PrincipalAxes.For(axes, y, l, n, Blas.Default);
        var vca = Vca.Extract(y, l, n, p, seed, axes: axes);
        cancel.ThrowIfCancellationRequested();
        var nf = NFindr.Refine(y, l, n, vca.PixelIndices, axes: axes);
        return new(nf.Endmembers, nf.PixelIndices, $"N-FINDR from the pixels of VCA (seed {seed}), {nf.Swaps} swaps", vca.SnrDb);
    }
}

/// <summary>
/// SISAL's minimum-volume simplex (Bioucas-Dias 2009), started from VCA: its endmembers need not be pixels, so it
/// reaches the vertices of scenes without pure pixels. The pixels reported are the nearest by spectral angle.
/// </summary>
internal sealed class SisalExtractor : IEndmemberExtractor
{
    /// <inheritdoc/>
    public string Name => "sisal";
    /// <inheritdoc/>
    public string Description => "SISAL (minimum-volume simplex, Bioucas-Dias 2009), from VCA";

    /// <inheritdoc/>
    public ExtractedEndmembers Extract(double[] y, int l, int n, int p, long seed, PrincipalAxes? axes, CancellationToken cancel)
    {
        var options = new SisalOptions();
        var r = Sisal.Extract(y, l, n, p, seed, options, axes: axes, cancel: cancel);
        // A vertex whose mean is not above zero is no spectrum: the hinge pushes the simplex out past noisy pixels, and
        // a dark material's vertex, near the origin, goes through it (Samson's and Jasper Ridge's water, Magnetite at
        // 30 and 40 dB: docs/endmembers.md).
        for (var j = 0; j < p; j++)
        {
            double sum = 0;
            for (var b = 0; b < l; b++) sum += r.Endmembers[b * p + j];
            if (!double.IsFinite(sum))
                throw new ExtractionException($"SISAL's endmember {j + 1} is not finite: its iterations diverged on these pixels; use the default extractor (nfindr) or vca");
            if (sum <= 0)
                throw new ExtractionException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"SISAL's endmember {j + 1} is not a spectrum (mean value {sum / l:G3}, at or below zero): the minimum-volume simplex was pushed past the origin, as happens around a dark material (water, shade) under noise; use the default extractor (nfindr) or vca"));
        }
        return new(r.Endmembers, r.NearestPixels, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"SISAL from VCA (seed {seed}), {r.Iterations} iterations, tau {options.Tau:G4}"), r.VcaSnrDb);
    }
}
