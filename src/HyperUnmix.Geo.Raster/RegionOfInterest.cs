using System.Globalization;
using System.Text.Json;
using HyperUnmix.Geo.Gdal;
using NetTopologySuite.Geometries;
using NetTopologySuite.IO;
using NetTopologySuite.Operation.Valid;

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

    /// <summary>How errors name <see cref="AssumeSceneCrs"/> (a command line rewrites it into its flag).</summary>
    public const string AssumeSceneCrsPath = nameof(RoiSelection) + "." + nameof(AssumeSceneCrs);
}

/// <summary>
/// A polygon region of interest on a scene's grid: the union of the selected polygons (holes and multipolygons
/// kept), transformed into the scene's CRS, with the window of the scene it covers. A pixel belongs to the region
/// when its centre lies inside (GDAL's default rasterisation rule); centres exactly on a left or bottom edge
/// count as inside, on a right or top edge as outside (half-open spans, so shared edges are never counted twice).
/// </summary>
/// <remarks>
/// The region is rasterised once, when loaded, into spans of inside columns per row of <see cref="Window"/>:
/// every polygon edge is visited once and lands in the rows its y range crosses (an edge table), so the cost is
/// the vertices plus the crossings, and a mask of any window, down to the single pixels the sampler asks about, is
/// a look-up. Overlapping features are united by the nonzero winding rule on consistently oriented rings rather than
/// by a geometric union, which on digitised outlines with hundreds of thousands of vertices took minutes.
/// </remarks>
public sealed class RegionOfInterest
{
    /// <summary>Where each row of <see cref="Window"/> starts in <see cref="_spans"/> (one entry more than rows).</summary>
    private readonly int[] _rowStart;
    /// <summary>Inside spans as pairs of scene columns [c0, c1), sorted, disjoint and within <see cref="Window"/>.</summary>
    private readonly int[] _spans;

    private RegionOfInterest(string path, Window window, int featureCount, int[] rowStart, int[] spans)
    {
        Path = path;
        Window = window;
        FeatureCount = featureCount;
        _rowStart = rowStart;
        _spans = spans;
    }

    /// <summary>The polygon file the region was loaded from.</summary>
    public string Path { get; }
    /// <summary>The scene window covering the region (clipped to the scene).</summary>
    public Window Window { get; }
    /// <summary>Number of polygon features selected (after the layer, WHERE and feature-id filters).</summary>
    public int FeatureCount { get; }

    /// <summary>Reads polygons from any vector file GDAL/OGR can open (GeoJSON, Shapefile, GeoPackage, ...).</summary>
    /// <param name="cancel">Checked between features, rings and rows, so a cancelled run stops within moments even on huge files.</param>
    /// <exception cref="RasterDataException">No polygons, invalid or empty geometry, CRS problems, or the region misses the scene.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled.</exception>
    public static RegionOfInterest Load(string path, RasterInfo scene, RoiSelection? selection = null, CancellationToken cancel = default)
    {
        selection ??= new RoiSelection();
        cancel.ThrowIfCancellationRequested();
        var (ds, layer) = OpenLayer(path, selection);
        using var dataset = ds;
        var reader = new WKBReader();
        var polygons = new List<(long Fid, Geometry Geometry)>();
        foreach (var (fid, wkb) in layer.ReadGeometries(cancel))
        {
            if (selection.FeatureIds.Count > 0 && !selection.FeatureIds.Contains(fid)) continue;
            var g = reader.Read(wkb);
            if (g.IsEmpty) throw new RasterDataException(path, $"feature {fid} has an empty geometry");
            if (g is not (Polygon or MultiPolygon))
                throw new RasterDataException(path, $"feature {fid} is a {g.GeometryType}, not a polygon");
            polygons.Add((fid, g));
        }
        if (polygons.Count == 0)
            throw new RasterDataException(path, selection.Where is null && selection.FeatureIds.Count == 0
                ? "contains no polygon features" : "no polygon feature matches the selection");
        CheckValid(path, polygons, cancel);
        var (gt, ct) = SceneGrid(path, layer, scene, selection);
        List<Ring> rings;
        using (ct) rings = PixelRings(path, scene, polygons.Select(p => p.Geometry), gt, ct, cancel);

        var window = BoundingWindow(rings, scene);
        if (window.IsEmpty) throw new RasterDataException(path, $"the region of interest does not overlap the scene {scene.Path}");
        var (rowStart, spans) = Rasterise(rings, window, cancel);
        return new RegionOfInterest(path, window, polygons.Count, rowStart, spans);
    }

