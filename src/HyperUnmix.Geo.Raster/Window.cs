namespace HyperUnmix.Geo.Raster;

/// <summary>A rectangle of pixels: column/row offset and size (rasterio's Window).</summary>
public readonly record struct Window(int ColOff, int RowOff, int Width, int Height)
{
    public long Area => (long)Width * Height;
    public bool IsEmpty => Width <= 0 || Height <= 0;
    public int ColEnd => ColOff + Width;
    public int RowEnd => RowOff + Height;

    /// <summary>The overlap of two windows (empty when they do not touch).</summary>
    public Window Intersect(Window other)
    {
        var c0 = Math.Max(ColOff, other.ColOff);
        var r0 = Math.Max(RowOff, other.RowOff);
        var c1 = Math.Min(ColEnd, other.ColEnd);
        var r1 = Math.Min(RowEnd, other.RowEnd);
        return c1 > c0 && r1 > r0 ? new Window(c0, r0, c1 - c0, r1 - r0) : default;
    }

    /// <summary>This window expressed relative to the origin of <paramref name="outer"/>.</summary>
    public Window RelativeTo(Window outer) => this with { ColOff = ColOff - outer.ColOff, RowOff = RowOff - outer.RowOff };

    public bool Contains(Window inner) =>
        inner.ColOff >= ColOff && inner.RowOff >= RowOff && inner.ColEnd <= ColEnd && inner.RowEnd <= RowEnd;

    public override string ToString() => $"x={ColOff} y={RowOff} {Width}x{Height}";
}

/// <summary>One work item of a tile plan: its position in the grid and its window in the raster.</summary>
public readonly record struct Tile(int Index, int GridRow, int GridCol, Window Window);

/// <summary>
/// A grid of windows covering an area of a raster exactly once, row-major, edge tiles clipped (rasterio's
/// block_windows). The grid is anchored at the area's origin.
/// </summary>
public sealed class TilePlan
{
    public TilePlan(Window area, int tileWidth, int tileHeight)
    {
        if (area.IsEmpty) throw new ArgumentException($"cannot tile an empty area ({area})", nameof(area));
        if (tileWidth < 1 || tileHeight < 1)
            throw new ArgumentOutOfRangeException(nameof(tileWidth), $"tile size must be positive, got {tileWidth}x{tileHeight}");
        Area = area;
        TileWidth = Math.Min(tileWidth, area.Width);
        TileHeight = Math.Min(tileHeight, area.Height);
        Columns = (area.Width + TileWidth - 1) / TileWidth;
        Rows = (area.Height + TileHeight - 1) / TileHeight;
    }

    /// <summary>Square tiles of <paramref name="size"/> over a whole raster.</summary>
    public static TilePlan ForRaster(int width, int height, int size) => new(new Window(0, 0, width, height), size, size);

    public Window Area { get; }
    public int TileWidth { get; }
    public int TileHeight { get; }
    public int Columns { get; }
    public int Rows { get; }
    public int Count => Columns * Rows;

    public Tile this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"plan has {Count} tiles");
            int gr = index / Columns, gc = index % Columns;
            var c0 = Area.ColOff + gc * TileWidth;
            var r0 = Area.RowOff + gr * TileHeight;
            return new Tile(index, gr, gc, new Window(c0, r0, Math.Min(TileWidth, Area.ColEnd - c0), Math.Min(TileHeight, Area.RowEnd - r0)));
        }
    }

    public IEnumerable<Tile> Tiles()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }
}
