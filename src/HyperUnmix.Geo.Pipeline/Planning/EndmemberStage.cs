using System.Globalization;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>What the endmember stage is asked for.</summary>
/// <param name="Input">The scene, named in errors.</param>
/// <param name="Count">P, or null for the estimate (<see cref="ResidualElbow"/>).</param>
/// <param name="Extractor">A name from <see cref="EndmemberExtractors"/>.</param>
/// <param name="Refine">Archetypal refinement after extraction (kept only when it lowers the scaled residual), then the projection onto HySime's signal subspace.</param>
/// <param name="RefinePixels">Pixels the refinement runs on (a spread subset of the sample).</param>
/// <param name="Wavelengths">The used bands' wavelengths, or null.</param>
public sealed record EndmemberRequest(string Input, int? Count, string Extractor, bool Refine, int RefinePixels, long Seed, double[]? Wavelengths)
{
    /// <summary>The request an unmixing run makes.</summary>
    public static EndmemberRequest From(UnmixOptions o, double[]? wavelengths) =>
        new(o.Scene.Input, o.Endmembers.EndmemberCount, o.Endmembers.Extractor, o.Endmembers.RefineEndmembers, o.Endmembers.RefinePixels, o.Seed, wavelengths);
}

/// <summary>The stage's endmembers, how they were found, HySime's estimate when P was not given, and the extractor's SNR.</summary>
internal sealed record EndmemberStageResult(EndmemberSet Endmembers, string Source, HySimeResult? Estimate, double SnrDb)
{
    /// <summary>
    /// The refined endmembers at the brightness of the pixels they were extracted from (null when the refinement was
    /// not kept): what the plain model (no shading) uses. The refinement sets each endmember's brightness to the
    /// mean length of the pixels it combines; where brightness is composition that mean includes mixed pixels, and
    /// a dark material's endmember comes out brighter than the material (Magnetite twice: 0.096 against 0.047),
    /// which the plain model's physical fractions pay for. Without shading the extracted pure pixel's brightness is
    /// the material's. Under shading it is not (the pixel may be shaded), and the refined brightness is kept.
    /// </summary>
    public EndmemberSet? AtPixelBrightness { get; init; }

    /// <summary>The residual's elbow that chose P, when P was not given.</summary>
    public ElbowResult? Elbow { get; init; }
}

/// <summary>
/// The endmember stage, the same for <c>unmix</c> and <c>endmembers</c>: P (given, or the residual's elbow), the named
/// extractor on the sample, then, by default, the archetypal refinement (each endmember a convex combination of
/// unit-length pixels; docs/accuracy-linear.md) and the projection onto HySime's signal subspace.
/// </summary>
internal static class EndmemberStage
{
    /// <summary>Largest P whose extracted endmembers are refined.</summary>
    public const int MaxRefinedEndmembers = 10;

    private static bool SampleHasNoSignal(PixelSample sample)
    {
        foreach (var v in sample.Y) if (v > 0) return false;
        return true;
    }

    public static EndmemberStageResult Run(PixelSample sample, EndmemberRequest request, CancellationToken cancel = default)
    {
        var extractor = EndmemberExtractors.Get(request.Extractor);
        ElbowResult? elbow = null;
        var p = request.Count;
        // The elbow's extractions for each P and the final one decompose the same pixels: once. The centred and the
        // raw pixels' decompositions (VCA's projective projection needs the second) are computed side by side.
        var axes = new PrincipalAxes(sample.Y, sample.Bands, sample.Count, Unmixing.LinearAlgebra.Blas.Default);
        // HySime (the estimate's second opinion, the projection's subspace) depends on the pixels alone: it runs beside
        // the extraction and the refinement, which leave a core idle much of the time (0.11 s on 20,736 x 224).
        var hysime = sample.Count > sample.Bands && (p is null || request.Refine)
            ? Task.Run(() => HySime.Estimate(sample.Y, sample.Bands, sample.Count), cancel)
            : null;
        axes.ComputeBoth();
        if (p is null)
        {
            if (hysime is null)
                throw new RasterDataException(request.Input, $"only {sample.Count} valid pixels for {sample.Bands} bands: too few to estimate the number of endmembers; give -p");
            // P is the residual's elbow; HySime, which counts far more on real scenes (44 on Samson), is a second opinion
            // (reported by Extract).
            elbow = ResidualElbow.Estimate(sample.Y, sample.Bands, sample.Count, MaxEstimatedEndmembers, request.Seed, axes: axes, cancel: cancel);
            p = elbow.Count;
        }
        if (p > sample.Bands) throw new UsageException($"P = {p} is larger than the number of bands used ({sample.Bands})");
        if (p > sample.Count) throw new RasterDataException(request.Input, $"only {sample.Count} valid pixels, fewer than P = {p}");
        try
        {
            return Extract(sample, request, extractor, p.Value, hysime, elbow, axes, cancel);
        }
        catch (ExtractionException error)
        {
            throw new RasterDataException(request.Input, error.Message);
        }
        catch (ArgumentException error)
        {
            // The spectra came from the scene, not from the user: a degenerate set (every pixel alike, or no positive
            // value anywhere) is a property of the data, said in the data's terms (exit 3, not a usage error).
            var reason = SampleHasNoSignal(sample)
                ? "has no positive value in any valid pixel of the sample: the values cannot be reflectance or radiance (check the file's scale, offset and byte order)"
                : $"its valid pixels do not hold {p} distinct spectra (the extracted endmembers are degenerate: {error.Message}); lower -p or check the scene";
            throw new RasterDataException(request.Input, reason);
        }
    }

