using System.Runtime.InteropServices;

namespace HyperUnmix.Geo.Gdal;

/// <summary>A NULL-terminated array of UTF-8 strings (GDAL's char** options), freed on dispose.</summary>
internal sealed unsafe class StringList : IDisposable
{
    private readonly nint[] _items;
    private readonly nint _array;

    public StringList(IEnumerable<string>? items)
    {
        _items = (items ?? []).Select(s => Marshal.StringToCoTaskMemUTF8(s)).ToArray();
        if (_items.Length == 0) return;
        _array = Marshal.AllocHGlobal(sizeof(nint) * (_items.Length + 1));
        var p = (nint*)_array;
        for (var i = 0; i < _items.Length; i++) p[i] = _items[i];
        p[_items.Length] = 0;
    }

    public nint Pointer => _array;

    public void Dispose()
    {
        foreach (var s in _items) Marshal.FreeCoTaskMem(s);
        if (_array != 0) Marshal.FreeHGlobal(_array);
    }
}
