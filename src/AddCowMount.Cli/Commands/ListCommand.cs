using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AddCowMount.Core.Hosting;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow list [--output json]</c>: the live mounts of this user.</summary>
internal static class ListCommand
{
    public static Command Build(CliContext context)
    {
        var output = CommonOptions.OutputFormat();
        var command = new Command("list", "Show mounted images") { output };
        command.SetAction(result =>
        {
            bool json = CommonOptions.IsJson(result, output);
            List<MountRecord> mounts = new MountRegistry().List()
                .Select(r => r with { OpenHandles = QueryHandles(r) })
                .ToList();
            if (json)
            {
                context.Out.WriteLine(JsonSerializer.Serialize(mounts, MountJsonContext.Default.ListMountRecord));
                return ExitCodes.Ok;
            }

            if (mounts.Count == 0)
            {
                context.Out.WriteLine("No images are mounted.");
                return ExitCodes.Ok;
            }

            foreach (MountRecord m in mounts)
            {
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.MountPoint}  {m.Image}  pid {m.Pid}{(m.ReadOnly ? "  read-only" : string.Empty)}  {m.OpenHandles} open handle(s)"));
                foreach (string file in m.Files)
                {
                    context.Out.WriteLine($"    {file}");
                }

                foreach (string note in m.NotShown)
                {
                    context.Out.WriteLine($"    ({note})");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static int QueryHandles(MountRecord record)
    {
        string? answer = MountControl.Send(record.Control, "status", TimeSpan.FromSeconds(2));
        return answer is not null && answer.StartsWith("handles ", StringComparison.Ordinal)
            && int.TryParse(answer.AsSpan(8), CultureInfo.InvariantCulture, out int n) ? n : -1;
    }
}
