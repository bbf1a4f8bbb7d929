namespace HyperUnmix.Geo.Gdal;

/// <summary>GDAL's pixel data types (the values of the C enum GDALDataType).</summary>
public enum GdalDataType
{
    Unknown = 0, Byte = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Float64 = 7,
    CInt16 = 8, CInt32 = 9, CFloat32 = 10, CFloat64 = 11, UInt64 = 12, Int64 = 13, Int8 = 14,
}

/// <summary>Whether a dataset is opened for reading or for update.</summary>
internal enum GdalAccess { ReadOnly = 0, Update = 1 }
