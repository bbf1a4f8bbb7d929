using System.Runtime.InteropServices;

namespace HyperUnmix.Geo.Gdal.Native;

/// <summary>Raw declarations of the GDAL C API (GDAL 3.4+). Only the checked wrappers in this assembly call them.</summary>
internal static unsafe partial class GdalNative
{
    internal const string Lib = "gdal";

    [LibraryImport(Lib)] internal static partial void GDALAllRegister();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALOpenEx(string path, uint flags, nint allowedDrivers, nint openOptions, nint siblingFiles);
    [LibraryImport(Lib)] internal static partial void GDALClose(nint ds);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterXSize(nint ds);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterYSize(nint ds);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterCount(nint ds);
    [LibraryImport(Lib)] internal static partial nint GDALGetRasterBand(nint ds, int band);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterDataType(nint band);
    [LibraryImport(Lib)] internal static partial int GDALGetDataTypeSizeBytes(int type);
    [LibraryImport(Lib)] internal static partial int GDALGetGeoTransform(nint ds, double* transform);
    [LibraryImport(Lib)] internal static partial int GDALSetGeoTransform(nint ds, double* transform);
    [LibraryImport(Lib)] internal static partial nint GDALGetProjectionRef(nint ds);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int GDALSetProjection(nint ds, string wkt);
    [LibraryImport(Lib)] internal static partial double GDALGetRasterNoDataValue(nint band, int* success);
    [LibraryImport(Lib)] internal static partial int GDALSetRasterNoDataValue(nint band, double value);
    [LibraryImport(Lib)] internal static partial double GDALGetRasterScale(nint band, int* success);
    [LibraryImport(Lib)] internal static partial double GDALGetRasterOffset(nint band, int* success);
    [LibraryImport(Lib)] internal static partial int GDALSetRasterScale(nint band, double scale);
    [LibraryImport(Lib)] internal static partial int GDALSetRasterOffset(nint band, double offset);
    [LibraryImport(Lib)] internal static partial nint GDALGetDescription(nint obj);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial void GDALSetDescription(nint obj, string description);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGetMetadataItem(nint obj, string name, string? domain);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int GDALSetMetadataItem(nint obj, string name, string value, string? domain);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGetMetadata(nint obj, string? domain);
    [LibraryImport(Lib)]
    internal static partial int GDALDatasetRasterIOEx(nint ds, int rwFlag, int xOff, int yOff, int xSize, int ySize, void* data,
        int bufXSize, int bufYSize, int bufType, int bandCount, int* bandMap, long pixelSpace, long lineSpace, long bandSpace, nint extraArg);
    [LibraryImport(Lib)] internal static partial void GDALGetBlockSize(nint band, int* x, int* y);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGetDriverByName(string name);
    [LibraryImport(Lib)] internal static partial nint GDALGetDatasetDriver(nint ds);
    [LibraryImport(Lib)] internal static partial nint GDALGetDriverShortName(nint driver);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALCreate(nint driver, string path, int xSize, int ySize, int bands, int type, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALCreateCopy(nint driver, string path, nint source, int strict, nint options, nint progress, nint progressArg);
    [LibraryImport(Lib)] internal static partial nint GDALGetFileList(nint ds);
    [LibraryImport(Lib)] internal static partial void CSLDestroy(nint list);
    [LibraryImport(Lib)] internal static partial void VSIFree(nint p);
    [LibraryImport(Lib)] internal static partial int CPLGetLastErrorNo();
    [LibraryImport(Lib)] internal static partial int CPLGetLastErrorType();
    [LibraryImport(Lib)] internal static partial nint CPLGetLastErrorMsg();
    [LibraryImport(Lib)] internal static partial void CPLErrorReset();
    [LibraryImport(Lib)] internal static partial nint CPLSetErrorHandler(delegate* unmanaged<int, int, nint, void> handler);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALVersionInfo(string request);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial void CPLSetConfigOption(string key, string? value);

    // Multidimensional API (GDAL 3.1+): groups, arrays, attributes of netCDF / HDF5 files.
    [LibraryImport(Lib)] internal static partial nint GDALDatasetGetRootGroup(nint ds);
    [LibraryImport(Lib)] internal static partial void GDALGroupRelease(nint group);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGroupOpenGroup(nint group, string name, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGroupOpenMDArray(nint group, string name, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGroupGetAttribute(nint group, string name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALGroupCreateGroup(nint group, string name, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALGroupCreateDimension(nint group, string name, string? type, string? direction, ulong size, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALGroupCreateMDArray(nint group, string name, nuint dimensionCount, nint* dimensions, nint dataType, nint options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALGroupCreateAttribute(nint group, string name, nuint dimensionCount, ulong* dimensions, nint dataType, nint options);
    [LibraryImport(Lib)] internal static partial void GDALMDArrayRelease(nint array);
    [LibraryImport(Lib)] internal static partial nint* GDALMDArrayGetDimensions(nint array, nuint* count);
    [LibraryImport(Lib)] internal static partial void GDALReleaseDimensions(nint* dimensions, nuint count);
    [LibraryImport(Lib)] internal static partial ulong GDALDimensionGetSize(nint dimension);
    [LibraryImport(Lib)] internal static partial void GDALDimensionRelease(nint dimension);
    [LibraryImport(Lib)]
    internal static partial int GDALMDArrayRead(nint array, ulong* start, nuint* count, long* step, nint* bufferStride, nint bufferType,
        void* buffer, void* bufferAllocStart, nuint bufferAllocSize);
    [LibraryImport(Lib)]
    internal static partial int GDALMDArrayWrite(nint array, ulong* start, nuint* count, long* step, nint* bufferStride, nint bufferType,
        void* buffer, void* bufferAllocStart, nuint bufferAllocSize);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALMDArrayGetAttribute(nint array, string name);
    [LibraryImport(Lib)] internal static partial double GDALMDArrayGetNoDataValueAsDouble(nint array, int* hasNoData);
    [LibraryImport(Lib)] internal static partial int GDALMDArraySetNoDataValueAsDouble(nint array, double value);
    [LibraryImport(Lib)] internal static partial void GDALAttributeRelease(nint attribute);
    [LibraryImport(Lib)] internal static partial nint GDALAttributeReadAsString(nint attribute);
    [LibraryImport(Lib)] internal static partial double* GDALAttributeReadAsDoubleArray(nint attribute, nuint* count);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int GDALAttributeWriteString(nint attribute, string value);
    [LibraryImport(Lib)] internal static partial int GDALAttributeWriteDoubleArray(nint attribute, double* values, nuint count);
    [LibraryImport(Lib)] internal static partial nint GDALExtendedDataTypeCreate(int type);
    [LibraryImport(Lib)] internal static partial nint GDALExtendedDataTypeCreateString(nuint maxLength);
    [LibraryImport(Lib)] internal static partial void GDALExtendedDataTypeRelease(nint dataType);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GDALCreateMultiDimensional(nint driver, string path, nint rootGroupOptions, nint options);

    // OSR
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint OSRNewSpatialReference(string? wkt);
    [LibraryImport(Lib)] internal static partial void OSRDestroySpatialReference(nint srs);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int OSRSetFromUserInput(nint srs, string definition);
    [LibraryImport(Lib)] internal static partial int OSRExportToWkt(nint srs, nint* wkt);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint OSRGetAuthorityCode(nint srs, string? key);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint OSRGetAuthorityName(nint srs, string? key);
    [LibraryImport(Lib)] internal static partial int OSRAutoIdentifyEPSG(nint srs);
    [LibraryImport(Lib)] internal static partial void OSRSetAxisMappingStrategy(nint srs, int strategy);
    [LibraryImport(Lib)] internal static partial int OSRIsSame(nint a, nint b);
    [LibraryImport(Lib)] internal static partial int OSRIsProjected(nint srs);
    [LibraryImport(Lib)] internal static partial nint OCTNewCoordinateTransformation(nint source, nint target);
    [LibraryImport(Lib)] internal static partial void OCTDestroyCoordinateTransformation(nint ct);
    [LibraryImport(Lib)] internal static partial int OCTTransform(nint ct, int count, double* x, double* y, double* z);

    // OGR (vector layers for regions of interest)
    [LibraryImport(Lib)] internal static partial int GDALDatasetGetLayerCount(nint ds);
    [LibraryImport(Lib)] internal static partial nint GDALDatasetGetLayer(nint ds, int index);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint GDALDatasetGetLayerByName(nint ds, string name);
    [LibraryImport(Lib)] internal static partial nint OGR_L_GetSpatialRef(nint layer);
    [LibraryImport(Lib)] internal static partial void OGR_L_ResetReading(nint layer);
    [LibraryImport(Lib)] internal static partial nint OGR_L_GetNextFeature(nint layer);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int OGR_L_SetAttributeFilter(nint layer, string? filter);
    [LibraryImport(Lib)] internal static partial nint OGR_L_GetName(nint layer);
    [LibraryImport(Lib)] internal static partial nint OGR_F_GetGeometryRef(nint feature);
    [LibraryImport(Lib)] internal static partial long OGR_F_GetFID(nint feature);
    [LibraryImport(Lib)] internal static partial void OGR_F_Destroy(nint feature);
    [LibraryImport(Lib)] internal static partial int OGR_G_WkbSize(nint geometry);
    [LibraryImport(Lib)] internal static partial int OGR_G_ExportToWkb(nint geometry, int byteOrder, byte* buffer);
    // OGR attributes (spectral libraries stored as vector layers)
    [LibraryImport(Lib)] internal static partial int OGR_F_GetFieldCount(nint feature);
    [LibraryImport(Lib)] internal static partial nint OGR_F_GetFieldDefnRef(nint feature, int index);
    [LibraryImport(Lib)] internal static partial nint OGR_Fld_GetNameRef(nint fieldDefn);
    [LibraryImport(Lib)] internal static partial int OGR_Fld_GetType(nint fieldDefn);
    [LibraryImport(Lib)] internal static partial int OGR_F_IsFieldSetAndNotNull(nint feature, int index);
    [LibraryImport(Lib)] internal static partial nint OGR_F_GetFieldAsString(nint feature, int index);
    [LibraryImport(Lib)] internal static partial byte* OGR_F_GetFieldAsBinary(nint feature, int index, int* count);

    internal static string? Str(nint p) => p == 0 ? null : Marshal.PtrToStringUTF8(p);

    internal static List<string> StringList(nint list)
    {
        var result = new List<string>();
        if (list == 0) return result;
        for (var p = (nint*)list; *p != 0; p++) result.Add(Marshal.PtrToStringUTF8(*p)!);
        return result;
    }
}
