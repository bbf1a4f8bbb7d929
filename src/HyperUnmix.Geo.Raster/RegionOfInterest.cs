using HyperUnmix.Geo.Gdal;
using NetTopologySuite.Geometries;
using NetTopologySuite.IO;
using NetTopologySuite.Operation.Union;

namespace HyperUnmix.Geo.Raster;

/// <summary>Which features of a polygon file make up the region of interest.</summary>
public sealed record RoiSelection
{
    /// <summary>Layer name (default: the first layer).</summary>
    public string? Layer { get; init; }
    /// <summary>OGR SQL WHERE clause on the attributes, e.g. "class = 'forest'".</summary>
    public string? Where { get; init; }
    /// <summary>Feature ids to keep (empty: all).</summary>
    public IReadOnlyCollection<long> FeatureIds { get; init; } = [];
    /// <summary>Treat the polygons as being in the scene's coordinates even when CRSs are missing or differ.</summary>
    public bool AssumeSceneCrs { get; init; }
}

/// <summary>
/// A polygon region of interest on a scene's grid: the union of the selected polygons (holes and multipolygons
/// kept), transformed into the scene's CRS, with the window of the scene it covers. A pixel belongs to the region
/// when its centre lies inside (GDAL's default rasterisation rule); centres exactly on a left or bottom edge
/// count as inside, on a right or top edge as outside (half-open spans, so shared edges are never counted twice).
/// </summary>
public sealed class RegionOfInterest
{
    private readonly double[] _gt;
    /// <summary>Polygon rings in pixel coordinates of the whole scene (x = column, y = row).</summary>
    private readonly List<Coordinate[]> _rings = [];

    private RegionOfInterest(string path, Geometry sceneGeometry, double[] gt, Window window, int featureCount)
    {
        Path = path;
        Geometry = sceneGeometry;
        _gt = gt;
        Window = window;
        FeatureCount = featureCount;
        foreach (var poly in Polygons(sceneGeometry))
        {
            _rings.Add(ToPixels(poly.ExteriorRing.Coordinates));
            foreach (var hole in poly.InteriorRings) _rings.Add(ToPixels(hole.Coordinates));
        }
    }

    public string Path { get; }
    /// <summary>The region in the scene's CRS.</summary>
    public Geometry Geometry { get; }
    /// <summary>The scene window covering the region (clipped to the scene).</summary>
    public Window Window { get; }
    public int FeatureCount { get; }

    /// <summary>Reads polygons from any vector file GDAL/OGR can open (GeoJSON, Shapefile, GeoPackage, ...).</summary>
    /// <exception cref="RasterDataException">No polygons, invalid or empty geometry, CRS problems, or the region misses the scene.</exception>
    public static RegionOfInterest Load(string path, RasterInfo scene, RoiSelection? selection = null)
    {
        selection ??= new RoiSelection();
        using var ds = GdalDataset.OpenVector(path);
        if (ds.LayerCount == 0) throw new RasterDataException(path, "has no vector layers");
        var layer = selection.Layer is null ? ds.GetLayer(0) : ds.GetLayer(selection.Layer);
        if (selection.Where is not null) layer.SetAttributeFilter(selection.Where);
        var reader = new WKBReader();
        var polygons = new List<Geometry>();
        foreach (var (fid, wkb) in layer.ReadGeometries())
        {
            if (selection.FeatureIds.Count > 0 && !selection.FeatureIds.Contains(fid)) continue;
            var g = reader.Read(wkb);
            if (g.IsEmpty) throw new RasterDataException(path, $"feature {fid} has an empty geometry");
            if (g is not (Polygon or MultiPolygon))
                throw new RasterDataException(path, $"feature {fid} is a {g.GeometryType}, not a polygon");
            if (!g.IsValid)
                throw new RasterDataException(path, $"feature {fid} is an invalid polygon ({new NetTopologySuite.Operation.Valid.IsValidOp(g).ValidationError})");
            polygons.Add(g);
        }
        if (polygons.Count == 0)
            throw new RasterDataException(path, selection.Where is null && selection.FeatureIds.Count == 0
                ? "contains no polygon features" : "no polygon feature matches the selection");
        if (scene.GeoTransform is not { } gt)
        {
            if (!selection.AssumeSceneCrs)
                throw new RasterDataException(scene.Path, "has no georeferencing, so a polygon cannot be placed on it (use --roi-in-pixels to read polygon coordinates as pixel coordinates)");
            gt = [0, 1, 0, 0, 0, 1];
        }
        if (gt[2] != 0 || gt[4] != 0) throw new RasterDataException(scene.Path, "has a rotated geotransform; ROI clipping needs a north-up grid");

        var union = UnaryUnionOp.Union(polygons);
        var layerSrs = layer.SpatialReference;
        using (layerSrs)
        {
            if (!selection.AssumeSceneCrs)
            {
                if (layerSrs is null && !string.IsNullOrEmpty(scene.CrsWkt))
                    throw new RasterDataException(path, "has no CRS but the scene has one; give the polygons a CRS or pass --roi-assume-scene-crs");
                if (layerSrs is not null && string.IsNullOrEmpty(scene.CrsWkt))
                    throw new RasterDataException(scene.Path, $"has no CRS but the polygons in {path} have one; pass --roi-assume-scene-crs if they share coordinates");
                if (layerSrs is not null)
                {
                    using var sceneSrs = SpatialReference.FromUserInput(scene.CrsWkt);
                    if (!layerSrs.IsSame(sceneSrs))
                    {
                        using var ct = new CoordinateTransformation(layerSrs, sceneSrs);
                        union = Transform(union, ct);
                    }
                }
            }
        }
        var window = BoundingWindow(union.EnvelopeInternal, gt, scene);
        if (window.IsEmpty) throw new RasterDataException(path, $"the region of interest does not overlap the scene {scene.Path}");
        var roi = new RegionOfInterest(path, union, gt, window, polygons.Count);
        return roi;
    }

