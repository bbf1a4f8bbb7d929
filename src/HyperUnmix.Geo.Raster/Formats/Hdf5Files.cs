namespace HyperUnmix.Geo.Raster;

/// <summary>
/// Checks an HDF5 file (HDF-EOS5, NetCDF-4) before a library opens it: the superblock records the end-of-file
/// address, so a truncated file is refused in one line naming it, instead of the HDF5 library's error stack on stderr.
/// </summary>
internal static class Hdf5Files
{
    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];

    /// <summary>Throws <see cref="RasterDataException"/> when the file is shorter than its superblock says; nothing for other files.</summary>
    public static void CheckComplete(string path)
    {
        using var fs = File.OpenRead(path);
        var length = fs.Length;
        // The superblock is at 0, 512, 1024, 2048, ... (a user block may precede it).
        for (long at = 0; at + 64 <= length; at = at == 0 ? 512 : at * 2)
        {
            var head = new byte[64];
            fs.Position = at;
            fs.ReadExactly(head);
            if (!head.AsSpan(0, 8).SequenceEqual(Signature)) continue;
            var version = head[8];
            int offsets;
            int eofAt;
            if (version is 0 or 1)
            {
                offsets = head[13];
                // signature 8, versions and sizes 8, K values 4, flags 4, (v1: indexed K 2 + reserved 2), then base, free-space, EOF addresses.
                eofAt = 24 + (version == 1 ? 4 : 0) + 2 * offsets;
            }
            else if (version is 2 or 3)
            {
                offsets = head[9];
                // signature 8, version 1, sizes 2, flags 1, then base, extension, EOF addresses.
                eofAt = 12 + 2 * offsets;
            }
            else return;
            if (offsets is not (4 or 8) || eofAt + offsets > head.Length) return;
            var eof = offsets == 8 ? BitConverter.ToInt64(head, eofAt) : BitConverter.ToUInt32(head, eofAt);
            var baseAddress = offsets == 8 ? BitConverter.ToInt64(head, version >= 2 ? 12 : 24 + (version == 1 ? 4 : 0)) : 0;
            if (eof > 0 && baseAddress + eof > length)
                throw new RasterDataException(path, $"truncated: its HDF5 superblock says the file is {baseAddress + eof} bytes, it has {length}");
            return;
        }
    }
}
