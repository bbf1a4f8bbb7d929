using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>
/// A netCDF / HDF5 file opened through GDAL's multidimensional API: groups, n-dimensional arrays and attributes, as
/// the file stores them (GDAL's 2-D raster view of such files loses the axis order and the groups). Errors name the
/// file and the object.
/// </summary>
internal sealed unsafe class GdalMultiDimFile : IDisposable
{
    private const uint OfMultiDimRaster = 0x10, OfUpdate = 0x01, OfVerboseError = 0x40;
    private nint _ds;

    public string Path { get; }
    public GdalGroup Root { get; }

    private GdalMultiDimFile(nint ds, string path)
    {
        _ds = ds;
        Path = path;
        var root = GdalNative.GDALDatasetGetRootGroup(ds);
        if (root == 0) { GdalNative.GDALClose(ds); throw new GdalOpenException("has no root group", path); }
        Root = new GdalGroup(root, path, "/");
    }

    /// <summary>Opens a file for reading (or update) as groups and arrays.</summary>
    /// <exception cref="GdalOpenException">Missing, truncated or not a multidimensional format.</exception>
    public static GdalMultiDimFile Open(string path, bool update = false)
    {
        GdalLibrary.ConfigureAll();
        if (!File.Exists(path)) throw new GdalOpenException("file not found", path);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALOpenEx(path, OfMultiDimRaster | OfVerboseError | (update ? OfUpdate : 0), 0, 0, 0);
        if (h == 0)
        {
            var msg = GdalLibrary.LastMessage();
            GdalNative.CPLErrorReset();
            throw new GdalOpenException($"cannot open as a multidimensional file (truncated or not netCDF/HDF5?): {msg}", path);
        }
        GdalNative.CPLErrorReset();
        return new GdalMultiDimFile(h, path);
    }

    /// <summary>Creates a new file with a driver's multidimensional API (e.g. "netCDF": a NetCDF-4 file, which is HDF5).</summary>
    public static GdalMultiDimFile Create(string driverName, string path)
    {
        GdalLibrary.ConfigureAll();
        var driver = GdalNative.GDALGetDriverByName(driverName);
        if (driver == 0) throw new GdalException($"GDAL has no {driverName} driver", path);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALCreateMultiDimensional(driver, path, 0, 0);
        if (h == 0) GdalLibrary.ThrowLast($"cannot create {driverName} file", path, io: true);
        GdalNative.CPLErrorReset();
        return new GdalMultiDimFile(h, path);
    }

    public void Dispose()
    {
        if (_ds == 0) return;
        Root.Dispose();
        GdalNative.GDALClose(_ds);
        _ds = 0;
    }
}

/// <summary>A group of a multidimensional file.</summary>
internal sealed unsafe class GdalGroup : IDisposable
{
    private nint _h;
    private readonly string _file;
    public string Name { get; }

    internal GdalGroup(nint h, string file, string name) { _h = h; _file = file; Name = name; }

    private string Child(string name) => Name == "/" ? "/" + name : Name + "/" + name;

    /// <summary>The sub-group, or null when absent.</summary>
    public GdalGroup? TryOpenGroup(string name)
    {
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALGroupOpenGroup(_h, name, 0);
        GdalNative.CPLErrorReset();
        return h == 0 ? null : new GdalGroup(h, _file, Child(name));
    }

    /// <summary>The array, or null when absent.</summary>
    public GdalMDArray? TryOpenArray(string name)
    {
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALGroupOpenMDArray(_h, name, 0);
        GdalNative.CPLErrorReset();
        return h == 0 ? null : new GdalMDArray(h, _file, Child(name));
    }

    public string? GetStringAttribute(string name) => Attributes.ReadString(GdalNative.GDALGroupGetAttribute(_h, name));
    public double[]? GetDoubleAttribute(string name) => Attributes.ReadDoubles(GdalNative.GDALGroupGetAttribute(_h, name));

    public GdalGroup CreateGroup(string name)
    {
        var h = GdalNative.GDALGroupCreateGroup(_h, name, 0);
        if (h == 0) GdalLibrary.ThrowLast($"cannot create group {Child(name)}", _file, io: true);
        return new GdalGroup(h, _file, Child(name));
    }

    /// <summary>Creates a dimension (released at once: arrays refer to it by handle only while they are created).</summary>
    public nint CreateDimension(string name, ulong size)
    {
        var h = GdalNative.GDALGroupCreateDimension(_h, name, null, null, size, 0);
        if (h == 0) GdalLibrary.ThrowLast($"cannot create dimension {name}", _file, io: true);
        return h;
    }

    public static void ReleaseDimension(nint dimension) => GdalNative.GDALDimensionRelease(dimension);

