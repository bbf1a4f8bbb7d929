using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// Orthorectification through a geometric lookup table (EMIT's <c>location/glt_x, glt_y</c>, AVIRIS' <c>*_glt</c>),
/// which GDAL 3.6 cannot do: for each map cell, the 1-based column and row of the sensor pixel that lies there, 0 where
/// none does, negative where the cell was filled from its nearest neighbour (the magnitude is the pixel). The
/// orthorectified cube is a temporary float32 GeoTIFF, <see cref="Fill"/> where no pixel lies or the source's own
/// fill value is.
/// </summary>
internal sealed class GltOrtho : IDisposable
{
    public const float Fill = -9999f;

    /// <summary>
    /// For each map cell (row-major), the sensor pixel (row x <paramref name="cols"/> + col) that lies there, or -1.
    /// A pixel outside the image is a <see cref="RasterDataException"/> naming the table's field
    /// (<paramref name="colField"/>, <paramref name="rowField"/>) and the map cell.
    /// </summary>
    public static int[] Index(string path, ReadOnlySpan<int> colTable, ReadOnlySpan<int> rowTable, int mapWidth, int cols, int rows,
        string colField, string colUnits, string rowField, string rowUnits)
    {
        var index = new int[colTable.Length];
        for (var i = 0; i < index.Length; i++)
        {
            int x = Math.Abs(colTable[i]), y = Math.Abs(rowTable[i]);
            if (x == 0 || y == 0) { index[i] = -1; continue; }
            if (x > cols)
                throw new RasterDataException(path, string.Create(CultureInfo.InvariantCulture,
                    $"{colField} at map cell (col {i % mapWidth}, row {i / mapWidth}) is {colTable[i]}, outside the image's {cols} {colUnits}"));
            if (y > rows)
                throw new RasterDataException(path, string.Create(CultureInfo.InvariantCulture,
                    $"{rowField} at map cell (col {i % mapWidth}, row {i / mapWidth}) is {rowTable[i]}, outside the image's {rows} {rowUnits}"));
            index[i] = (y - 1) * cols + (x - 1);
        }
        return index;
    }

    private readonly GdalDataset _ds;
    private readonly int[] _index;
    private readonly int _width, _height;
    private readonly float[] _map;

    /// <summary>Creates the orthorectified cube <paramref name="path"/> on the map grid <paramref name="index"/> covers.</summary>
    public GltOrtho(string path, int[] index, int width, int height, int bands, double[]? geoTransform, string crsWkt)
    {
        _index = index;
        _width = width;
        _height = height;
        _map = new float[width * height];
        _ds = GdalDataset.Create("GTiff", path, width, height, bands, GdalDataType.Float32, ["INTERLEAVE=BAND"]);
        if (geoTransform is not null) _ds.SetGeoTransform(geoTransform);
        _ds.SetProjection(crsWkt);
    }

    /// <summary>
    /// Writes 0-based <paramref name="band"/>: sensor pixel k's value is <paramref name="swath"/>[k x
    /// <paramref name="stride"/> + <paramref name="offset"/>]; NaN and <paramref name="sourceFill"/> become <see cref="Fill"/>.
    /// </summary>
    public unsafe void WriteBand(int band, ReadOnlySpan<float> swath, int stride, int offset, float? sourceFill)
    {
        for (var i = 0; i < _map.Length; i++)
        {
            var v = _index[i] < 0 ? Fill : swath[_index[i] * stride + offset];
            _map[i] = float.IsNaN(v) || sourceFill is { } f && v == f ? Fill : v;
        }
        _ds.GetBand(band + 1).SetNoData(Fill);
        fixed (float* p = _map) _ds.RasterIO(true, 0, 0, _width, _height, p, GdalDataType.Float32, [band + 1], 4, 4L * _width, 4L * _width * _height);
    }

    /// <summary>Flushes the cube; throws if GDAL failed writing it.</summary>
    public void Complete() => _ds.Close();

    public void Dispose() => _ds.Dispose();
}
