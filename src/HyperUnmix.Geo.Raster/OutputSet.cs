using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Raster;

/// <summary>An output that must not be written as asked (it is an input of the run, or its name is too long).</summary>
public sealed class OutputConflictException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    /// <summary>Outputs that collide with each other or with an input: the options asked for it.</summary>
    public override ErrorKind Kind => ErrorKind.Usage;
}

/// <summary>
/// Every file one run writes (the raster, its sidecars, the side outputs), made to appear together or not at all.
/// <para>
/// <see cref="Begin"/> checks everything that can be checked before any work: the folders exist, no output is one of
/// the run's input files (compared after resolving links, sidecars included), nothing is overwritten without
/// permission, and every name fits the file system. Writers then write to <see cref="Temp"/> names: short hidden
/// files in the output's own folder (<c>.hu-PID-HOST-TOKEN-K.ext</c>, so a 255-character output name still has a legal
/// temporary name, and a rename never crosses file systems). <see cref="Commit"/> moves them all into place, and
/// rolls back (restoring what it replaced) if any move fails; disposing an uncommitted set deletes what was
/// written. Temporaries left by a killed run (their process is gone) are removed by the next run into that folder.
/// </para>
/// </summary>
internal sealed partial class OutputSet : IDisposable
{
    /// <summary>Prefix of every temporary this project writes (the spectral-library writer uses it too).</summary>
    public const string TempPrefix = ".hu-";

    /// <summary>
    /// A hidden temporary name in <paramref name="dir"/> of this process on this machine, which a later run cleans
    /// up if the process dies (for writers that make a temporary of their own, e.g. a quick-look).
    /// </summary>
    public static string TemporaryName(string dir, string suffix) =>
        Path.Combine(dir, $"{TempPrefix}{Environment.ProcessId}-{HostTag}-{Guid.NewGuid().ToString("N")[..12]}{suffix}");

