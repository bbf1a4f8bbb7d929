using System.Globalization;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>
/// <see cref="HugePages"/> against the kernel's own account (/proc/self/smaps, "THPeligible"): in the kernel's
/// "madvise" mode a large array committed before the advice is not eligible for huge pages, one committed after is.
/// </summary>
public sealed class HugePagesTests
{
    private const string Mode = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>The "THPeligible" line of the mapping that holds <paramref name="address"/>.</summary>
    private static int Eligible(long address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
                inside = address >= start && address < end;
            else if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal))
                return int.Parse(line["THPeligible:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no mapping holds 0x{address:x}");
    }

    private static unsafe long Address(byte[] pinned)
    {
        fixed (byte* p = pinned) return (long)p + pinned.Length / 2;
    }

    private static byte[] Touched()
    {
        var a = GC.AllocateArray<byte>(64 << 20, pinned: true);
        for (var i = 0; i < a.Length; i += 4096) a[i] = 1;
        return a;
    }

    [Fact]
    public void AdviseManagedHeap_MakesTheHeapsLaterMemoryEligibleForHugePages()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(Mode) || !File.ReadAllText(Mode).Contains("[madvise]", StringComparison.Ordinal))
            return; // "always" makes everything eligible and "never" nothing: the advice is only visible in madvise mode
        var before = Touched();
        Assert.Equal(0, Eligible(Address(before)));
        Assert.True(HugePages.AdviseManagedHeap() >= HugePages.MinReservation);
        var after = Touched();
        Assert.Equal(1, Eligible(Address(after)));
        GC.KeepAlive(before);
    }

    [Fact]
    public void AdviseManagedHeap_IsOffWhenTheVariableSaysSo()
    {
        var old = Environment.GetEnvironmentVariable(HugePages.Variable);
        try
        {
            Environment.SetEnvironmentVariable(HugePages.Variable, "0");
            Assert.Equal(0, HugePages.AdviseManagedHeap());
        }
        finally
        {
            Environment.SetEnvironmentVariable(HugePages.Variable, old);
        }
    }
}
