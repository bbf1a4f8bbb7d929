using System.CommandLine;
using System.Globalization;
using System.Net;
using HyperUnmix.Geo.Cluster;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Cli;

/// <summary><c>hyperunmix worker</c> and <c>hyperunmix cluster submit|status|wait|cancel</c>: the same pipeline on many machines.</summary>
internal static class ClusterCommands
{
    private static Option<string> RedisOption()
    {
        var redis = new Option<string>("--redis") { Description = "Redis of the cluster, HOST:PORT (membership, job state, grain directory).", Required = true };
        // Checked before anything connects: the client library's own text ("No endpoints specified (Parameter 'config')")
        // said nothing about the option.
        redis.Validators.Add(r =>
        {
            if (ClusterAddress.Problem(r.GetValueOrDefault<string>() ?? "") is { } problem) r.AddError($"--redis: {problem}");
        });
        return redis;
    }
    private static Option<string> ClusterOption() => new("--cluster") { Description = "Cluster name (workers and commands of one cluster use the same).", DefaultValueFactory = _ => "hyperunmix" };
    private static Option<string[]> SecretOption() => new("--secret")
    {
        Description = "The cluster secret: a PFX file from `hyperunmix cluster secret create` (default: $HYPERUNMIX_CLUSTER_SECRET). " +
                      "Workers and commands use TLS with it and refuse peers without it. Given twice (during a rotation), the first is presented and both are accepted.",
        Arity = ArgumentArity.OneOrMore,
    };
    private static Option<bool> InsecureOption() => new("--insecure")
    {
        Description = "Run without a cluster secret on a Redis that is not on this machine: no TLS, anyone who reaches the ports can join or submit.",
    };

    /// <summary>
    /// The cluster address with its secret: --secret, else $HYPERUNMIX_CLUSTER_SECRET (paths separated by ':').
    /// Without one, only a cluster on this machine (loopback Redis) runs, unless --insecure says the operator knows.
    /// </summary>
    private static ClusterAddress Address(ParseResult parse, Option<string> redis, Option<string> cluster, Option<string[]> secret, Option<bool> insecure, string what)
    {
        var address = new ClusterAddress(parse.GetValue(redis)!, parse.GetValue(cluster)!);
        var paths = parse.GetValue(secret) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable(ClusterSecret.EnvironmentVariable) is { Length: > 0 } env ? env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        if (paths.Length > 0)
        {
            if (parse.GetValue(insecure)) throw new UsageException("--insecure and a cluster secret (--secret or $" + ClusterSecret.EnvironmentVariable + ") exclude each other");
            foreach (var p in paths.Where(File.Exists).Where(ClusterSecret.ReadableByOthers))
                Console.Error.WriteLine($"hyperunmix: warning: {Path.GetFullPath(p)}: the cluster secret is readable by other users (chmod 600 it)");
            return address with { Secret = ClusterSecret.Load(paths) };
        }
        if (!address.IsLoopback && !parse.GetValue(insecure))
            throw new UsageException($"{what}: Redis {address.Display} is not on this machine, and without a cluster secret anyone who reaches the workers' ports can join or submit: " +
                                     "give --secret FILE (create it with: hyperunmix cluster secret create --out cluster.pfx) or --insecure");
        return address;
    }

    private static Option<string> JobOption() => new("--job") { Description = "Job name.", Required = true };

