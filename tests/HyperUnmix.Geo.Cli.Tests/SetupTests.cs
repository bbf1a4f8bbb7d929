using System.Diagnostics;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// scripts/setup.sh on a desktop machine: another package manager (unattended upgrades) holding the dpkg lock made it
/// fail in 3 s with exit 100. It now waits for it (scripts/apt-wait.sh), which is run here against a real process
/// named dpkg.
/// </summary>
public sealed class SetupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-setup-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, double Seconds) WaitForApt(int limit)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"source '{Path.Combine(CliRunner.RepoRoot, "scripts", "apt-wait.sh")}'; wait_for_apt");
        psi.Environment["HYPERUNMIX_APT_WAIT_LIMIT"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, watch.Elapsed.TotalSeconds);
    }

    [Fact]
    public void AnotherPackageManagerRunning_IsWaitedFor_ThenSetupGoesOn()
    {
        // A process whose name is dpkg (a copy of sleep), as an unattended upgrade's would be.
        var dpkg = Path.Combine(_dir, "dpkg");
        File.Copy("/bin/sleep", dpkg);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(dpkg, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        using var busy = Process.Start(dpkg, "4")!;
        Thread.Sleep(300);
        var (code, output, seconds) = WaitForApt(limit: 60);
        busy.WaitForExit();
        Assert.Equal(0, code);
        Assert.Contains("Waiting for another package manager", output);
        Assert.True(seconds >= 2.5, $"returned after {seconds:F1} s, before the package manager finished");

        // Still busy after the limit: a clear failure, not apt's lock error.
        using var stuck = Process.Start(dpkg, "30")!;
        Thread.Sleep(300);
        (code, output, _) = WaitForApt(limit: 2);
        stuck.Kill();
        Assert.Equal(1, code);
        Assert.Contains("apt/dpkg has been busy", output);
    }
}
