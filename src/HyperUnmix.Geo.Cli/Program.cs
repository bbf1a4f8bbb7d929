using System.CommandLine;
using System.Runtime.InteropServices;
using HyperUnmix.Geo.Cli;
using HyperUnmix.Geo.Gdal;

var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cancel.Cancel(); });

var verbose = args.Contains("--verbose");
GdalLibrary.Warning += message => { if (verbose) Console.Error.WriteLine($"GDAL: {message}"); };

var root = Commands.Build(cancel.Token);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"hyperunmix: {error.Message}");
    Console.Error.WriteLine("Run 'hyperunmix --help' (or 'hyperunmix <command> --help') for usage.");
    return ExitCodes.Usage;
}
return parse.Invoke();
