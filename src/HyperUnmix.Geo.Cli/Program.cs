using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using HyperUnmix.Geo.Cli;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Pipeline;

// Before anything large is allocated: the heap's later commits keep the advice (HugePages says why).
HugePages.AdviseManagedHeap();
var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cancel.Cancel(); });

var verbose = args.Contains("--verbose");
GdalLibrary.Warning += message => { if (verbose) Console.Error.WriteLine($"GDAL: {message}"); };

var root = Commands.Build(cancel.Token);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line, like every other error: one problem, naming the option it concerns (System.CommandLine's own message
    // about a value outside an option's choices does not). A word it did not recognise explains more than what is
    // then missing ("frobnicate" also yields "Required command was not provided").
    var error = parse.Errors.FirstOrDefault(e => parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))) ?? parse.Errors[0];
    var option = error.SymbolResult switch
    {
        OptionResult o => o.Option,
        ArgumentResult { Parent: OptionResult o } => o.Option,
        _ => null,
    };
    var message = ExitCodes.OneLine(error.Message);
    Console.Error.WriteLine(option is null || message.Contains(option.Name, StringComparison.Ordinal)
        ? $"hyperunmix: {message}" : $"hyperunmix: {option.Name}: {message}");
    return ExitCodes.Usage;
}
return parse.Invoke();