    /// <summary>The selected layer of a vector file, its attribute filter set (the caller disposes the dataset).</summary>
    private static (GdalDataset Dataset, OgrLayer Layer) OpenLayer(string path, RoiSelection selection)
    {
        var ds = GdalDataset.OpenVector(path);
        try
        {
            if (ds.LayerCount == 0) throw new RasterDataException(path, "has no vector layers");
            if (!selection.AssumeSceneCrs && ds.DriverName == "GeoJSON") CheckGeoJsonCrs(path);
            var layer = selection.Layer is null ? ds.GetLayer(0) : ds.GetLayer(selection.Layer);
            if (selection.Where is not null) layer.SetAttributeFilter(selection.Where);
            return (ds, layer);
        }
        catch
        {
            ds.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The scene's geotransform and, when the layer's CRS differs from the scene's, the transformation to it; refuses
    /// what cannot be placed (no georeferencing, a rotated grid, one CRS missing) unless <see cref="RoiSelection.AssumeSceneCrs"/>.
    /// </summary>
    private static (double[] Gt, CoordinateTransformation? Ct) SceneGrid(string path, OgrLayer layer, RasterInfo scene, RoiSelection selection)
    {
        if (scene.GeoTransform is not { } gt)
        {
            if (!selection.AssumeSceneCrs)
                throw new RasterDataException(scene.Path, $"has no georeferencing, so a polygon cannot be placed on it (pass {RoiSelection.AssumeSceneCrsPath} to read the polygons' coordinates as pixel coordinates)");
            gt = [0, 1, 0, 0, 0, 1];
        }
        if (gt[2] != 0 || gt[4] != 0) throw new RasterDataException(scene.Path, "has a rotated geotransform; ROI clipping needs a north-up grid");

        CoordinateTransformation? ct = null;
        var layerSrs = layer.SpatialReference;
        using (layerSrs)
        {
            if (!selection.AssumeSceneCrs)
            {
                if (layerSrs is null && !string.IsNullOrEmpty(scene.CrsWkt))
                    throw new RasterDataException(path, $"has no CRS but the scene has one; give the polygons a CRS or pass {RoiSelection.AssumeSceneCrsPath}");
                if (layerSrs is not null && string.IsNullOrEmpty(scene.CrsWkt))
                    throw new RasterDataException(scene.Path, $"has no CRS but the polygons in {path} have one; pass {RoiSelection.AssumeSceneCrsPath} if they share coordinates");
                if (layerSrs is not null)
                {
                    using var sceneSrs = SpatialReference.FromUserInput(scene.CrsWkt);
                    if (!layerSrs.IsSame(sceneSrs))
                    {
                        try { ct = new CoordinateTransformation(layerSrs, sceneSrs); }
                        catch (GdalException e) { throw new RasterDataException(path, $"its CRS cannot be transformed to the CRS of {scene.Path} ({e.Message})"); }
                    }
                }
            }
        }
        return (gt, ct);
    }

    /// <summary>
    /// The point features of a vector file (Point, MultiPoint) as the scene pixels they fall in, for collecting
    /// spectra at field points. Returns null when the selected features are all polygons (use <see cref="Load"/>);
    /// refuses other geometries, a mix, empty geometries and points outside the scene, naming the feature.
    /// </summary>
    public static List<(long Fid, int Col, int Row)>? LoadPoints(string path, RasterInfo scene, RoiSelection? selection = null, CancellationToken cancel = default)
    {
        selection ??= new RoiSelection();
        var (ds, layer) = OpenLayer(path, selection);
        using var dataset = ds;
        var reader = new WKBReader();
        var points = new List<(long Fid, double X, double Y)>();
        var polygons = 0;
        foreach (var (fid, wkb) in layer.ReadGeometries(cancel))
        {
            if (selection.FeatureIds.Count > 0 && !selection.FeatureIds.Contains(fid)) continue;
            var g = reader.Read(wkb);
            if (g.IsEmpty) throw new RasterDataException(path, $"feature {fid} has an empty geometry");
            if (g is Polygon or MultiPolygon) { polygons++; continue; }
            if (g is not (Point or MultiPoint)) throw new RasterDataException(path, $"feature {fid} is a {g.GeometryType}: spectra are collected in polygons or at points");
            foreach (var c in g.Coordinates) points.Add((fid, c.X, c.Y));
        }
        if (points.Count == 0) return null;
        if (polygons > 0) throw new RasterDataException(path, $"mixes points ({points.Select(p => p.Fid).Distinct().Count()} features) and polygons ({polygons}): give one kind per layer");
        var (gt, ct) = SceneGrid(path, layer, scene, selection);
        var x = points.Select(p => p.X).ToArray();
        var y = points.Select(p => p.Y).ToArray();
        using (ct)
        {
            if (ct is not null)
            {
                try { ct.Transform(x, y); }
                catch (GdalException e) { throw new RasterDataException(path, $"its coordinates cannot be transformed to the CRS of {scene.Path} ({e.Message}); if they are in the scene's CRS, pass {RoiSelection.AssumeSceneCrsPath}"); }
            }
        }
        var result = new List<(long, int, int)>(points.Count);
        for (var i = 0; i < points.Count; i++)
        {
            var col = Math.Floor((x[i] - gt[0]) / gt[1]);
            var row = Math.Floor((y[i] - gt[3]) / gt[5]);
            if (!(col >= 0 && col < scene.Width && row >= 0 && row < scene.Height))
                throw new RasterDataException(path, string.Create(CultureInfo.InvariantCulture,
                    $"feature {points[i].Fid}: the point {points[i].X:G10}, {points[i].Y:G10} lies outside the scene {scene.Path} (pixel {col}, {row} of {scene.Width} x {scene.Height})"));
            result.Add((points[i].Fid, (int)col, (int)row));
        }
        return result;
    }

    /// <summary>Marks with 0 the pixels of <paramref name="window"/> (scene coordinates) whose centre is outside the region.</summary>
    /// <returns>The number of pixels that are inside and were valid before.</returns>
    public int Mask(Window window, Span<byte> valid)
    {
        var inside = 0;
        for (var r = 0; r < window.Height; r++)
        {
            var row = valid.Slice(r * window.Width, window.Width);
            var col = 0;
            var own = window.RowOff + r - Window.RowOff;
            if (own >= 0 && own < Window.Height)
                for (var k = _rowStart[own]; k < _rowStart[own + 1]; k += 2)
                {
                    var c0 = Math.Max(_spans[k] - window.ColOff, 0);
                    var c1 = Math.Min(_spans[k + 1] - window.ColOff, window.Width);
                    if (c0 >= window.Width) break;
                    if (c1 <= c0) continue;
                    row[col..c0].Clear();
                    for (col = c0; col < c1; col++) if (row[col] != 0) inside++;
                }
            row[col..].Clear();
        }
        return inside;
    }

    /// <summary>Whether any pixel centre of the window could be inside (envelope test).</summary>
    public bool Touches(Window window) => !window.Intersect(Window).IsEmpty;

    /// <summary>
    /// A ring in pixel coordinates of the whole scene (x = column, y = row), closed (last vertex = first).
    /// <paramref name="Sign"/> orients it: crossing it contributes +1 to the winding number entering a polygon's
    /// interior whatever the file's orientation, so a point inside a valid polygon winds 1 and one in a hole 0.
    /// </summary>
    private sealed record Ring(double[] X, double[] Y, int Sign);

    /// <summary>
    /// GDAL reads a GeoJSON whose "crs" member it cannot resolve (an unknown EPSG code, a misspelt name) as WGS 84,
    /// the format's default, with no more than a log message, so polygons in another CRS would silently land
    /// elsewhere. Such a file is refused. Malformed JSON is left to GDAL, which has already opened the file.
    /// </summary>
    private static void CheckGeoJsonCrs(string path)
    {
        if (!File.Exists(path)) return; // a /vsi path: GDAL's word stands
        string? name = null;
        try
        {
            var json = new Utf8JsonReader(File.ReadAllBytes(path), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject) return;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var isCrs = json.ValueTextEquals("crs");
                json.Read();
                if (!isCrs) { json.Skip(); continue; }
                using var crs = JsonDocument.ParseValue(ref json);
                if (crs.RootElement.ValueKind == JsonValueKind.Object
                    && crs.RootElement.TryGetProperty("type", out var type) && type.ValueEquals("name")
                    && crs.RootElement.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object
                    && props.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                    name = n.GetString();
                break;
            }
        }
        catch (JsonException)
        {
            return;
        }
        if (name is null) return;
        try
        {
            using var _ = SpatialReference.FromUserInput(name);
        }
        catch (GdalException)
        {
            throw new RasterDataException(path, $"its \"crs\" '{name}' is not a coordinate reference system GDAL knows (it would be read as WGS 84)");
        }
    }

    /// <summary>
    /// Refuses invalid polygons (self-intersecting rings, holes outside their shell), whose inside is undefined.
    /// NTS's check cannot be interrupted and takes seconds on very jagged outlines, so it runs on the thread pool, in
    /// parallel over features, and is waited for with the token: a cancelled load returns at once, and the abandoned
    /// check finishes in the background.
    /// </summary>
    private static void CheckValid(string path, List<(long Fid, Geometry Geometry)> polygons, CancellationToken cancel)
    {
        var errors = new string?[polygons.Count];
        Task.Run(() => Parallel.For(0, polygons.Count, i =>
        {
            var op = new IsValidOp(polygons[i].Geometry);
            if (!op.IsValid) errors[i] = op.ValidationError.ToString();
        })).Wait(cancel);
        for (var i = 0; i < errors.Length; i++)
            if (errors[i] is { } error) throw new RasterDataException(path, $"feature {polygons[i].Fid} is an invalid polygon ({error})");
    }

    /// <summary>Every ring of the polygons, transformed to the scene's CRS when <paramref name="ct"/> is given, in pixel coordinates.</summary>
    private static List<Ring> PixelRings(string path, RasterInfo scene, IEnumerable<Geometry> polygons, double[] gt, CoordinateTransformation? ct, CancellationToken cancel)
    {
        var rings = new List<Ring>();
        foreach (var poly in polygons.SelectMany(Polygons))
            for (var k = 0; k <= poly.NumInteriorRings; k++)
            {
                cancel.ThrowIfCancellationRequested();
                var seq = (k == 0 ? poly.ExteriorRing : poly.GetInteriorRingN(k - 1)).CoordinateSequence;
                var x = new double[seq.Count];
                var y = new double[seq.Count];
                for (var i = 0; i < x.Length; i++) { x[i] = seq.GetX(i); y[i] = seq.GetY(i); }
                if (ct is not null)
                {
                    try { ct.Transform(x, y); }
                    catch (GdalException e) { throw new RasterDataException(path, $"its coordinates cannot be transformed to the CRS of {scene.Path} ({e.Message}); if they are in the scene's CRS, pass {RoiSelection.AssumeSceneCrsPath}"); }
                }
                var area = 0.0;
                for (var i = 0; i < x.Length; i++)
                {
                    x[i] = (x[i] - gt[0]) / gt[1];
                    y[i] = (y[i] - gt[3]) / gt[5];
                    if (!double.IsFinite(x[i]) || !double.IsFinite(y[i]))
                        throw new RasterDataException(path, $"its coordinates cannot be placed on the grid of {scene.Path} (a vertex maps to {x[i]}, {y[i]})");
                    if (i > 0) area += x[i - 1] * y[i] - x[i] * y[i - 1];
                }
                // A ring of positive shoelace area (pixel coordinates, y down) runs up, y decreasing, on its left side, where a
                // scan from the left enters it: such exteriors are flipped so entering counts +1, holes the other way round.
                var sign = Math.Sign(area) * (k == 0 ? -1 : 1);
                if (sign != 0) rings.Add(new Ring(x, y, sign));
            }
        return rings;
    }

    private static IEnumerable<Polygon> Polygons(Geometry g) => g switch
    {
        Polygon p => [p],
        GeometryCollection c => Enumerable.Range(0, c.NumGeometries).SelectMany(i => Polygons(c.GetGeometryN(i))),
        _ => [],
    };

    private static Window BoundingWindow(List<Ring> rings, RasterInfo scene)
    {
        double x0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y0 = double.PositiveInfinity, y1 = double.NegativeInfinity;
        foreach (var ring in rings)
            for (var i = 0; i < ring.X.Length; i++)
            {
                x0 = Math.Min(x0, ring.X[i]); x1 = Math.Max(x1, ring.X[i]);
                y0 = Math.Min(y0, ring.Y[i]); y1 = Math.Max(y1, ring.Y[i]);
            }
        // Clamped before the cast: a polygon far off the scene must not overflow an int.
        double Clamp(double v, int max) => Math.Clamp(v, -1, max + 1.0);
        var col0 = (int)Math.Floor(Clamp(x0, scene.Width));
        var col1 = (int)Math.Ceiling(Clamp(x1, scene.Width));
        var row0 = (int)Math.Floor(Clamp(y0, scene.Height));
        var row1 = (int)Math.Ceiling(Clamp(y1, scene.Height));
        return new Window(col0, row0, col1 - col0, row1 - row0).Intersect(new Window(0, 0, scene.Width, scene.Height));
    }

    /// <summary>
    /// The edge table: each edge's crossings with the pixel-centre lines y = row + 0.5 of the rows it spans, bucketed
    /// by row (counted, then filled), sorted along each row and swept with the winding number into inside spans.
    /// </summary>
    private static (int[] RowStart, int[] Spans) Rasterise(List<Ring> rings, Window window, CancellationToken cancel)
    {
        var rows = window.Height;
        var offset = new int[rows + 1];
        ForEachCrossing(rings, window, (row, _, _) => offset[row + 1]++, cancel);
        for (var r = 0; r < rows; r++) offset[r + 1] = checked(offset[r + 1] + offset[r]);
        var xs = new double[offset[rows]];
        var dirs = new sbyte[offset[rows]];
        var next = offset[..rows];
        ForEachCrossing(rings, window, (row, x, dir) => { xs[next[row]] = x; dirs[next[row]++] = dir; }, cancel);

        var rowStart = new int[rows + 1];
        var spans = new List<int>();
        for (var r = 0; r < rows; r++)
        {
            cancel.ThrowIfCancellationRequested();
            Array.Sort(xs, dirs, offset[r], offset[r + 1] - offset[r]);
            // A centre is inside when the crossings at or left of it wind above zero: [enter, leave) in x.
            var winding = 0;
            var enter = 0.0;
            for (var k = offset[r]; k < offset[r + 1]; k++)
            {
                var before = winding;
                winding += dirs[k];
                if (before <= 0 && winding > 0) enter = xs[k];
                else if (before > 0 && winding <= 0) AddSpan(spans, rowStart[r], enter, xs[k], window);
            }
            rowStart[r + 1] = spans.Count;
        }
        return (rowStart, spans.ToArray());
    }

    /// <summary>Pixel c is inside a span [x0, x1) when its centre c + 0.5 is; touching spans merge.</summary>
    private static void AddSpan(List<int> spans, int rowStart, double x0, double x1, Window window)
    {
        var c0 = (int)Math.Clamp(Math.Ceiling(x0 - 0.5), window.ColOff, window.ColEnd);
        var c1 = (int)Math.Clamp(Math.Ceiling(x1 - 0.5), window.ColOff, window.ColEnd);
        if (c1 <= c0) return;
        if (spans.Count > rowStart && spans[^1] >= c0) spans[^1] = Math.Max(spans[^1], c1);
        else { spans.Add(c0); spans.Add(c1); }
    }

    /// <summary>Calls <paramref name="crossing"/>(row in the window, x, winding direction) for every edge crossing a row centre of the window.</summary>
    private static void ForEachCrossing(List<Ring> rings, Window window, Action<int, double, sbyte> crossing, CancellationToken cancel)
    {
        foreach (var ring in rings)
        {
            cancel.ThrowIfCancellationRequested();
            for (var i = 0; i + 1 < ring.X.Length; i++)
            {
                double ax = ring.X[i], ay = ring.Y[i], bx = ring.X[i + 1], by = ring.Y[i + 1];
                if (ay == by) continue;
                // Rows whose centre yc satisfies min(ay, by) <= yc < max(ay, by).
                var r0 = (int)Math.Max(Math.Ceiling(Math.Min(ay, by) - 0.5), window.RowOff);
                var r1 = (int)Math.Min(Math.Ceiling(Math.Max(ay, by) - 0.5), window.RowEnd);
                var dir = (sbyte)(by > ay ? ring.Sign : -ring.Sign);
                for (var r = r0; r < r1; r++)
                {
                    var yc = r + 0.5;
                    crossing(r - window.RowOff, ax + (yc - ay) * (bx - ax) / (by - ay), dir);
                }
            }
        }
    }
}
