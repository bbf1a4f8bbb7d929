namespace HyperUnmix.Geo.Gdal;

/// <summary>GDAL's pixel data types (the values of the C enum GDALDataType). A scene is read as 32-bit floats whatever its type; the complex types and Unknown are refused.</summary>
public enum GdalDataType
{
    /// <summary>GDT_Unknown: GDAL does not know the type; a scene of this type is refused.</summary>
    Unknown = 0,
    /// <summary>GDT_Byte: unsigned 8-bit integer.</summary>
    Byte = 1,
    /// <summary>GDT_UInt16: unsigned 16-bit integer.</summary>
    UInt16 = 2,
    /// <summary>GDT_Int16: signed 16-bit integer.</summary>
    Int16 = 3,
    /// <summary>GDT_UInt32: unsigned 32-bit integer.</summary>
    UInt32 = 4,
    /// <summary>GDT_Int32: signed 32-bit integer.</summary>
    Int32 = 5,
    /// <summary>GDT_Float32: 32-bit IEEE floating point.</summary>
    Float32 = 6,
    /// <summary>GDT_Float64: 64-bit IEEE floating point.</summary>
    Float64 = 7,
    /// <summary>GDT_CInt16: complex, a pair of signed 16-bit integers; a scene of this type is refused (cubes must be real-valued).</summary>
    CInt16 = 8,
    /// <summary>GDT_CInt32: complex, a pair of signed 32-bit integers; a scene of this type is refused (cubes must be real-valued).</summary>
    CInt32 = 9,
    /// <summary>GDT_CFloat32: complex, a pair of 32-bit floats; a scene of this type is refused (cubes must be real-valued).</summary>
    CFloat32 = 10,
    /// <summary>GDT_CFloat64: complex, a pair of 64-bit floats; a scene of this type is refused (cubes must be real-valued).</summary>
    CFloat64 = 11,
    /// <summary>GDT_UInt64: unsigned 64-bit integer (GDAL 3.5 and later).</summary>
    UInt64 = 12,
    /// <summary>GDT_Int64: signed 64-bit integer (GDAL 3.5 and later).</summary>
    Int64 = 13,
    /// <summary>GDT_Int8: signed 8-bit integer (GDAL 3.7 and later).</summary>
    Int8 = 14,
}

/// <summary>Whether a dataset is opened for reading or for update.</summary>
internal enum GdalAccess { ReadOnly = 0, Update = 1 }
