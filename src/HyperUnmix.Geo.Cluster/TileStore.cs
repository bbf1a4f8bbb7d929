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
/// Folders are made so that nothing late can bring back what was removed, whoever is late (a duplicate worker, or a
/// coordinator activation that is stale: on a silo declared dead that has not noticed yet), by construction rather
/// than by cleaning up afterwards:
/// <list type="bullet">
/// <item>The job's folder is created once, recursively, when the job is submitted (<see cref="CreateJob"/>); nothing
/// else creates a folder recursively. It is removed when its last scene finishes by renaming it away and deleting
/// the renamed folder, so once it is gone every later mkdir in it fails.</item>
/// <item>A scene's folder is created by the coordinator in the turn that hands out its plan, with a non-recursive
/// mkdir, and then checked against the scene's tombstone (<c>scene-NNNN.finished</c>, written before the folder is
/// removed): a creation that lost the race to the removal sees the tombstone and takes its folder back. Whatever the
/// interleaving, either the creation came first (and the removal's rename takes the folder away) or the tombstone
/// did (and the creator sees it).</item>
/// <item>Workers never create a folder that they did not find: a planner makes its own attempt folder with a
/// non-recursive mkdir, and a tile is written into the existing tiles folder.</item>
/// <item>A scene is removed by writing its tombstone, renaming its folder away (atomic) and deleting the renamed
/// folder: a late duplicate of its plan or tile resolves its paths through the scene's name, which no longer exists.
/// Renamed folders that a killed coordinator did not finish deleting go with the job's folder.</item>
/// </list>
/// </para>
/// </summary>
internal static partial class TileStore
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

    /// <summary>The marker, written before a finished scene's folder is removed, that the scene may not be created again.</summary>
    public static string Tombstone(string stateDir, int scene) => SceneDir(stateDir, scene) + ".finished";

    /// <summary>Creates the job's folder, and the shared <c>.hyperunmix</c> above it (coordinator, when a job is submitted).</summary>
    public static void CreateJob(string stateDir)
    {
        // A recursive create may meet another job's coordinator removing the shared .hyperunmix folder it just found.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.CreateDirectory(stateDir);
                return;
            }
            catch (DirectoryNotFoundException) when (attempt < 5) { }
        }
    }

    /// <summary>
    /// Creates the folders of a scene about to be planned (coordinator only; <see cref="TileStore"/>). False, with
    /// nothing created, when the scene is finished (its tombstone) or its job is (the job's folder is gone).
    /// </summary>
    public static bool CreateScene(string stateDir, int scene)
    {
        var dir = SceneDir(stateDir, scene);
        if (!TryCreateFolder(dir, out var created)) return false;
        if (File.Exists(Tombstone(stateDir, scene)))
        {
            // The scene was finished and is being removed: take back what this call made (the removal may have
            // renamed it away already), renamed away first as the removal does, since a late planner may be
            // making its attempt folder in it meanwhile.
            if (created) Retire(stateDir, dir);
            return false;
        }
        return TryCreateFolder(TilesDir(stateDir, scene), out _);
    }

    /// <summary>mkdir without -p: false when the parent is gone; <paramref name="created"/> false when it existed.</summary>
    private static bool TryCreateFolder(string path, out bool created)
    {
        created = false;
        if (mkdir(path, 0x1ff) == 0) return created = true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return true;
        if (errno == ENOENT) return false;
        throw new IOException($"{path}: cannot create the folder (errno {errno})");
    }

    /// <summary>
    /// Deletes a folder that was renamed away. A path lookup resolves one component at a time, so a late writer whose
    /// lookup passed the old name just before the rename can still create an entry inside the renamed folder after the
    /// delete listed it ("Directory not empty"; seen in RemovedScene_LateDuplicates_CreateNothing). No lookup that
    /// starts after the rename can reach it, so deleting again finishes within a few tries.
    /// </summary>
    private static void TryDeleteTree(string dir)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException) { return; }
            catch (IOException) when (attempt < 20) { Thread.Sleep(5 * attempt); }
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> only if its parent exists (non-recursive mkdir); false when the parent is gone
    /// (the scene was finished and removed).
    /// </summary>
    public static bool TryCreateFolderIn(string path) => TryCreateFolder(path, out var created) && created;

    /// <summary>
    /// Removes a finished scene's folder (coordinator only): its tombstone first, so that no stale coordinator creates
    /// it again, then the folder renamed away, so that nothing can be created in it or under its name while it is
    /// deleted. Returns false when the folder was already gone.
    /// </summary>
    public static bool RemoveScene(string stateDir, int scene)
    {
        if (!Directory.Exists(stateDir)) return false;
        File.WriteAllBytes(Tombstone(stateDir, scene), []);
        return Retire(stateDir, SceneDir(stateDir, scene));
    }

    /// <summary>
    /// Renames <paramref name="dir"/> away (atomic: nothing can be created under its name afterwards) and deletes the
    /// renamed folder; false when it was already gone.
    /// </summary>
    private static bool Retire(string stateDir, string dir)
    {
        var removed = Path.Combine(stateDir, $".removed-{Path.GetFileName(dir)}-{Guid.NewGuid():N}");
        try { Directory.Move(dir, removed); }
        catch (DirectoryNotFoundException) { return false; }
        TryDeleteTree(removed);
        return true;
    }

    /// <summary>
    /// Removes a finished job's folder with everything left in it (tombstones, folders a killed coordinator was
    /// deleting): renamed away first, so that no late mkdir can land in it; then the shared <c>.hyperunmix</c> above
    /// it, where no other job is.
    /// </summary>
    public static void RemoveJobFolder(string stateDir)
    {
        var parent = Path.GetDirectoryName(stateDir)!;
        var removed = Path.Combine(parent, $".removed-{Path.GetFileName(stateDir)}-{Guid.NewGuid():N}");
        try { Directory.Move(stateDir, removed); }
        catch (DirectoryNotFoundException) { removed = null; }
        if (removed is not null) TryDeleteTree(removed);
        // Jobs' folders a killed coordinator was deleting are garbage too (another job's coordinator may be at them).
        try
        {
            foreach (var stale in Directory.EnumerateDirectories(parent, ".removed-*"))
                try { TryDeleteTree(stale); }
                catch (IOException) { }
        }
        catch (DirectoryNotFoundException) { }
        try { Directory.Delete(parent); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { /* not empty: other jobs */ }
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
