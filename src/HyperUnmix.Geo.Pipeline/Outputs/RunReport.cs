using System.Text.Json;
using System.Text.Json.Serialization;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>The JSON record of a run: inputs, parameters, back-ends, timings, pixel counts, and metrics when truth is given.</summary>
internal static class RunReport
{
    // NaN is a legal output nodata (--output-nodata nan): write it as JSON's "NaN" string rather than fail.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <param name="raster">Where the finished abundance raster is now (its temporary name until the run commits).</param>
    public static void Write(string path, UnmixOptions o, RasterInfo info, UnmixResult r, string blas, string raster)
    {
        object? metrics = null;
        if (o.Outputs.TruthAbundances is not null || o.Outputs.TruthEndmembers is not null)
        {
            var s = Evaluation.Score(raster, o.Outputs.TruthAbundances, o.Outputs.TruthEndmembers, r.Endmembers, r.Area);
            metrics = Evaluation.ToJsonObject(s, r.Endmembers.Names);
        }
        var report = new Dictionary<string, object?>
        {
            ["software"] = new { name = "HyperUnmix.Geo", version = UnmixJob.Version, gdal = GdalLibrary.Version, blas, reader = r.ReadPath },
            ["input"] = new { path = Path.GetFullPath(o.Scene.Input), width = info.Width, height = info.Height, bands = info.BandCount, crs_epsg = info.Epsg, driver = info.Driver },
            ["product"] = info.Product is { } pr ? new
            {
                sensor = pr.Sensor, level = pr.Level, metadata_file = pr.MetadataFile, reflectance = pr.Reflectance,
                masks_applied = pr.AppliedMasks.Select(m => new { name = m.Name, pixels = m.Pixels }).ToArray(), masked_pixels = pr.MaskedPixels,
            } : null,
            ["parameters"] = new
            {
                method = o.Method.Name.ToUpperInvariant(),
                seed = o.Seed,
                tile = r.TileSize,
                workers = r.Workers,
                memory_mb = o.Execution.MemoryBytes >> 20,
                roi = o.Scene.Roi,
                input_scale = o.Scene.InputScale,
                fractions = o.Method.SignalFractions ? "signal" : "physical",
                output_nodata = o.Outputs.OutputNoData,
                sample_size = o.Endmembers.SampleSize,
            },
            ["endmembers"] = new
            {
                source = r.EndmemberSource,
                names = r.Endmembers.Names,
                count = r.Endmembers.Count,
                bands = r.Endmembers.Bands,
                condition_number = r.Endmembers.Condition,
                hysime_estimate = r.Estimate?.Count,
                vca_snr_db = r.VcaSnrDb is { } v && double.IsFinite(v) ? v : (double?)null,
            },
            ["brightness"] = r.Brightness is { } br ? new
            {
                model = br.Scale == Unmixing.Solvers.PixelScale.Scale ? "scaled" : "linear",
                residual_ratio = double.IsFinite(br.ResidualRatio) ? br.ResidualRatio : (double?)null,
                threshold = BrightnessTest.Threshold,
                off_plane_spread = double.IsFinite(br.OffPlaneSpread) ? br.OffPlaneSpread : (double?)null,
                spread_threshold = BrightnessTest.SpreadThreshold,
                signal_dimensions = br.SignalDimensions,
                decided_by = br.DecidedBy,
                uncertain = br.Uncertain,
                pixels = br.Pixels,
                reason = br.Reason,
            } : null,
            ["screening"] = r.Screen is { } sc ? new
            {
                values = sc.Values,
                bands_requested = r.RequestedBands,
                bands_used = sc.Bands.Length,
                left_out = sc.Dropped.Select(d => new { bands = BandScreen.Ranges(d.Bands), count = d.Bands.Length, reason = d.Reason }).ToArray(),
                sampled_pixels = sc.SampledPixels,
                zero_pixels_in_sample = sc.ZeroPixels,
                reflectance_known = sc.Reflectance,
                non_physical_pixels_in_sample = sc.NonPhysicalPixels,
            } : null,
            ["output"] = new { path = r.Output, window = new { col = r.Area.ColOff, row = r.Area.RowOff, width = r.Area.Width, height = r.Area.Height }, side_outputs = r.SideOutputs },
            ["pixels"] = new { total = r.TotalPixels, valid = r.ValidPixels, tiles = r.Tiles },
            ["deep_model"] = r.Fit is { } f ? new
            {
                file = r.ModelFile,
                fit_pixels = f.Pixels,
                epochs = f.Epochs,
                initial_loss = f.InitialLoss,
                final_loss = f.FinalLoss,
                fit_seconds = Math.Round(f.Seconds, 3),
                gflops_per_second = Math.Round(f.Gflops / Math.Max(f.Seconds, 1e-9), 2),
                nonlinearity = f.Test is { } t ? new { network_kept = t.Kept, held_out_error = t.DeepError, linear_remix_error = t.LinearError, z = Math.Round(t.Z, 2), threshold = Unmixing.Deep.NonlinearityTest.Threshold, min_gain = Unmixing.Deep.NonlinearityTest.MinGain, held_out_pixels = t.Pixels, pixel_test_gain = Unmixing.Deep.MtlModel.NetworkGain, held_out_network_pixels = t.NetworkPixels, reason = t.Reason } : null,
                options = new { o.Method.Mtl.Alpha, o.Method.Mtl.Beta, o.Method.Mtl.Lambda, o.Method.Mtl.MaxEpochs, o.Method.Mtl.Tolerance, o.Method.Mtl.Patience, o.Method.Mtl.RowBranch, o.Method.Mtl.ColumnBranch, o.Method.Mtl.Nonlinear, o.Method.Mtl.RequireNonlinearGain, o.Method.Mtl.PixelTest, o.Method.Mtl.RowHidden, o.Method.Mtl.ColumnHidden },
            } : (object?)(r.ModelFile is null ? null : new { file = r.ModelFile, fitted = false }),
            ["seconds"] = r.StageSeconds,
            ["metrics"] = metrics,
        };
        Unmixing.Endmembers.EndmemberFiles.WriteAtomically(path, JsonSerializer.SerializeToUtf8Bytes(report, Indented));
    }
}
