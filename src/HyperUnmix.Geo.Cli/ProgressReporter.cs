using System.Globalization;

namespace HyperUnmix.Geo.Cli;

/// <summary>
/// A progress bar on a terminal (stderr); otherwise plain lines on stdout, one per whole percent or stage change:
/// <c>PROGRESS &lt;percent&gt; &lt;stage&gt;</c>, which the QGIS plugin parses.
/// </summary>
internal sealed class ProgressReporter
{
    private readonly bool _terminal = !Console.IsErrorRedirected && !Console.IsOutputRedirected;
    private readonly Lock _gate = new();
    private int _lastPercent = -1;
    private string _lastStage = "";

    public void Report(string stage, double fraction)
    {
        var percent = (int)Math.Floor(Math.Clamp(fraction, 0, 1) * 100);
        lock (_gate)
        {
            if (percent == _lastPercent && stage == _lastStage) return;
            _lastPercent = percent;
            _lastStage = stage;
            if (_terminal)
            {
                var bar = new string('#', percent / 4).PadRight(25, '.');
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{bar}] {percent,3}% {stage,-12}"));
                if (percent >= 100) Console.Error.WriteLine();
            }
            else
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PROGRESS {percent} {stage}"));
                Console.Out.Flush();
            }
        }
    }
}
