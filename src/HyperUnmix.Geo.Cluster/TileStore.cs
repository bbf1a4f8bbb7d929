using System.Runtime.InteropServices;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// The files of a job in its shared folder (<c>OUTDIR/.hyperunmix/JOB</c>): one folder per scene with its plan (and
/// the plan's model), and one file per finished tile. Every file is published atomically and first-writer-wins: it
/// is written under a temporary name and hard-linked to its final name, which fails if the name exists (a rename
/// would replace it, and File.Move(overwrite: false) checks and then renames, which races). A tile computed twice
/// (a duplicate delivery, a worker declared dead that was only slow) is therefore published once; the second copy
/// is dropped. Pixels travel through these files, never through Orleans messages.
/// <para>
/// A scene's folder is created and removed only by its job's coordinator, in the turn that hands out its first plan
/// and in the turn that marks it finished: the coordinator's turns are serial, so no folder is created for a finished
/// scene. Workers never create a folder that they did not find: a planner makes its own attempt folder with a
/// non-recursive mkdir, and a tile is written into the existing tiles folder. A scene is removed by renaming its
/// folder away first (atomic) and deleting the renamed folder: a late duplicate of a finished scene's plan or tile
/// resolves its paths through the scene's name, which no longer exists, so it can create nothing, neither in the
/// job's folder nor in the folder being deleted.
/// </para>
/// </summary>
public static partial class TileStore
{
    private static ReadOnlySpan<byte> Magic => "HUTILE1\n"u8;

    public static string StateDir(string outDir, string job) => Path.Combine(Path.GetFullPath(outDir), ".hyperunmix", job);
    public static string SceneDir(string stateDir, int scene) => Path.Combine(stateDir, $"scene-{scene + 1:D4}");
    public static string PlanFile(string stateDir, int scene) => Path.Combine(SceneDir(stateDir, scene), "plan.json");
    public static string TilesDir(string stateDir, int scene) => Path.Combine(SceneDir(stateDir, scene), "tiles");
    public static string TileFile(string stateDir, int scene, int tile) => Path.Combine(TilesDir(stateDir, scene), $"{tile:D6}.tile");

    /// <summary>Publishes <paramref name="bytes"/> as <paramref name="path"/> unless it exists; false when another writer was first.</summary>
    public static bool Publish(string path, ReadOnlySpan<byte> bytes)
    {
        // The folder is not created here: a late duplicate must not bring back a scene folder removed after assembly.
        var dir = Path.GetDirectoryName(path)!;
        var temp = OutputSet.TemporaryName(dir, ".part");
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            if (link(temp, path) == 0) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EEXIST) return false;
            throw new IOException($"{path}: cannot publish (link failed, errno {errno})");
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Creates the folders of a scene about to be planned (coordinator only; <see cref="TileStore"/>).</summary>
    public static void CreateScene(string stateDir, int scene)
    {
        // A recursive create may meet another job's coordinator removing the shared .hyperunmix folder it just found.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.CreateDirectory(TilesDir(stateDir, scene));
                return;
            }
            catch (DirectoryNotFoundException) when (attempt < 5) { }
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> only if its parent exists (non-recursive mkdir); false when the parent is gone
    /// (the scene was finished and removed).
    /// </summary>
    public static bool TryCreateFolderIn(string path)
    {
        if (mkdir(path, 0x1ff) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == ENOENT) return false;
        throw new IOException($"{path}: cannot create the folder (errno {errno})");
    }

    /// <summary>
    /// Removes a finished scene's folder (coordinator only): renamed away first, so that nothing can be created in it
    /// or under its name while it is deleted. Returns false when it was already gone.
    /// </summary>
    public static bool RemoveScene(string stateDir, int scene)
    {
        var dir = SceneDir(stateDir, scene);
        var removed = Path.Combine(stateDir, $".removed-{Path.GetFileName(dir)}-{Guid.NewGuid():N}");
        try { Directory.Move(dir, removed); }
        catch (DirectoryNotFoundException) { return false; }
        Directory.Delete(removed, recursive: true);
        return true;
    }

    /// <summary>Removes the job's folder, and the shared <c>.hyperunmix</c> above it, where they are empty.</summary>
    public static void RemoveJobFolder(string stateDir)
    {
        foreach (var dir in new[] { stateDir, Path.GetDirectoryName(stateDir)! })
        {
            try { Directory.Delete(dir); }
            catch (DirectoryNotFoundException) { }
            catch (IOException) { return; /* not empty: other scenes or jobs */ }
        }
    }

    /// <summary>A tile's output file: valid-pixel count, then bands x pixels float32, band-sequential.</summary>
    public static byte[] EncodeTile(int valid, int bands, ReadOnlySpan<float> output)
    {
        var bytes = new byte[20 + 4L * output.Length];
        Magic.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), valid);
        BitConverter.TryWriteBytes(bytes.AsSpan(12), bands);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), output.Length);
        MemoryMarshal.AsBytes(output).CopyTo(bytes.AsSpan(20));
        return bytes;
    }

    public static (int Valid, float[] Output) ReadTile(string path, int bands, int pixels)
    {
        using var f = File.OpenRead(path);
        Span<byte> header = stackalloc byte[20];
        if (f.ReadAtLeast(header, 20, throwOnEndOfStream: false) < 20 || !header[..8].SequenceEqual(Magic)) throw new RasterDataException(path, "is not a tile output");
        int valid = BitConverter.ToInt32(header[8..]), b = BitConverter.ToInt32(header[12..]), n = BitConverter.ToInt32(header[16..]);
        if (b != bands || n != (long)bands * pixels || f.Length != 20 + 4L * n)
            throw new RasterDataException(path, $"holds {b} bands and {n} values, expected {bands} x {pixels}");
        // The values go straight into the array the writer takes.
        var output = new float[n];
        f.ReadExactly(MemoryMarshal.AsBytes(output.AsSpan()));
        return (valid, output);
    }

    private const int EEXIST = 17, ENOENT = 2;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldpath, string newpath);
}