    public static Command Worker(CancellationToken cancel)
    {
        var redis = RedisOption();
        var cluster = ClusterOption();
        var threads = new Option<int>("--threads") { Description = "Items processed at once (0: one per CPU).", DefaultValueFactory = _ => 0 };
        var memory = new Option<int>("--memory") { Description = "Memory budget for the tiles a scene's planner sizes, MB.", DefaultValueFactory = _ => 1024 };
        var port = new Option<int>("--port") { Description = "Silo port for other workers (0: a free one).", DefaultValueFactory = _ => 0 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Gateway port for cluster commands (0: a free one).", DefaultValueFactory = _ => 0 };
        var advertise = new Option<string?>("--advertise") { Description = "Address other machines reach this one at (default: loopback for a local Redis, else the first routable IPv4)." };
        var secret = SecretOption();
        var insecure = InsecureOption();
        var cmd = new Command("worker", """
            Run a worker of a cluster: an Orleans silo that pulls work (plan a scene, unmix a tile, assemble a scene) from
            the jobs submitted with `hyperunmix cluster submit`. Start one on each machine; inputs and the output folder
            must be at the same paths on every machine (a shared folder) or GDAL /vsicurl/ URLs. SIGTERM or Ctrl+C
            drains the worker: it finishes the items in hand, then leaves.

            Workers and commands of a cluster share its secret (--secret, from `hyperunmix cluster secret create`): all
            traffic between them is TLS, and a process without the secret is refused. The Redis password is read from
            $HYPERUNMIX_REDIS_PASSWORD (or password= in --redis).

            Example:
              hyperunmix cluster secret create --out cluster.pfx
              hyperunmix worker --redis redis.example.org:6379 --cluster archive --threads 8 --secret cluster.pfx
            """) { redis, cluster, threads, memory, port, gatewayPort, advertise, secret, insecure };
        cmd.SetAction(parse => Commands.Guard(parse, () =>
        {
            var n = parse.GetValue(threads);
            if (n < 0) throw new UsageException($"--threads must be 0 (automatic) or more, got {n}");
            if ((long)parse.GetValue(memory) << 20 < ExecutionOptions.MinMemoryBytes)
                throw new UsageException($"--memory must be at least {ExecutionOptions.MinMemoryBytes >> 20} MB, got {parse.GetValue(memory)} MB");
            var address = parse.GetValue(advertise);
            var o = new WorkerOptions
            {
                Cluster = Address(parse, redis, cluster, secret, insecure, "worker"),
                Threads = n == 0 ? Environment.ProcessorCount : n,
                MemoryBytes = (long)parse.GetValue(memory) << 20,
                SiloPort = parse.GetValue(port),
                GatewayPort = parse.GetValue(gatewayPort),
                Advertise = address is null ? null : IPAddress.TryParse(address, out var ip) ? ip : throw new UsageException($"--advertise: '{address}' is not an IP address"),
                Verbose = parse.GetValue<bool>("--verbose"),
            };
            return WorkerHost.Run(o, Console.Out, cancel).GetAwaiter().GetResult();
        }));
        return cmd;
    }

    public static Command Cluster(Func<(List<Option> Options, Func<ParseResult, string, string, UnmixOptions> Build)> unmixOptions,
        Func<(List<Option> Options, Func<ParseResult, string, string, MesmaOptions> Build)> mesmaOptions, CancellationToken cancel)
    {
        var cmd = new Command("cluster", """
            Submit scenes to a cluster of workers and follow the job. One plan per scene (endmembers and the deep model
            computed once), tiles as work items, outputs identical to `hyperunmix unmix` on one machine.

            Example:
              hyperunmix cluster submit archive/*.tif -o out/ --job july --redis redis:6379 --method fcls --wait
              hyperunmix cluster mesma archive/*.tif -o fractions/ --job july-classes --redis redis:6379 --library berlin.sli --class-field level_1 --wait
              hyperunmix cluster status --job july --redis redis:6379
            """);
        var (unmix, buildUnmix) = unmixOptions();
        cmd.Subcommands.Add(Submit("submit", """
            Submit scenes as one job. Running the same command again re-attaches to the job and resumes it (after a
            cancel, or after every worker was stopped). Every unmix option applies to every scene.
            Scenes may be listed in a text file (@archive.txt: one path per line, relative to the file's folder, '#'
            comments) or given as folders with --glob.
            """, unmix, buildUnmix, o => o.Outputs.Format, "_abundances", (client, job, dir, list) => client.Submit(job, dir, list, cancel), cancel));
        var (mesma, buildMesma) = mesmaOptions();
        cmd.Subcommands.Add(Submit("mesma", """
            Submit scenes as one MESMA job (class fractions with a spectral library, as `hyperunmix mesma`): one plan
            per scene (the library read and matched to the scene's bands), tiles as work items, outputs
            SCENE_fractions.tif with .models.csv and .qml, identical to `hyperunmix mesma` on one machine. Running
            the same command again re-attaches to the job. Every mesma option applies to every scene; scenes as for
            `cluster submit` (files, folders with --glob, @LIST).
            """, mesma, buildMesma, o => o.Scene.Outputs.Format, "_fractions", (client, job, dir, list) => client.SubmitMesma(job, dir, list, cancel), cancel));
        cmd.Subcommands.Add(Secret());
        foreach (var (name, text) in new[] { ("status", "Print a job's progress."), ("wait", "Wait until a job finishes; exit 0 when every scene succeeded."), ("cancel", "Stop handing out a job's work (submit it again to resume).") })
            cmd.Subcommands.Add(Follow(name, text, cancel));
        return cmd;
    }

    /// <summary>
    /// A command that submits scenes as one job, each scene's options read by <paramref name="build"/> (one run's
    /// options: unmix's or mesma's) and its output named SCENE + <paramref name="suffix"/> in the output folder.
    /// </summary>
    private static Command Submit<T>(string name, string description, List<Option> options, Func<ParseResult, string, string, T> build,
        Func<T, RasterFormat> format, string suffix, Func<ClusterClient, string, string, IReadOnlyList<T>, Task<JobStatus>> submit, CancellationToken cancel)
    {
        var scenes = new Argument<string[]>("scenes")
        {
            Description = "Input rasters (paths every worker can read, or GDAL /vsicurl/ URLs), folders (their files matching --glob), or @LIST: a text file of scene paths, one per line.",
            Arity = ArgumentArity.OneOrMore,
        };
        var glob = new Option<string>("--glob") { Description = "For a folder among the scenes: the file names to take (e.g. '*.tif', 'ENMAP*.TIF'); '**/' in front searches subfolders too.", DefaultValueFactory = _ => "*.tif" };
        var outDir = new Option<string>("-o", "--output-dir") { Description = $"Folder for the outputs: SCENE{suffix}.tif (and side outputs) for each scene.", Required = true };
        var redis = RedisOption();
        var cluster = ClusterOption();
        var job = JobOption();
        var wait = new Option<bool>("--wait") { Description = "Wait until the job finishes (like `cluster wait`)." };
        var secret = SecretOption();
        var insecure = InsecureOption();
        var cmd = new Command(name, description) { scenes, outDir, redis, cluster, job, wait, glob, secret, insecure };
        foreach (var o in options) cmd.Options.Add(o);
        cmd.SetAction(parse => Commands.Guard(parse, () =>
        {
            // Threads and memory belong to the machines that run the tiles; a job's orders do not carry them.
            foreach (var machine in options.Where(o => o.Name is "--threads" or "--memory"))
                if (parse.GetResult(machine) is { Implicit: false })
                    throw new UsageException($"{machine.Name} is each worker's own setting, not a job's: give it to `hyperunmix worker` ({machine.Name})");
            var dir = Path.GetFullPath(parse.GetValue(outDir)!);
            var jobName = parse.GetValue(job)!;
            var address = Address(parse, redis, cluster, secret, insecure, "cluster " + name);
            CheckJobName(jobName);
            var inputs = ExpandScenes(parse.GetValue(scenes)!, parse.GetValue(glob)!);
            // One format for every scene of the job.
            var extension = format(build(parse, inputs[0], "")) == RasterFormat.Envi ? ".img" : ".tif";
            var list = new List<T>();
            var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var input in inputs)
            {
                var full = input.StartsWith("/vsi", StringComparison.Ordinal) ? input : Path.GetFullPath(input);
                // Checked before the cluster is asked anything: a missing scene is bad input (exit 3), whether or not
                // a worker runs.
                if (!full.StartsWith("/vsi", StringComparison.Ordinal) && !File.Exists(full) && !Directory.Exists(full))
                    throw new RasterDataException(full, "file not found");
                var stem = Path.GetFileNameWithoutExtension(full.TrimEnd('/'));
                var output = Path.Combine(dir, stem + suffix + extension);
                if (outputs.TryGetValue(output, out var other))
                    throw new UsageException($"{full} and {other} would both write {output}: scenes of one job need different file names");
                outputs[output] = full;
                list.Add(build(parse, full, output));
            }
            Directory.CreateDirectory(dir);
            return Client(address, parse, async client =>
            {
                var status = await submit(client, jobName, dir, list);
                Console.WriteLine(ClusterClient.Summary(status));
                return parse.GetValue(wait) ? await WaitFor(client, jobName, cancel) : ExitCodes.Ok;
            });
        }));
        return cmd;
    }

