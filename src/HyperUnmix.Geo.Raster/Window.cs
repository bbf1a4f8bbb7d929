namespace HyperUnmix.Geo.Raster;

/// <summary>A rectangle of pixels: column/row offset and size (rasterio's Window).</summary>
/// <param name="ColOff">The first column, 0-based.</param>
/// <param name="RowOff">The first row, 0-based.</param>
/// <param name="Width">Number of columns.</param>
/// <param name="Height">Number of rows.</param>
public readonly record struct Window(int ColOff, int RowOff, int Width, int Height)
{
    /// <summary>Number of pixels, Width x Height.</summary>
    public long Area => (long)Width * Height;
    /// <summary>True when the window holds no pixel (zero or negative width or height).</summary>
    public bool IsEmpty => Width <= 0 || Height <= 0;
    /// <summary>The column just past the window (exclusive end).</summary>
    public int ColEnd => ColOff + Width;
    /// <summary>The row just past the window (exclusive end).</summary>
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

    /// <summary>True when <paramref name="inner"/> lies entirely within this window (edges may coincide).</summary>
    public bool Contains(Window inner) =>
        inner.ColOff >= ColOff && inner.RowOff >= RowOff && inner.ColEnd <= ColEnd && inner.RowEnd <= RowEnd;

    /// <summary>The window as "x=ColOff y=RowOff WidthxHeight", for messages.</summary>
    public override string ToString() => $"x={ColOff} y={RowOff} {Width}x{Height}";
}

/// <summary>One work item of a tile plan: its position in the grid and its window in the raster.</summary>
/// <param name="Index">The tile's number in the plan, row-major from 0.</param>
/// <param name="GridRow">The row of the tile grid, from 0.</param>
/// <param name="GridCol">The column of the tile grid, from 0.</param>
/// <param name="Window">The pixels the tile covers, in the raster's coordinates (clipped at the area's edges).</param>
public readonly record struct Tile(int Index, int GridRow, int GridCol, Window Window);

/// <summary>
/// A grid of windows covering an area of a raster exactly once, row-major, edge tiles clipped (rasterio's
/// block_windows). The grid is anchored at the area's origin.
/// </summary>
public sealed class TilePlan
{
    /// <summary>Tiles of <paramref name="tileWidth"/> x <paramref name="tileHeight"/> pixels (each capped at the area's size) over <paramref name="area"/>.</summary>
    /// <exception cref="ArgumentException">The area is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A tile dimension is below 1.</exception>
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

    /// <summary>The area of the raster the plan covers.</summary>
    public Window Area { get; }
    /// <summary>Width of a full tile in pixels (edge tiles may be narrower).</summary>
    public int TileWidth { get; }
    /// <summary>Height of a full tile in pixels (edge tiles may be shorter).</summary>
    public int TileHeight { get; }
    /// <summary>Tiles per row of the grid.</summary>
    public int Columns { get; }
    /// <summary>Rows of tiles in the grid.</summary>
    public int Rows { get; }
    /// <summary>Number of tiles, Columns x Rows.</summary>
    public int Count => Columns * Rows;

    /// <summary>The tile numbered <paramref name="index"/> (row-major, 0 to Count - 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the plan.</exception>
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

    /// <summary>Every tile, in index (row-major) order.</summary>
    public IEnumerable<Tile> Tiles()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }
}