    public GdalMDArray CreateArray(string name, GdalDataType type, params nint[] dimensions)
    {
        var dt = GdalNative.GDALExtendedDataTypeCreate((int)type);
        try
        {
            fixed (nint* d = dimensions)
            {
                var h = GdalNative.GDALGroupCreateMDArray(_h, name, (nuint)dimensions.Length, d, dt, 0);
                if (h == 0) GdalLibrary.ThrowLast($"cannot create array {Child(name)}", _file, io: true);
                return new GdalMDArray(h, _file, Child(name));
            }
        }
        finally { GdalNative.GDALExtendedDataTypeRelease(dt); }
    }

    /// <summary>Creates a 1-D array of strings (NetCDF-4 NC_STRING) over <paramref name="dimension"/>.</summary>
    public GdalMDArray CreateStringArray(string name, nint dimension)
    {
        var dt = GdalNative.GDALExtendedDataTypeCreateString(0);
        try
        {
            var h = GdalNative.GDALGroupCreateMDArray(_h, name, 1, &dimension, dt, 0);
            if (h == 0) GdalLibrary.ThrowLast($"cannot create array {Child(name)}", _file, io: true);
            return new GdalMDArray(h, _file, Child(name));
        }
        finally { GdalNative.GDALExtendedDataTypeRelease(dt); }
    }

    public void SetAttribute(string name, string value)
    {
        var dt = GdalNative.GDALExtendedDataTypeCreateString(0);
        try
        {
            var a = GdalNative.GDALGroupCreateAttribute(_h, name, 0, null, dt, 0);
            if (a == 0) GdalLibrary.ThrowLast($"cannot create attribute {name}", _file, io: true);
            var ok = GdalNative.GDALAttributeWriteString(a, value);
            GdalNative.GDALAttributeRelease(a);
            if (ok == 0) GdalLibrary.ThrowLast($"cannot write attribute {name}", _file, io: true);
        }
        finally { GdalNative.GDALExtendedDataTypeRelease(dt); }
    }

    public void SetAttribute(string name, double[] values)
    {
        var dt = GdalNative.GDALExtendedDataTypeCreate((int)GdalDataType.Float64);
        try
        {
            var n = (ulong)values.Length;
            var a = GdalNative.GDALGroupCreateAttribute(_h, name, 1, &n, dt, 0);
            if (a == 0) GdalLibrary.ThrowLast($"cannot create attribute {name}", _file, io: true);
            int ok;
            fixed (double* v = values) ok = GdalNative.GDALAttributeWriteDoubleArray(a, v, (nuint)values.Length);
            GdalNative.GDALAttributeRelease(a);
            if (ok == 0) GdalLibrary.ThrowLast($"cannot write attribute {name}", _file, io: true);
        }
        finally { GdalNative.GDALExtendedDataTypeRelease(dt); }
    }

    public void Dispose()
    {
        if (_h == 0) return;
        GdalNative.GDALGroupRelease(_h);
        _h = 0;
    }
}

/// <summary>An n-dimensional array of a multidimensional file.</summary>
internal sealed unsafe class GdalMDArray : IDisposable
{
    private nint _h;
    private readonly string _file;
    /// <summary>The array's full name ("/location/glt_x"), for errors.</summary>
    public string Name { get; }

    internal GdalMDArray(nint h, string file, string name) { _h = h; _file = file; Name = name; }

    /// <summary>The size of each dimension, in the file's order.</summary>
    public ulong[] Shape
    {
        get
        {
            nuint n;
            var dims = GdalNative.GDALMDArrayGetDimensions(_h, &n);
            var shape = new ulong[(int)n];
            for (var i = 0; i < shape.Length; i++) shape[i] = GdalNative.GDALDimensionGetSize(dims[i]);
            GdalNative.GDALReleaseDimensions(dims, n);
            return shape;
        }
    }

    public double? NoData
    {
        get { int has; var v = GdalNative.GDALMDArrayGetNoDataValueAsDouble(_h, &has); return has != 0 ? v : null; }
        set { if (value is { } v) GdalLibrary.Check(GdalNative.GDALMDArraySetNoDataValueAsDouble(_h, v) == 0 ? 3 : 0, $"cannot set nodata of {Name}", _file); }
    }

    public string? GetStringAttribute(string name) => Attributes.ReadString(GdalNative.GDALMDArrayGetAttribute(_h, name));

    /// <summary>
    /// Reads the hyper-rectangle <paramref name="start"/> + <paramref name="count"/> (one entry per dimension) into
    /// <paramref name="buffer"/> as <typeparamref name="T"/>, row-major in the order of the dimensions.
    /// </summary>
    public void Read<T>(ulong[] start, ulong[] count, Span<T> buffer) where T : unmanaged => Transfer(false, start, count, buffer);