    private static EndmemberStageResult Extract(PixelSample sample, EndmemberRequest request, IEndmemberExtractor extractor, int p,
        Task<HySimeResult>? hysime, ElbowResult? elbow, PrincipalAxes axes, CancellationToken cancel)
    {
        // HySime's count, reported when it was the estimate's second opinion.
        var estimate = elbow is null ? null : hysime!.GetAwaiter().GetResult();
        var x = extractor.Extract(sample.Y, sample.Bands, sample.Count, p, request.Seed, axes, cancel);
        cancel.ThrowIfCancellationRequested();
        var e = x.E;
        var source = x.Source;
        double[]? atPixels = null;
        // Refinement's cost grows with P (its checks solve FCLS for every pixel); beyond a few tens of materials it is
        // skipped: it is measured on 3-5 (docs/accuracy-linear.md), and large P is rarely a set of pure materials.
        if (request.Refine && p > 1 && p <= MaxRefinedEndmembers)
            (e, source, atPixels) = Refined(sample, request.RefinePixels, x, p, cancel);
        // The signal subspace needs more pixels than bands (HySime's regressions); a smaller sample keeps its pixels.
        var projected = "";
        if (request.Refine && sample.Count > sample.Bands)
        {
            cancel.ThrowIfCancellationRequested();
            var subspace = hysime!.GetAwaiter().GetResult();
            var k = HySime.SubspaceDimension(subspace, p);
            if (k < sample.Bands)
            {
                e = HySime.OntoSignalSubspace(e, sample.Bands, p, subspace, k);
                if (atPixels is not null) atPixels = HySime.OntoSignalSubspace(atPixels, sample.Bands, p, subspace, k);
                projected = string.Create(CultureInfo.InvariantCulture, $", projected onto HySime's {k}-dimensional signal subspace");
            }
        }
        source += $" on {(sample.Exhaustive ? "all" : "a stratified sample of")} {sample.Count} valid pixels" + projected +
                  (elbow is null ? "" : "; " + DescribeEstimate(elbow, estimate!));
        var names = Enumerable.Range(1, p).Select(i => $"EM{i}").ToArray();
        var set = new EndmemberSet(e, sample.Bands, p, names, request.Wavelengths);
        return new(set, source, estimate, x.SnrDb)
        {
            Elbow = elbow,
            AtPixelBrightness = atPixels is null ? null : new EndmemberSet(atPixels, sample.Bands, p, names, request.Wavelengths),
        };
    }

    /// <summary>Each refined endmember's direction at the brightness of its extracted pixel: the pixel's component along it.</summary>
    private static double[] AtPixelBrightness(double[] refined, double[] pixels, int l, int p)
    {
        var e = (double[])refined.Clone();
        for (var j = 0; j < p; j++)
        {
            double dd = 0, dx = 0;
            for (var b = 0; b < l; b++) { dd += e[b * p + j] * e[b * p + j]; dx += e[b * p + j] * pixels[b * p + j]; }
            // A pixel at right angles to the refined direction (it does not happen with refinement's start there) keeps the refined brightness.
            if (dd > 0 && dx > 0)
                for (var b = 0; b < l; b++) e[b * p + j] *= dx / dd;
        }
        return e;
    }

    /// <summary>Largest P the estimate considers.</summary>
    public const int MaxEstimatedEndmembers = 20;

    /// <summary>"P = 4 from the residual's elbow (...); HySime: 19": how P was chosen, and whether it is a close call.</summary>
    public static string DescribeEstimate(ElbowResult elbow, HySimeResult hysime)
    {
        var gain = elbow.Gains.Length > 0 ? elbow.Gains[^1] : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"P = {elbow.Count} from the residual's elbow (one more endmember would lower it by {gain:P0}, less than {ResidualElbow.Threshold:P0})") +
            (elbow.Uncertain ? ", uncertain: check the residual band or give -p" : "") + $"; HySime: {hysime.Count}";
    }

    /// <summary>The refinement on a spread subset of the sample, with the extracted pixels appended so that they are in it.</summary>
    private static (double[] E, string Source, double[]? AtPixels) Refined(PixelSample sample, int refinePixels, ExtractedEndmembers x, int p, CancellationToken cancel)
    {
        var subset = sample.Subset(refinePixels);
        int l = sample.Bands, n = subset.Count + p;
        var y = new double[l * n];
        for (var b = 0; b < l; b++)
        {
            Array.Copy(subset.Y, b * subset.Count, y, b * n, subset.Count);
            for (var j = 0; j < p; j++) y[b * n + subset.Count + j] = sample.Y[b * sample.Count + x.PixelIndices[j]];
        }
        var refined = ArchetypalRefinement.Refine(y, l, n, Enumerable.Range(subset.Count, p).ToArray(),
            new ArchetypalOptions { Subspace = 24, Iterations = 100, CheckEvery = 4 }, cancel: cancel);
        // The refinement fits the pixels' shapes (unit length). It is kept only if the refined spectra also fit
        // the pixels as they are better, under the scaled model (NNLS residual): on a clean scene with pure
        // pixels the extracted pixels already fit best, and shape-only refinement would move them inward.
        var yf = Array.ConvertAll(y, v => (float)v);
        double before = ResidualElbow.RmsResidual(yf, l, n, x.E, p), after = ResidualElbow.RmsResidual(yf, l, n, refined.Endmembers, p);
        var keep = after < before;
        return (keep ? refined.Endmembers : x.E, x.Source + string.Create(CultureInfo.InvariantCulture,
            $", {(keep ? "refined" : "not refined (it did not lower the scaled residual)")}: convex combinations of {subset.Count} pixels, shape residual {refined.InitialResidual:G3} -> {refined.ChosenResidual:G3} in {refined.Iterations} iterations, scaled residual {before:G3} -> {after:G3}"), keep ? AtPixelBrightness(refined.Endmembers, x.E, l, p) : null);
    }
}