    /// <summary>
    /// The scenes of a submit: each argument a raster, a folder (its files matching <paramref name="glob"/>, sorted
    /// by name) or @LIST (a text file of paths, one per line, relative to the list's folder; blank lines and '#'
    /// comments skipped). A list or folder that names nothing is an error, not an empty job.
    /// </summary>
    internal static string[] ExpandScenes(IEnumerable<string> arguments, string glob)
    {
        var result = new List<string>();
        foreach (var a in arguments)
        {
            if (a.StartsWith('@'))
            {
                var list = Path.GetFullPath(a[1..]);
                if (!File.Exists(list)) throw new RasterDataException(list, "scene list not found");
                var dir = Path.GetDirectoryName(list)!;
                var named = File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                    .Select(l => l.StartsWith("/vsi", StringComparison.Ordinal) ? l : Path.GetFullPath(Path.Combine(dir, l))).ToList();
                if (named.Count == 0) throw new RasterDataException(list, "the scene list names no scene");
                result.AddRange(named);
            }
            else if (Directory.Exists(a) && !IsProductFolder(a))
            {
                var recursive = glob.StartsWith("**/", StringComparison.Ordinal);
                var pattern = recursive ? glob[3..] : glob;
                var found = Directory.EnumerateFiles(a, pattern, new EnumerationOptions { RecurseSubdirectories = recursive, MatchCasing = MatchCasing.CaseSensitive })
                    .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new RasterDataException(Path.GetFullPath(a), $"no file in the folder matches --glob '{glob}'");
                result.AddRange(found);
            }
            else result.Add(a);
        }
        return result.ToArray();
    }