    /// <summary>
    /// This machine in temporary names (6 hex digits of a hash of its name): a folder may be shared by several
    /// machines, and a PID says whether a writer is alive only on the machine that wrote it.
    /// </summary>
    public static string HostTag { get; } =
        "h" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Environment.MachineName)))[..6].ToLowerInvariant();
    private const int MaxNameBytes = 255;

    private readonly List<(string Final, string Temp)> _files = [];
    private readonly List<string> _superseded;
    private readonly Dictionary<string, int> _stems = new(StringComparer.Ordinal);
    private readonly string _token = Guid.NewGuid().ToString("N")[..8];
    private readonly bool _overwrite;
    private bool _committed;

    private OutputSet(bool overwrite, List<string> superseded)
    {
        _overwrite = overwrite;
        _superseded = superseded;
    }

    /// <param name="outputs">Every file the run will write.</param>
    /// <param name="inputs">Every file the run reads (sidecars included); no output may be one of them.</param>
    /// <param name="overwrite">Replace existing outputs; without it an existing output is an error.</param>
    /// <param name="superseded">
    /// Files an earlier run into the same name may have left that this run does not write (a deep model next to a
    /// new FCLS result, GDAL's statistics of the old raster): refused like outputs without <paramref name="overwrite"/>,
    /// removed on commit with it, so no stale file describes the new output.
    /// </param>
    public static OutputSet Begin(IEnumerable<string> outputs, IEnumerable<string> inputs, bool overwrite, IEnumerable<string>? superseded = null)
    {
        var finals = outputs.Select(Path.GetFullPath).ToList();
        var dup = finals.GroupBy(f => f, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new OutputConflictException(dup.Key, "is named twice among the outputs");
        var stale = (superseded ?? []).Select(Path.GetFullPath).Where(s => !finals.Contains(s, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        var inputSet = new HashSet<string>(inputs.Where(i => !string.IsNullOrEmpty(i)).Select(Canonical), StringComparer.Ordinal);
        foreach (var f in finals.Concat(stale))
        {
            if (inputSet.Contains(Canonical(f)))
                throw new OutputConflictException(f, $"is an input of this run and would be replaced; choose another output name ({OptionNames.Output})");
        }
        foreach (var f in finals)
        {
            var dir = Path.GetDirectoryName(f)!;
            if (!Directory.Exists(dir)) throw new RasterOutputException(f, $"the output folder {dir} does not exist");
            if (Directory.Exists(f)) throw new RasterOutputException(f, "is a directory");
            if (Encoding.UTF8.GetByteCount(Path.GetFileName(f)) > MaxNameBytes)
                throw new OutputConflictException(f, $"the file name is longer than {MaxNameBytes} bytes; choose a shorter output name ({OptionNames.Output})");
        }
        // A run killed while moving its outputs into place left a journal: finish or undo its commit first, so that
        // its half-placed files neither block this run nor stay as a mixture of two runs.
        foreach (var dir in finals.Select(Path.GetDirectoryName).Distinct()) RecoverInterruptedCommits(dir!);
        foreach (var f in finals.Concat(stale))
            if (File.Exists(f) && !overwrite) throw new RasterOutputException(f, $"already exists (use {OptionNames.Overwrite} to replace it)");

        var set = new OutputSet(overwrite, stale);
        foreach (var dir in finals.Select(Path.GetDirectoryName).Distinct()) RemoveAbandoned(dir!, finals);
        foreach (var f in finals) set._files.Add((f, set.NewTemp(f)));
        return set;
    }

    /// <summary>The temporary name to write <paramref name="final"/> under (one of the outputs given to <see cref="Begin"/>).</summary>
    public string Temp(string final)
    {
        var full = Path.GetFullPath(final);
        foreach (var (f, t) in _files)
            if (f == full) return t;
        throw new ArgumentException($"{final} is not an output of this set");
    }

    /// <summary>Adds a file a writer produced beside its temporary (e.g. GDAL's .aux.xml), to be moved to <paramref name="final"/>.</summary>
    public void Adopt(string temp, string final)
    {
        var full = Path.GetFullPath(final);
        if (_files.Any(f => f.Final == full)) return;
        _files.Add((full, Path.GetFullPath(temp)));
        _superseded.Remove(full);
    }

    /// <summary>
    /// Moves every output into place. If a move fails, the outputs already moved are removed and the files they
    /// replaced restored, so the folder holds the old set or the new one, never a mixture.
    /// </summary>
    public void Commit()
    {
        if (_committed) throw new InvalidOperationException("the output set was already committed");
        var missing = _files.FirstOrDefault(f => !File.Exists(f.Temp));
        if (missing.Final is not null) throw new InvalidOperationException($"{missing.Final} was never written");
        // Without permission to overwrite, an output that appeared since Begin was written by another run into the
        // same name (two runs started together both passed Begin's check): it is that run's, and this one fails
        // rather than replacing it. The moves below cannot replace a file either (File.Move without overwrite links
        // the temporary to its name, which fails if the name exists), so a run that appears between this check and
        // the moves is not overwritten either.
        if (!_overwrite && _files.Select(f => f.Final).Concat(_superseded).FirstOrDefault(File.Exists) is { } appeared)
            throw new RasterOutputException(appeared, AppearedMeanwhile);
        var backups = new List<(string Original, string Backup)>();
        var placed = new List<string>();
        var k = 0;
        var plannedBackups = _files.Select(f => f.Final).Concat(_superseded).Where(File.Exists)
            .Select(f => (Original: f, Backup: Path.Combine(Path.GetDirectoryName(f)!, $"{TempPrefix}{Environment.ProcessId}-{HostTag}-{_token}-old{k++}")))
            .ToList();
        // The journal names every move before the first: a run killed among them (SIGKILL, power cut) is finished
        // or undone by the next run into this folder (RecoverInterruptedCommits), never left half-placed.
        var journal = WriteJournal(plannedBackups);
        var moves = 0;
        try
        {
            // Set aside what is replaced or superseded, then move the new files in.
            foreach (var (f, backup) in plannedBackups)
            {
                File.Move(f, backup);
                backups.Add((f, backup));
                KillHook(++moves);
            }
            foreach (var (final, temp) in _files)
            {
                File.Move(temp, final);
                placed.Add(final);
                KillHook(++moves);
            }
            _committed = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var p in placed) TryDelete(p);
            foreach (var (original, backup) in backups)
            {
                try { File.Move(backup, original, overwrite: true); }
                catch (IOException) { /* the original error matters more */ }
            }
            var failed = _files.Select(f => f.Final).Except(placed).FirstOrDefault() ?? _files[0].Final;
            TryDelete(journal);
            if (!_overwrite && File.Exists(failed)) throw new RasterOutputException(failed, AppearedMeanwhile, e);
            throw new RasterOutputException(failed, $"cannot complete the output: {e.Message}", e);
        }
        foreach (var (_, backup) in backups) TryDelete(backup);
        TryDelete(journal);
    }

    private const string JournalSuffix = ".journal";

    /// <summary>
    /// Writes (atomically) the commit's journal beside the first output: one line per move, "backup original" for
    /// what is set aside and "final temp" for what is moved in.
    /// </summary>
    private string WriteJournal(IReadOnlyList<(string Original, string Backup)> backups)
    {
        var dir = Path.GetDirectoryName(_files[0].Final)!;
        var path = Path.Combine(dir, $"{TempPrefix}{Environment.ProcessId}-{HostTag}-{_token}{JournalSuffix}");
        var lines = backups.Select(b => $"B\t{b.Original}\t{b.Backup}").Concat(_files.Select(f => $"F\t{f.Final}\t{f.Temp}"));
        var temp = path + ".tmp";
        File.WriteAllLines(temp, lines);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>
    /// Completes or undoes the commits of runs of this machine that died while moving their outputs into place. If
    /// every new file reached its name, the commit is finished (the set-aside originals deleted); otherwise it is
    /// undone (the new files placed so far removed, the originals put back), so the folder holds one run's set.
    /// </summary>
    private static void RecoverInterruptedCommits(string dir)
    {
        IEnumerable<string> journals;
        try { journals = Directory.EnumerateFiles(dir, $"{TempPrefix}*{JournalSuffix}").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var journal in journals)
        {
            var ours = OurTemp().Match(Path.GetFileName(journal));
            if (!ours.Success || ours.Groups[2].Value != HostTag || !int.TryParse(ours.Groups[1].ValueSpan, out var pid) || IsRunning(pid)) continue;
            string[] lines;
            try { lines = File.ReadAllLines(journal); }
            catch (IOException) { continue; }
            var entries = lines.Select(l => l.Split('\t')).Where(p => p.Length == 3).ToList();
            var news = entries.Where(p => p[0] == "F").Select(p => (Final: p[1], Temp: p[2])).ToList();
            var olds = entries.Where(p => p[0] == "B").Select(p => (Original: p[1], Backup: p[2])).ToList();
            var complete = news.All(n => !File.Exists(n.Temp) && File.Exists(n.Final));
            if (complete)
                foreach (var (_, backup) in olds) TryDelete(backup);
            else
            {
                // Undo: a new file is placed when its temporary is gone; the originals come back from their backups.
                foreach (var (final, temp) in news)
                {
                    if (!File.Exists(temp) && File.Exists(final)) TryDelete(final);
                    TryDelete(temp);
                }
                foreach (var (original, backup) in olds)
                {
                    try { if (File.Exists(backup)) File.Move(backup, original, overwrite: true); }
                    catch (IOException) { /* left for the user: the backup keeps the data */ }
                }
            }
            TryDelete(journal);
        }
    }

    /// <summary>Test hook: HYPERUNMIX_TEST_KILL_IN_COMMIT=N kills this process (SIGKILL) after N moves of a commit.</summary>
    private static void KillHook(int moves)
    {
        if (KillAfter is { } n && moves == n) Process.GetCurrentProcess().Kill();
    }

    private static readonly int? KillAfter =
        int.TryParse(Environment.GetEnvironmentVariable("HYPERUNMIX_TEST_KILL_IN_COMMIT"), out var n) ? n : null;

    private const string AppearedMeanwhile =
        $"already exists: another run wrote it while this one was working; this run's outputs were discarded (use {OptionNames.Overwrite} to replace it, or another {OptionNames.Output})";

    /// <summary>Deletes every temporary of an uncommitted set (and what GDAL may have put beside them).</summary>
    public void Dispose()
    {
        if (_committed) return;
        foreach (var (_, temp) in _files)
        {
            TryDelete(temp);
            TryDelete(temp + ".aux.xml");
        }
        _committed = true;
    }

    /// <summary>A short hidden name in <paramref name="final"/>'s folder; files that share a stem (x.img and x.hdr) share a temporary stem.</summary>
    private string NewTemp(string final)
    {
        var stem = Path.ChangeExtension(final, null);
        if (!_stems.TryGetValue(stem, out var k)) _stems[stem] = k = _stems.Count;
        return Path.Combine(Path.GetDirectoryName(final)!, $"{TempPrefix}{Environment.ProcessId}-{HostTag}-{_token}-{k}{Path.GetExtension(final)}");
    }

    /// <summary>
    /// Removes temporaries whose writer is gone (killed by SIGKILL or a power cut): this project's <c>.hu-PID-HOST-*</c>
    /// files written on this machine by processes that no longer run (another machine's are left alone: its PIDs mean
    /// nothing here), and the <c>.NAME.GUID.partial*</c> files earlier versions left for these outputs' names.
    /// </summary>
    private static void RemoveAbandoned(string dir, IReadOnlyList<string> finals)
    {
        IEnumerable<string> candidates;
        try { candidates = Directory.EnumerateFiles(dir, ".*").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        var names = finals.Where(f => Path.GetDirectoryName(f) == dir).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        foreach (var file in candidates)
        {
            var name = Path.GetFileName(file);
            var ours = OurTemp().Match(name);
            if (ours.Success)
            {
                if (ours.Groups[2].Value == HostTag && int.TryParse(ours.Groups[1].ValueSpan, out var pid) && !IsRunning(pid)) TryDelete(file);
                continue;
            }
            var legacy = LegacyTemp().Match(name);
            if (legacy.Success && names.Contains(legacy.Groups[1].Value)) TryDelete(file);
            // Small-file temporaries of earlier versions carried no machine tag, so whether their writer lives cannot
            // be told; one a day old is abandoned (they live for one small write).
            else if (UntaggedSmallTemp().IsMatch(name) && File.GetLastWriteTimeUtc(file) < DateTime.UtcNow.AddDays(-1)) TryDelete(file);
        }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>The file a path finally names (links resolved), for comparing outputs with inputs.</summary>
    private static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
            if (target is not null) return Path.GetFullPath(target.FullName);
            // A link in a parent folder: resolve the folder, keep the name.
            var dir = Path.GetDirectoryName(full);
            if (dir is not null && new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true) is { } d)
                return Path.Combine(Path.GetFullPath(d.FullName), Path.GetFileName(full));
        }
        catch (IOException) { /* an unreadable link: compare the path as given */ }
        return full;
    }

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* best effort */ }
    }

    [GeneratedRegex(@"^\.hu-(\d+)-(h[0-9a-f]{6})-")]
    private static partial Regex OurTemp();

    [GeneratedRegex(@"^\.(.+)\.[0-9a-f]{32}\.partial")]
    private static partial Regex LegacyTemp();

    [GeneratedRegex(@"^\.hu-\d+-[0-9a-f]{12}\.partial$")]
    private static partial Regex UntaggedSmallTemp();
}