    public void Write<T>(ulong[] start, ulong[] count, ReadOnlySpan<T> buffer) where T : unmanaged =>
        Transfer(true, start, count, System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.CompilerServices.Unsafe.AsRef(in buffer[0]), buffer.Length));

    /// <summary>Every value of a 1-D array of strings (null where the file holds none).</summary>
    public string?[] ReadStrings()
    {
        var shape = Shape;
        if (shape.Length != 1) throw new ArgumentException($"{Name} has {shape.Length} dimensions; strings are read from 1-D arrays");
        var n = (int)shape[0];
        var pointers = new nint[n];
        var dt = GdalNative.GDALExtendedDataTypeCreateString(0);
        try
        {
            GdalNative.CPLErrorReset();
            ulong start = 0;
            var count = (nuint)n;
            nint stride = 1;
            int ok;
            fixed (nint* b = pointers) ok = GdalNative.GDALMDArrayRead(_h, &start, &count, null, &stride, dt, b, b, (nuint)(n * sizeof(nint)));
            if (ok == 0) GdalLibrary.ThrowLast($"cannot read {Name} (truncated file?)", _file, io: true);
            return pointers.Select(GdalNative.Str).ToArray();
        }
        finally
        {
            // GDAL allocated each string; the caller frees them.
            foreach (var q in pointers) if (q != 0) GdalNative.VSIFree(q);
            GdalNative.GDALExtendedDataTypeRelease(dt);
        }
    }

    /// <summary>Writes every value of a 1-D array of strings.</summary>
    public void WriteStrings(IReadOnlyList<string> values)
    {
        var pointers = values.Select(System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8).ToArray();
        var dt = GdalNative.GDALExtendedDataTypeCreateString(0);
        try
        {
            ulong start = 0;
            var count = (nuint)values.Count;
            nint stride = 1;
            int ok;
            fixed (nint* b = pointers) ok = GdalNative.GDALMDArrayWrite(_h, &start, &count, null, &stride, dt, b, b, (nuint)(pointers.Length * sizeof(nint)));
            if (ok == 0) GdalLibrary.ThrowLast($"cannot write {Name}", _file, io: true);
        }
        finally
        {
            foreach (var q in pointers) System.Runtime.InteropServices.Marshal.FreeCoTaskMem(q);
            GdalNative.GDALExtendedDataTypeRelease(dt);
        }
    }

    private void Transfer<T>(bool write, ulong[] start, ulong[] count, Span<T> buffer) where T : unmanaged
    {
        var n = start.Length;
        long total = 1;
        foreach (var c in count) total *= (long)c;
        if (buffer.Length < total) throw new ArgumentException($"buffer holds {buffer.Length} values, the read needs {total}");
        var type = typeof(T) == typeof(float) ? GdalDataType.Float32 : typeof(T) == typeof(double) ? GdalDataType.Float64
            : typeof(T) == typeof(int) ? GdalDataType.Int32 : typeof(T) == typeof(short) ? GdalDataType.Int16
            : typeof(T) == typeof(byte) ? GdalDataType.Byte : throw new ArgumentException($"no GDAL type for {typeof(T).Name}");
        var counts = new nuint[n];
        var strides = new nint[n];
        long stride = 1;
        for (var i = n - 1; i >= 0; i--) { counts[i] = (nuint)count[i]; strides[i] = (nint)stride; stride *= (long)count[i]; }
        var dt = GdalNative.GDALExtendedDataTypeCreate((int)type);
        try
        {
            GdalNative.CPLErrorReset();
            int ok;
            fixed (ulong* s = start)
            fixed (nuint* c = counts)
            fixed (nint* st = strides)
            fixed (T* b = buffer)
                ok = write
                    ? GdalNative.GDALMDArrayWrite(_h, s, c, null, st, dt, b, b, (nuint)(buffer.Length * sizeof(T)))
                    : GdalNative.GDALMDArrayRead(_h, s, c, null, st, dt, b, b, (nuint)(buffer.Length * sizeof(T)));
            if (ok == 0) GdalLibrary.ThrowLast($"cannot {(write ? "write" : "read")} {Name} (truncated file?)", _file, io: true);
            GdalNative.CPLErrorReset();
        }
        finally { GdalNative.GDALExtendedDataTypeRelease(dt); }
    }

    public void Dispose()
    {
        if (_h == 0) return;
        GdalNative.GDALMDArrayRelease(_h);
        _h = 0;
    }
}

internal static unsafe class Attributes
{
    public static string? ReadString(nint a)
    {
        GdalNative.CPLErrorReset();
        if (a == 0) return null;
        try { return GdalNative.Str(GdalNative.GDALAttributeReadAsString(a)); }
        finally { GdalNative.GDALAttributeRelease(a); GdalNative.CPLErrorReset(); }
    }

    public static double[]? ReadDoubles(nint a)
    {
        GdalNative.CPLErrorReset();
        if (a == 0) return null;
        try
        {
            nuint n;
            var p = GdalNative.GDALAttributeReadAsDoubleArray(a, &n);
            if (p == null) return null;
            var values = new ReadOnlySpan<double>(p, (int)n).ToArray();
            GdalNative.VSIFree((nint)p);
            return values;
        }
        finally { GdalNative.GDALAttributeRelease(a); GdalNative.CPLErrorReset(); }
    }
}