    /// <summary>A folder that is itself a scene (a sensor product's folder with its METADATA.XML) is not expanded.</summary>
    private static bool IsProductFolder(string dir) =>
        Directory.EnumerateFiles(dir, "*METADATA.XML", SearchOption.TopDirectoryOnly).Any();

    private static Command Follow(string name, string description, CancellationToken cancel)
    {
        var redis = RedisOption();
        var cluster = ClusterOption();
        var job = JobOption();
        var json = new Option<bool>("--json") { Description = "Print the job and each scene's progress as JSON (for scripts)." };
        var secret = SecretOption();
        var insecure = InsecureOption();
        var cmd = new Command(name, description) { redis, cluster, job, secret, insecure };
        if (name == "status") cmd.Options.Add(json);
        cmd.SetAction(parse => Commands.Guard(parse, () =>
        {
            var address = Address(parse, redis, cluster, secret, insecure, "cluster " + name);
            var jobName = parse.GetValue(job)!;
            return Client(address, parse, async client =>
            {
                switch (name)
                {
                    case "wait":
                        return await WaitFor(client, jobName, cancel);
                    case "cancel":
                        Console.WriteLine(ClusterClient.Summary(await client.Cancel(jobName)));
                        return ExitCodes.Ok;
                    default:
                        var s = await client.Status(jobName);
                        if (s.State == "unknown") throw new UsageException($"no job named {jobName} in cluster {address.Name}");
                        if (parse.GetValue(json)) Console.WriteLine(StatusJson(s));
                        else Print(s);
                        return ExitCodes.Ok;
                }
            });
        }));
        return cmd;
    }

