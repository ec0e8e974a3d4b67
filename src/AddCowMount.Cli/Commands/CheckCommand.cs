using System.CommandLine;
using System.Text.Json;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Diagnostics;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow check IMG</c>: reads only, never locks or writes; exit 3 when it finds errors.</summary>
internal static class CheckCommand
{
    public static Command Build(CliContext context)
    {
        var output = CommonOptions.OutputFormat();
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("check", "Check header, file sizes, bitmap, image file and backing chain (read-only)") { output, unsafePaths, img };
        command.SetAction(result =>
        {
            bool json = CommonOptions.IsJson(result, output);
            string path = Path.GetFullPath(result.GetValue(img)!);
            List<Finding> findings = ImageChecker.Check(path, result.GetValue(unsafePaths));
            int errors = findings.Count(f => f.Severity == FindingSeverity.Error);
            int warnings = findings.Count(f => f.Severity == FindingSeverity.Warning);
            if (json)
            {
                var report = new CheckJson(path, errors, warnings,
                    findings.Select(f => new FindingJson(f.Severity.ToString().ToLowerInvariant(), f.File, f.Message)).ToList());
                context.Out.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Default.CheckJson));
            }
            else
            {
                foreach (Finding f in findings.Where(f => f.Severity != FindingSeverity.Info))
                {
                    context.Out.WriteLine($"{f.Severity.ToString().ToUpperInvariant()}: {f.File}: {f.Message}");
                }

                context.Out.WriteLine(errors == 0
                    ? $"No errors were found on the image.{(warnings > 0 ? $" {warnings} warning(s)." : string.Empty)}"
                    : $"{errors} error(s) and {warnings} warning(s) were found on the image.");
            }

            return errors == 0 ? ExitCodes.Ok : ExitCodes.CheckFoundErrors;
        });
        return command;
    }
}
