using System.Globalization;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// Where every pixel of an uncompressed float32 raster lies in its file, so that tiles are copied straight out of
/// the file instead of through GDAL's block cache. Covers ENVI BSQ/BIL/BIP (offsets from the header) and
/// uncompressed little-endian GeoTIFF, tiled or stripped, band- or pixel-interleaved (offsets from GDAL's
/// BLOCK_OFFSET_x_y items). Every contiguous run of a window (a row of whole pixels in pixel-interleaved files, a
/// band's row otherwise; several rows at once where they follow each other in the file and in the buffer) is one
/// positioned read (pread): the kernel copies it from the page cache, with no page fault per 4 KB as through a
/// memory mapping and no mapping that grows with the file (single pixels of band-separated files excepted: see
/// <see cref="CopyMapped"/>). docs/benchmarks.md has the speeds per layout. Thread-safe.
/// </summary>
internal sealed class RawLayout : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly string _path;
    /// <summary>A thread's staging buffer for runs that cannot be read straight into the caller's buffer.</summary>
    [ThreadStatic] private static byte[]? t_stage;
    /// <summary>The read-only mapping single pixels of band-separated files are copied from (<see cref="CopyMapped"/>).</summary>
    private Mapping? _map;
    private readonly int _bands, _blockW, _blockH, _blocksPerRow, _blocksPerBand;
    private readonly long _lineStride;
    private readonly bool _pixelInterleaved;
    /// <summary>File offset of band b's sample of block-pixel (0,0), per [b * blocksPerBand + block].</summary>
    private readonly long[] _blockOffsets;

    internal RawLayout(string file, string description, int bands, int blockW, int blockH, int blocksPerRow, int blocksPerBand,
        long lineStride, bool pixelInterleaved, long[] blockOffsets)
    {
        Description = description;
        _bands = bands;
        _blockW = blockW;
        _blockH = blockH;
        _blocksPerRow = blocksPerRow;
        _blocksPerBand = blocksPerBand;
        _lineStride = lineStride;
        _pixelInterleaved = pixelInterleaved;
        _blockOffsets = blockOffsets;
        _path = file;
        _handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    public string Description { get; }

    /// <summary>
    /// A layout for the dataset, or null (with the reason) when GDAL's generic path must be used: uncompressed float32
    /// in a local file, laid out as its format (<see cref="ISceneFormat.Layout"/>) says.
    /// </summary>
    public static RawLayout? TryCreate(GdalDataset ds, RasterInfo info, ISceneFormat format, out string reason)
    {
        if (info.DataType != GdalDataType.Float32) { reason = $"data type {info.DataType}"; return null; }
        var files = ds.FileList;
        if (files.Count == 0 || !File.Exists(files[0])) { reason = "not a local file"; return null; }
        return format.Layout(ds, info, files[0], out reason);
    }

    /// <summary>Windows of at most this many pixels are copied out of a memory mapping in band-separated files.</summary>
    private const int MappedWindowPixels = 16;

    /// <summary>Copies a window of the given bands into <paramref name="dest"/> in the requested layout.</summary>
    public void Copy(Window win, ReadOnlySpan<int> bands, Span<float> dest, BufferLayout layout)
    {
        if (_pixelInterleaved) ReadPixelInterleaved(win, bands, dest, layout);
        else if (win.Area <= MappedWindowPixels) CopyMapped(win, bands, dest, layout);
        else ReadBandSeparated(win, bands, dest, layout);
    }

    /// <summary>
    /// The window cut at block boundaries: for each block it touches, the window's rows in that block (from
    /// <see cref="Piece.RowIn"/>, <see cref="Piece.Rows"/> of them) and its columns there (from <see cref="Piece.ColIn"/>,
    /// <see cref="Piece.Count"/>), and where the piece's first pixel goes in a window-sized buffer (<see cref="Piece.P0"/>).
    /// </summary>
    private IEnumerable<Piece> Pieces(Window win)
    {
        for (var rr = 0; rr < win.Height;)
        {
            var r = win.RowOff + rr;
            int by = r / _blockH, rIn = r - by * _blockH;
            var rows = Math.Min(_blockH - rIn, win.Height - rr);
            for (var c = win.ColOff; c < win.ColEnd;)
            {
                int bx = c / _blockW, cIn = c - bx * _blockW;
                var count = Math.Min(_blockW - cIn, win.ColEnd - c);
                yield return new Piece(by * _blocksPerRow + bx, rIn, rows, cIn, count, (long)rr * win.Width + (c - win.ColOff));
                c += count;
            }
            rr += rows;
        }
    }

    private readonly record struct Piece(int Block, int RowIn, int Rows, int ColIn, int Count, long P0);

    /// <summary>One band's run of <paramref name="count"/> samples to pixel <paramref name="p"/> of band <paramref name="q"/> (of <paramref name="k"/>, <paramref name="n"/> pixels) in the layout asked for.</summary>
    private static unsafe void PutBandRun(float* src, float* d, int q, long p, int count, int k, long n, BufferLayout layout)
    {
        if (layout == BufferLayout.BandSequential)
            Buffer.MemoryCopy(src, d + q * n + p, count * 4L, count * 4L);
        else
            for (var i = 0; i < count; i++) d[(p + i) * k + q] = src[i];
    }

    /// <summary>
    /// Single pixels of band-separated files (the random sample extraction and the estimate start from) are one
    /// sample per band, each in its own page: a read each would be a system call per band per pixel (`estimate` on
    /// ENVI BSQ 1000 x 1000 x 224 took 17.5 s that way, under load, and 3.3 s with the mapping), so they are copied
    /// out of a read-only mapping of the file, created on first use. Its pages are the page cache's: the kernel
    /// reclaims them under memory pressure.
    /// </summary>
    private unsafe void CopyMapped(Window win, ReadOnlySpan<int> bands, Span<float> dest, BufferLayout layout)
    {
        var map = LazyInitializer.EnsureInitialized(ref _map, () => new Mapping(_path));
        int w = win.Width, k = bands.Length;
        long n = win.Area;
        fixed (float* d = dest)
            foreach (var piece in Pieces(win))
                for (var j = 0; j < piece.Rows; j++)
                    for (var q = 0; q < k; q++)
                    {
                        var src = (float*)(map.Base + _blockOffsets[bands[q] * _blocksPerBand + piece.Block] + (long)(piece.RowIn + j) * _lineStride + piece.ColIn * 4L);
                        PutBandRun(src, d, q, piece.P0 + (long)j * w, piece.Count, k, n, layout);
                    }
    }

    private sealed unsafe class Mapping : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        public Mapping(string path)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            Base = p + _view.PointerOffset;
        }

        public byte* Base { get; }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>
    /// Band-separated files (ENVI BSQ/BIL, band-interleaved GeoTIFF): a band's row within a block is one run. Runs go
    /// straight into a band-sequential buffer (a block's rows in one read when the window spans the block's width and
    /// the rows follow each other), or through the staging buffer: every band's run of a row at once where they lie
    /// within 4x what the window needs (ENVI BIL lines), several rows at once where they lie at most 4x their length
    /// apart (a block's rows past the window's columns, ENVI BSQ planes), one run at a time otherwise; a read is a
    /// system call, and a 256-pixel tile's band row is only 1 KB.
    /// </summary>
    private unsafe void ReadBandSeparated(Window win, ReadOnlySpan<int> bands, Span<float> dest, BufferLayout layout)
    {
        int w = win.Width, k = bands.Length;
        long n = win.Area;
        fixed (float* d = dest)
        {
            foreach (var piece in Pieces(win))
            {
                var bytes = piece.Count * 4;
                var rowStart = (long)piece.RowIn * _lineStride + piece.ColIn * 4L;
                long lo = long.MaxValue, hi = 0;
                foreach (var b in bands)
                {
                    var o = _blockOffsets[b * _blocksPerBand + piece.Block];
                    lo = Math.Min(lo, o);
                    hi = Math.Max(hi, o + bytes);
                }
                if (k > 1 && hi - lo <= 4L * k * bytes)
                {
                    // One read per row for every band.
                    var span = checked((int)(hi - lo));
                    var stage = Stage(span);
                    fixed (byte* s = stage)
                        for (var j = 0; j < piece.Rows; j++)
                        {
                            ReadExactly(stage.AsSpan(0, span), lo + rowStart + j * _lineStride);
                            for (var q = 0; q < k; q++)
                                PutBandRun((float*)(s + (_blockOffsets[bands[q] * _blocksPerBand + piece.Block] - lo)), d, q, piece.P0 + (long)j * w, piece.Count, k, n, layout);
                        }
                    continue;
                }
                // The piece's rows follow each other in the file, and in a band-sequential buffer as well.
                var whole = layout == BufferLayout.BandSequential && piece.Count == w && _lineStride == bytes;
                var rowsPerRead = piece.Rows > 1 && _lineStride <= 4L * bytes ? (int)Math.Clamp((1 << 20) / _lineStride, 1, piece.Rows) : 1;
                for (var q = 0; q < k; q++)
                {
                    var fileOffset = _blockOffsets[bands[q] * _blocksPerBand + piece.Block] + rowStart;
                    if (whole)
                    {
                        ReadExactly(new Span<byte>((byte*)(d + q * n + piece.P0), checked(piece.Rows * bytes)), fileOffset);
                        continue;
                    }
                    for (var j0 = 0; j0 < piece.Rows; j0 += rowsPerRead)
                    {
                        var m = Math.Min(rowsPerRead, piece.Rows - j0);
                        var pj = piece.P0 + (long)j0 * w;
                        if (m == 1 && layout == BufferLayout.BandSequential)
                        {
                            ReadExactly(new Span<byte>((byte*)(d + q * n + pj), bytes), fileOffset + j0 * _lineStride);
                            continue;
                        }
                        var span = checked((int)((m - 1) * _lineStride + bytes));
                        var stage = Stage(span);
                        ReadExactly(stage.AsSpan(0, span), fileOffset + j0 * _lineStride);
                        fixed (byte* s = stage)
                            for (var j = 0; j < m; j++)
                                PutBandRun((float*)(s + j * _lineStride), d, q, pj + (long)j * w, piece.Count, k, n, layout);
                    }
                }
            }
        }
    }

    private static byte[] Stage(int bytes) => t_stage is { } t && t.Length >= bytes ? t : t_stage = new byte[Math.Max(bytes, 1 << 16)];

    /// <summary>
    /// Pixel-interleaved files: each window row within a block is one contiguous run of whole pixels. Runs go straight
    /// into the caller's buffer when it wants all bands pixel-interleaved (consecutive rows of a block in one read when
    /// the window spans the block's width), otherwise through a per-thread staging buffer (one run, cache-sized) and
    /// then to the bands asked for, in the layout asked for.
    /// </summary>
    private unsafe void ReadPixelInterleaved(Window win, ReadOnlySpan<int> bands, Span<float> dest, BufferLayout layout)
    {
        int w = win.Width, k = bands.Length;
        long n = win.Area;
        var direct = layout == BufferLayout.PixelInterleaved && k == _bands && IsIdentity(bands);
        var pixelBytes = _bands * 4L;
        fixed (float* d = dest)
        {
            foreach (var piece in Pieces(win))
            {
                var fileOffset = _blockOffsets[piece.Block] + (long)piece.RowIn * _lineStride + piece.ColIn * pixelBytes;
                var bytes = checked((int)(piece.Count * pixelBytes));
                if (direct && piece.Count == w && piece.Count == _blockW)
                {
                    // The window is this block's full width: its rows here are one run, in the file and in dest.
                    ReadExactly(new Span<byte>((byte*)(d + piece.P0 * k), checked(piece.Rows * bytes)), fileOffset);
                    continue;
                }
                for (var j = 0; j < piece.Rows; j++)
                {
                    var rowOffset = fileOffset + j * _lineStride;
                    var pj = piece.P0 + (long)j * w;
                    if (direct)
                    {
                        ReadExactly(new Span<byte>((byte*)(d + pj * k), bytes), rowOffset);
                        continue;
                    }
                    var stage = Stage(bytes);
                    ReadExactly(stage.AsSpan(0, bytes), rowOffset);
                    fixed (byte* s = stage)
                    {
                        var src = (float*)s;
                        if (layout == BufferLayout.BandSequential)
                            TransposeToBands(src, piece.Count, bands, d + pj, n);
                        else
                            for (var i = 0; i < piece.Count; i++)
                            {
                                var pix = src + (long)i * _bands;
                                var o = d + (pj + i) * k;
                                for (var b = 0; b < k; b++) o[b] = pix[bands[b]];
                            }
                    }
                }
            }
        }
    }

    private void ReadExactly(Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var got = RandomAccess.Read(_handle, buffer, offset);
            if (got <= 0) throw new RasterDataException(_path, $"truncated: no data at byte offset {offset}, which its layout says holds pixels");
            buffer = buffer[got..];
            offset += got;
        }
    }

    /// <summary>
    /// Pixel-interleaved run of <paramref name="count"/> pixels to band rows <paramref name="n"/> floats apart, in
    /// blocks of 32 pixels: the block (32 x bands floats) stays in L1 and each band row receives 128 contiguous
    /// bytes, instead of one scattered write per sample across as many pages as there are bands.
    /// </summary>
    private unsafe void TransposeToBands(float* src, int count, ReadOnlySpan<int> bands, float* dst, long n)
    {
        const int block = 32;
        var k = bands.Length;
        for (var j0 = 0; j0 < count; j0 += block)
        {
            var m = Math.Min(block, count - j0);
            var s0 = src + (long)j0 * _bands;
            for (var q = 0; q < k; q++)
            {
                var b = bands[q];
                var out0 = dst + q * n + j0;
                for (var j = 0; j < m; j++) out0[j] = s0[(long)j * _bands + b];
            }
        }
    }

    private static bool IsIdentity(ReadOnlySpan<int> bands)
    {
        for (var i = 0; i < bands.Length; i++) if (bands[i] != i) return false;
        return true;
    }

    public void Dispose()
    {
        _handle.Dispose();
        _map?.Dispose();
    }
}