    /// <summary><c>hyperunmix cluster secret create</c>: a new cluster secret.</summary>
    private static Command Secret()
    {
        var output = new Option<string>("--out") { Description = "The file to write (PFX with the private key, mode 0600; an existing file is not overwritten).", Required = true };
        var subject = new Option<string>("--name") { Description = "Name in the certificate's subject (for people; peers are recognised by fingerprint).", DefaultValueFactory = _ => "hyperunmix cluster" };
        var years = new Option<int>("--years") { Description = "Years the certificate is valid (peers check the fingerprint, not the dates).", DefaultValueFactory = _ => 10 };
        var create = new Command("create", """
            Create a cluster secret: a self-signed certificate and its private key in a PFX file readable only by you.
            Copy it to every worker and every machine that submits (as securely as an SSH key) and pass it with --secret
            or $HYPERUNMIX_CLUSTER_SECRET. It prints the certificate's SHA-256 fingerprint.

            Example:
              hyperunmix cluster secret create --out cluster.pfx
            """) { output, subject, years };
        create.SetAction(parse => Commands.Guard(parse, () =>
        {
            var path = Path.GetFullPath(parse.GetValue(output)!);
            var y = parse.GetValue(years);
            if (y is < 1 or > 100) throw new UsageException($"--years must be from 1 to 100, got {y}");
            if (File.Exists(path)) throw new RasterOutputException(path, "exists: a cluster secret is never overwritten (remove it first, or write the new one elsewhere to rotate)");
            var fingerprint = ClusterSecret.Create(path, parse.GetValue(subject)!, y);
            Console.WriteLine($"cluster secret {path}: SHA-256 fingerprint {fingerprint}");
            return ExitCodes.Ok;
        }));
        return new Command("secret", "Manage the cluster secret (the TLS certificate every worker and client of a cluster shares).") { create };
    }

    private static async Task<int> WaitFor(ClusterClient client, string job, CancellationToken cancel)
    {
        var s = await client.Wait(job, st => Console.WriteLine(ClusterClient.Summary(st)), cancel);
        Print(s);
        foreach (var scene in s.Scenes.Where(x => x.Error is not null)) Console.Error.WriteLine($"hyperunmix: {scene.Input}: {ExitCodes.OneLine(OptionFlags.Rewrite(scene.Error!))}");
        return s.State switch { "done" => ExitCodes.Ok, "cancelled" => ExitCodes.Cancelled, _ => ExitCodes.BadInput };
    }

    /// <summary>The job's status for scripts: its state and counts, and each scene's phase, tiles and error.</summary>
    internal static string StatusJson(JobStatus s) => JsonSerializer.Serialize(new
    {
        job = s.Name,
        state = s.State,
        scenes_total = s.Scenes.Length,
        scenes_done = s.Scenes.Count(x => x.Phase == "done"),
        scenes_failed = s.Scenes.Count(x => x.Phase == "failed"),
        tiles_total = s.Scenes.Sum(x => (long)x.Tiles),
        tiles_done = s.Scenes.Sum(x => (long)x.TilesDone),
        duplicates_dropped = s.DuplicatesDropped,
        requeued = s.Requeued,
        coordinator = s.Coordinator,
        scenes = s.Scenes.Select(x => new { input = x.Input, output = x.Output, phase = x.Phase, tiles = x.Tiles, tiles_done = x.TilesDone, error = x.Error is null ? null : OptionFlags.Rewrite(x.Error) }),
    }, StatusJsonOptions);

    private static readonly JsonSerializerOptions StatusJsonOptions = new() { WriteIndented = true };

    private static void Print(JobStatus s)
    {
        Console.WriteLine(ClusterClient.Summary(s));
        foreach (var scene in s.Scenes)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {scene.Phase,-10} {scene.TilesDone,5}/{scene.Tiles,-5} {scene.Input} -> {scene.Output}"));
        if (s.Coordinator is not null) Console.WriteLine($"  coordinator on silo {s.Coordinator}");
        if (s.WorkerSeconds > 0) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  worker time {s.WorkerSeconds:F1} s"));
        if (s.Workers > 0) Console.WriteLine($"  items completed by {s.Workers} worker processes");
        if (s.Items > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  coordinator calls {s.CallSeconds * 1000 / s.Items:F2} ms per item (lease + report, as the workers saw them; {s.Items} items)"));
    }

    private static int Client(ClusterAddress address, ParseResult parse, Func<ClusterClient, Task<int>> action)
    {
        return Run().GetAwaiter().GetResult();

        async Task<int> Run()
        {
            await using var client = await ClusterClient.Connect(address, parse.GetValue<bool>("--verbose"), CancellationToken.None);
            return await action(client);
        }
    }

    private static void CheckJobName(string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || name.StartsWith('.'))
            throw new UsageException($"--job: '{name}' is not a job name (1-64 letters, digits, '-', '_', '.')");
    }
}
