using System.Reflection;
using System.Runtime.InteropServices;
using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>
/// Finds and configures the system GDAL library. Call <see cref="ConfigureAll"/> once (it is idempotent and
/// thread-safe), then use <see cref="GdalDataset.Open"/> and friends.
/// </summary>
/// <remarks>
/// The library is looked up in this order: the path in the environment variable <c>HYPERUNMIX_GDAL_LIBRARY</c>,
/// <c>libgdal.so</c> (present with -dev packages), then the versioned sonames <c>libgdal.so.38</c> down to
/// <c>libgdal.so.26</c> (Debian 12 ships GDAL 3.6 as <c>libgdal.so.32</c>), then macOS/Windows names.
/// </remarks>
internal static unsafe partial class GdalLibrary
{
    /// <summary>Environment variable naming the GDAL shared library to load.</summary>
    public const string LibraryVariable = "HYPERUNMIX_GDAL_LIBRARY";

    private static readonly Lock Gate = new();
    private static bool _configured;
    private static nint _handle;

    /// <summary>Receives GDAL's warnings and non-fatal messages (instead of GDAL printing them on stderr).</summary>
    public static event Action<string>? Warning;

    /// <summary>The loaded library's path or soname.</summary>
    public static string? LoadedLibrary { get; private set; }

    /// <summary>GDAL's release name, e.g. "3.6.2".</summary>
    public static string Version
    {
        get { ConfigureAll(); return GdalNative.Str(GdalNative.GDALVersionInfo("RELEASE_NAME")) ?? "?"; }
    }

    /// <summary>Loads GDAL, registers all drivers and routes GDAL's messages to <see cref="Warning"/>.</summary>
    /// <exception cref="GdalNotInstalledException">No usable libgdal was found.</exception>
    public static void ConfigureAll()
    {
        if (Volatile.Read(ref _configured)) return;
        lock (Gate)
        {
            if (_configured) return;
            NativeLibrary.SetDllImportResolver(typeof(GdalLibrary).Assembly, Resolve);
            try
            {
                GdalNative.GDALAllRegister();
            }
            catch (DllNotFoundException e)
            {
                throw new GdalNotInstalledException(
                    "GDAL was not found. Install it (Debian/Ubuntu: sudo apt-get install gdal-bin) " +
                    $"or set {LibraryVariable} to the path of libgdal.", e);
            }
            GdalNative.CPLSetErrorHandler(&OnError);
            // HDF5 (EMIT and other NetCDF-4 files, PRISMA) takes flock() locks on every file it opens, exclusive for
            // a file it writes. We only read HDF5, and a lock left by a handle not yet released (another thread, a
            // file written just before) made a following open fail with "used by another process" now and then
            // under load. Off for this process unless the user set it; HDF5 reads the variable at each open.
            if (OperatingSystem.IsLinux()) _ = setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
            // Multi-band reads of pixel-interleaved files are far faster with a cache that holds a row of tiles.
            GdalNative.CPLSetConfigOption("GDAL_CACHEMAX", Environment.GetEnvironmentVariable("GDAL_CACHEMAX") ?? "512");
            Volatile.Write(ref _configured, true);
        }
    }

    /// <summary>The C library's setenv (the runtime's Environment.SetEnvironmentVariable does not reach native getenv).</summary>
    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != GdalNative.Lib) return 0;
        if (_handle != 0) return _handle;
        foreach (var candidate in Candidates())
        {
            if (NativeLibrary.TryLoad(candidate, out var h))
            {
                LoadedLibrary = candidate;
                return _handle = h;
            }
        }
        return 0;
    }

    private static IEnumerable<string> Candidates()
    {
        var configured = Environment.GetEnvironmentVariable(LibraryVariable);
        if (!string.IsNullOrWhiteSpace(configured)) { yield return configured; yield break; }
        yield return "libgdal.so";
        for (var v = 38; v >= 26; v--) yield return $"libgdal.so.{v}";
        yield return "libgdal.dylib";
        yield return "gdal.dll";
    }

    [UnmanagedCallersOnly]
    private static void OnError(int errClass, int errNo, nint message)
    {
        // CE_Debug = 1, CE_Warning = 2; failures (3, 4) are read back by the checked wrappers and thrown.
        if (errClass is 1 or 2)
        {
            try { Warning?.Invoke(GdalNative.Str(message) ?? ""); }
            catch (Exception) { /* a logging failure must never unwind into native code */ }
        }
    }

    /// <summary>Throws when GDAL recorded a failure since the last reset, then resets the error state.</summary>
    internal static void Check(int cplErr, string what, string? path)
    {
        if (cplErr >= 3) ThrowLast(what, path, io: true);
        GdalNative.CPLErrorReset();
    }

    internal static string LastMessage()
    {
        var msg = GdalNative.Str(GdalNative.CPLGetLastErrorMsg());
        return string.IsNullOrWhiteSpace(msg) ? "unknown GDAL error" : msg;
    }

    internal static Exception LastError(string what, string? path, bool io)
    {
        var no = GdalNative.CPLGetLastErrorNo();
        var msg = $"{what}: {LastMessage()}";
        GdalNative.CPLErrorReset();
        return io ? new GdalIOException(msg, path, no) : new GdalException(msg, path, no);
    }

    internal static void ThrowLast(string what, string? path, bool io) => throw LastError(what, path, io);
}
