using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>A vector layer. Its features are read as WKB geometries, so callers can use any geometry library.</summary>
internal sealed unsafe class OgrLayer
{
    private readonly GdalDataset _dataset;
    private readonly nint _layer;

    internal OgrLayer(GdalDataset dataset, nint layer)
    {
        _dataset = dataset;
        _layer = layer;
    }

    public string Name => _dataset.Use(() => GdalNative.Str(GdalNative.OGR_L_GetName(_layer)) ?? "");

    /// <summary>The layer's CRS (GeoJSON: WGS 84; Shapefile: its .prj; GeoPackage: its srs), or null.</summary>
    public SpatialReference? SpatialReference => _dataset.Use(() => SpatialReference.FromBorrowed(GdalNative.OGR_L_GetSpatialRef(_layer)));

    /// <summary>Restricts the features read to those matching an OGR SQL WHERE clause (null clears it).</summary>
    public void SetAttributeFilter(string? where) => _dataset.Use(() =>
    {
        GdalNative.CPLErrorReset();
        if (GdalNative.OGR_L_SetAttributeFilter(_layer, where) != 0)
            GdalLibrary.ThrowLast($"invalid attribute filter '{where}'", _dataset.Path, io: false);
        return 0;
    });

    /// <summary>Every feature as (feature id, WKB in little-endian order); features without geometry are skipped.</summary>
    /// <param name="cancel">Checked before each feature: layers can hold millions.</param>
    public List<(long Fid, byte[] Wkb)> ReadGeometries(CancellationToken cancel = default) => _dataset.Use(() =>
    {
        var result = new List<(long, byte[])>();
        GdalNative.OGR_L_ResetReading(_layer);
        nint f;
        while (!cancel.IsCancellationRequested && (f = GdalNative.OGR_L_GetNextFeature(_layer)) != 0)
        {
            try
            {
                var g = GdalNative.OGR_F_GetGeometryRef(f);
                if (g == 0) continue;
                var wkb = new byte[GdalNative.OGR_G_WkbSize(g)];
                fixed (byte* p = wkb)
                {
                    if (GdalNative.OGR_G_ExportToWkb(g, 1, p) != 0)
                        GdalLibrary.ThrowLast("cannot export a geometry", _dataset.Path, io: false);
                }
                result.Add((GdalNative.OGR_F_GetFID(f), wkb));
            }
            finally
            {
                GdalNative.OGR_F_Destroy(f);
            }
        }
        cancel.ThrowIfCancellationRequested();
        return result;
    });

    /// <summary>OGR's field type code for binary (BLOB) fields.</summary>
    private const int OftBinary = 8;

    /// <summary>
    /// Every feature's attributes, in the layer's order: (feature id, field name → value, null when unset or NULL).
    /// Binary fields (a GeoPackage BLOB) are decoded as UTF-8 text (EnMAP-Box stores its spectra as JSON there).
    /// </summary>
    public List<(long Fid, Dictionary<string, string?> Fields)> ReadAttributes(CancellationToken cancel = default) => _dataset.Use(() =>
    {
        var result = new List<(long, Dictionary<string, string?>)>();
        GdalNative.OGR_L_ResetReading(_layer);
        nint f;
        while (!cancel.IsCancellationRequested && (f = GdalNative.OGR_L_GetNextFeature(_layer)) != 0)
        {
            try
            {
                var fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                var n = GdalNative.OGR_F_GetFieldCount(f);
                for (var i = 0; i < n; i++)
                {
                    var defn = GdalNative.OGR_F_GetFieldDefnRef(f, i);
                    var name = GdalNative.Str(GdalNative.OGR_Fld_GetNameRef(defn)) ?? $"field{i}";
                    string? value = null;
                    if (GdalNative.OGR_F_IsFieldSetAndNotNull(f, i) != 0)
                    {
                        if (GdalNative.OGR_Fld_GetType(defn) == OftBinary)
                        {
                            int count;
                            var p = GdalNative.OGR_F_GetFieldAsBinary(f, i, &count);
                            value = p == null || count <= 0 ? null : System.Text.Encoding.UTF8.GetString(p, count);
                        }
                        else value = GdalNative.Str(GdalNative.OGR_F_GetFieldAsString(f, i));
                    }
                    fields[name] = value;
                }
                result.Add((GdalNative.OGR_F_GetFID(f), fields));
            }
            finally
            {
                GdalNative.OGR_F_Destroy(f);
            }
        }
        cancel.ThrowIfCancellationRequested();
        return result;
    });
}