    /// <summary>Marks with 0 the pixels of <paramref name="window"/> (scene coordinates) whose centre is outside the region.</summary>
    /// <returns>The number of pixels that are inside and were valid before.</returns>
    public int Mask(Window window, Span<byte> valid)
    {
        var crossings = new List<double>();
        var inside = 0;
        for (var r = 0; r < window.Height; r++)
        {
            var yc = window.RowOff + r + 0.5;
            crossings.Clear();
            foreach (var ring in _rings)
                for (var i = 0; i + 1 < ring.Length; i++)
                {
                    Coordinate a = ring[i], b = ring[i + 1];
                    if ((a.Y <= yc && yc < b.Y) || (b.Y <= yc && yc < a.Y))
                        crossings.Add(a.X + (yc - a.Y) * (b.X - a.X) / (b.Y - a.Y));
                }
            crossings.Sort();
            var row = valid.Slice(r * window.Width, window.Width);
            var col = 0;
            for (var k = 0; k + 1 < crossings.Count; k += 2)
            {
                // Pixel c is inside when its centre c + 0.5 lies in [x0, x1).
                var c0 = Math.Max((int)Math.Ceiling(crossings[k] - 0.5) - window.ColOff, 0);
                var c1 = Math.Min((int)Math.Ceiling(crossings[k + 1] - 0.5) - window.ColOff, window.Width);
                for (; col < Math.Min(c0, window.Width); col++) row[col] = 0;
                for (; col < c1; col++) if (row[col] != 0) inside++;
                col = Math.Max(col, c1);
            }
            for (; col < window.Width; col++) row[col] = 0;
        }
        return inside;
    }

    /// <summary>Whether any pixel centre of the window could be inside (envelope test).</summary>
    public bool Touches(Window window) => !window.Intersect(Window).IsEmpty;

    private Coordinate[] ToPixels(Coordinate[] ring) =>
        ring.Select(c => new Coordinate((c.X - _gt[0]) / _gt[1], (c.Y - _gt[3]) / _gt[5])).ToArray();

    private static IEnumerable<Polygon> Polygons(Geometry g) => g switch
    {
        Polygon p => [p],
        GeometryCollection c => Enumerable.Range(0, c.NumGeometries).SelectMany(i => Polygons(c.GetGeometryN(i))),
        _ => [],
    };

    private static Window BoundingWindow(Envelope env, double[] gt, RasterInfo scene)
    {
        double c0 = (env.MinX - gt[0]) / gt[1], c1 = (env.MaxX - gt[0]) / gt[1];
        double r0 = (env.MinY - gt[3]) / gt[5], r1 = (env.MaxY - gt[3]) / gt[5];
        var col0 = (int)Math.Floor(Math.Min(c0, c1));
        var col1 = (int)Math.Ceiling(Math.Max(c0, c1));
        var row0 = (int)Math.Floor(Math.Min(r0, r1));
        var row1 = (int)Math.Ceiling(Math.Max(r0, r1));
        return new Window(col0, row0, col1 - col0, row1 - row0).Intersect(new Window(0, 0, scene.Width, scene.Height));
    }

    private static Geometry Transform(Geometry g, CoordinateTransformation ct)
    {
        var copy = g.Copy();
        copy.Apply(new TransformFilter(ct));
        copy.GeometryChanged();
        return copy;
    }

    private sealed class TransformFilter(CoordinateTransformation ct) : IEntireCoordinateSequenceFilter
    {
        public bool Done => false;
        public bool GeometryChanged => true;

        public void Filter(CoordinateSequence seq)
        {
            var x = new double[seq.Count];
            var y = new double[seq.Count];
            for (var i = 0; i < seq.Count; i++) { x[i] = seq.GetX(i); y[i] = seq.GetY(i); }
            ct.Transform(x, y);
            for (var i = 0; i < seq.Count; i++) { seq.SetX(i, x[i]); seq.SetY(i, y[i]); }
        }
    }
}
