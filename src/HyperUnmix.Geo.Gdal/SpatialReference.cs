using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>A coordinate reference system (GDAL OSR), always in traditional GIS axis order (x = easting/longitude).</summary>
internal sealed unsafe class SpatialReference : IDisposable
{
    private readonly SpatialReferenceHandle _handle;

    private SpatialReference(nint h)
    {
        _handle = new SpatialReferenceHandle(h);
        // GDAL 3 honours the authority's axis order (lat, lon for EPSG:4326); rasters and GeoJSON use x, y.
        GdalNative.OSRSetAxisMappingStrategy(h, 0);
    }

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>Parses WKT, "EPSG:n", PROJ strings or anything OSRSetFromUserInput accepts.</summary>
    public static SpatialReference FromUserInput(string definition)
    {
        GdalLibrary.ConfigureAll();
        var h = GdalNative.OSRNewSpatialReference(null);
        if (GdalNative.OSRSetFromUserInput(h, definition) != 0)
        {
            GdalNative.OSRDestroySpatialReference(h);
            GdalNative.CPLErrorReset();
            throw new GdalException($"not a coordinate reference system GDAL understands: '{Shorten(definition)}'");
        }
        return new SpatialReference(h);
    }

    /// <summary>A copy of a spatial reference owned by someone else (e.g. a layer's).</summary>
    internal static SpatialReference? FromBorrowed(nint borrowed)
    {
        if (borrowed == 0) return null;
        nint wkt;
        if (GdalNative.OSRExportToWkt(borrowed, &wkt) != 0) { GdalNative.VSIFree(wkt); return null; }
        try { return FromUserInput(GdalNative.Str(wkt)!); }
        finally { GdalNative.VSIFree(wkt); }
    }

    public string Wkt
    {
        get
        {
            nint wkt;
            if (GdalNative.OSRExportToWkt(Handle, &wkt) != 0) { GdalNative.VSIFree(wkt); return ""; }
            try { return GdalNative.Str(wkt) ?? ""; }
            finally { GdalNative.VSIFree(wkt); }
        }
    }

    /// <summary>The EPSG code when GDAL can identify one.</summary>
    public int? Epsg
    {
        get
        {
            var name = GdalNative.Str(GdalNative.OSRGetAuthorityName(Handle, null));
            if (name != "EPSG" && GdalNative.OSRAutoIdentifyEPSG(Handle) != 0) { GdalNative.CPLErrorReset(); return null; }
            var code = GdalNative.Str(GdalNative.OSRGetAuthorityCode(Handle, null));
            return int.TryParse(code, out var c) ? c : null;
        }
    }

    public bool IsProjected => GdalNative.OSRIsProjected(Handle) != 0;

    public bool IsSame(SpatialReference other) => GdalNative.OSRIsSame(Handle, other.Handle) != 0;

    public void Dispose() => _handle.Dispose();

    private static string Shorten(string s) => s.Length > 80 ? s[..80] + "..." : s;
}

/// <summary>Transforms coordinates between two CRSs (both in traditional GIS axis order).</summary>
internal sealed unsafe class CoordinateTransformation : IDisposable
{
    private readonly CoordinateTransformationHandle _handle;

    public CoordinateTransformation(SpatialReference source, SpatialReference target)
    {
        GdalNative.CPLErrorReset();
        var h = GdalNative.OCTNewCoordinateTransformation(source.Handle, target.Handle);
        if (h == 0) GdalLibrary.ThrowLast("no transformation between the two coordinate reference systems", null, io: false);
        _handle = new CoordinateTransformationHandle(h);
    }

    /// <summary>Transforms the points in place.</summary>
    public void Transform(Span<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        int ok;
        fixed (double* px = x, py = y)
            ok = GdalNative.OCTTransform(_handle.DangerousGetHandle(), x.Length, px, py, null);
        if (ok == 0) GdalLibrary.ThrowLast("coordinate transformation failed", null, io: false);
    }

    public void Dispose() => _handle.Dispose();
}
