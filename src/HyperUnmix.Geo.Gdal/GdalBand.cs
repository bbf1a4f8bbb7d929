using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>A raster band. It keeps its dataset alive while it is used, as GDAL bands belong to their dataset.</summary>
internal sealed unsafe class GdalBand
{
    private readonly GdalDataset _dataset;
    private readonly nint _band;

    internal GdalBand(GdalDataset dataset, nint band, int index)
    {
        _dataset = dataset;
        _band = band;
        Index = index;
    }

    /// <summary>1-based band number.</summary>
    public int Index { get; }

    public GdalDataType DataType => _dataset.Use(() => (GdalDataType)GdalNative.GDALGetRasterDataType(_band));

    public string Description
    {
        get => _dataset.Use(() => GdalNative.Str(GdalNative.GDALGetDescription(_band)) ?? "");
        set => _dataset.Use(() => { GdalNative.GDALSetDescription(_band, value); return 0; });
    }

    public double? NoData
    {
        get => _dataset.Use(() => { int ok; var v = GdalNative.GDALGetRasterNoDataValue(_band, &ok); return ok != 0 ? v : (double?)null; });
    }

    public void SetNoData(double value) =>
        _dataset.Use(() => { GdalLibrary.Check(GdalNative.GDALSetRasterNoDataValue(_band, value), "cannot set nodata", _dataset.Path); return 0; });

    public double? Scale => _dataset.Use(() => { int ok; var v = GdalNative.GDALGetRasterScale(_band, &ok); return ok != 0 ? v : (double?)null; });

    public double? Offset => _dataset.Use(() => { int ok; var v = GdalNative.GDALGetRasterOffset(_band, &ok); return ok != 0 ? v : (double?)null; });

    /// <summary>Sets the factor and offset that turn stored values into physical ones (value * scale + offset).</summary>
    public void SetScaleOffset(double scale, double offset) => _dataset.Use(() =>
    {
        GdalLibrary.Check(GdalNative.GDALSetRasterScale(_band, scale), "cannot set scale", _dataset.Path);
        GdalLibrary.Check(GdalNative.GDALSetRasterOffset(_band, offset), "cannot set offset", _dataset.Path);
        return 0;
    });

    public (int X, int Y) BlockSize => _dataset.Use(() => { int x, y; GdalNative.GDALGetBlockSize(_band, &x, &y); return (x, y); });

    public string? GetMetadataItem(string name, string? domain = null) =>
        _dataset.Use(() => GdalNative.Str(GdalNative.GDALGetMetadataItem(_band, name, domain)));

    public void SetMetadataItem(string name, string value, string? domain = null) =>
        _dataset.Use(() => { GdalLibrary.Check(GdalNative.GDALSetMetadataItem(_band, name, value, domain), $"cannot set band metadata {name}", _dataset.Path); return 0; });

    public Dictionary<string, string> GetMetadata(string? domain = null) =>
        _dataset.Use(() => GdalDataset.ParseMetadata(GdalNative.GDALGetMetadata(_band, domain)));
}
