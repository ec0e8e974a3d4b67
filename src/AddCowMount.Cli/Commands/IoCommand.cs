using System.CommandLine;
using System.Globalization;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Cli.Commands;

/// <summary>
/// <c>addcow io [-c CMD]... IMG</c> (without -c: commands one a line on standard input), like qemu-io: <c>write [-P BYTE] OFFSET LEN</c>, <c>read [-P BYTE] OFFSET LEN</c>
/// (with -P every byte is verified), <c>flush</c>. Requests go through the sector-aligning adapter, as a mount's do.
/// </summary>
internal static class IoCommand
{
    private const byte DefaultWritePattern = 0xcd; // qemu-io's default

    public static Command Build(CliContext context)
    {
        var commands = new Option<string[]>("-c", "--cmd") { Description = "A command: write [-P BYTE] OFFSET LEN | read [-P BYTE] OFFSET LEN | flush", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var readOnly = new Option<bool>("-r", "--read-only") { Description = "Open the image read-only" };
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("io", "Read, write and verify byte ranges of the composed disk (for scripts and debugging)") { commands, readOnly, unsafePaths, img };
        command.SetAction(result =>
        {
            // Without -c, commands come one a line from standard input until its end (qemu-io's interactive use;
            // the image stays open, and locked, meanwhile), writable unless -r.
            string[] given = result.GetValue(commands) ?? [];
            bool fromInput = given.Length == 0;
            List<IoRequest> parsed = given.Select(Parse).ToList();
            bool writes = parsed.Any(r => r.Kind == "write");
            if (writes && result.GetValue(readOnly))
            {
                throw new UsageException("write commands need a writable open (drop -r)");
            }

            bool writable = fromInput ? !result.GetValue(readOnly) : writes || parsed.Any(r => r.Kind == "flush");
            IEnumerable<IoRequest> requests = fromInput ? ReadRequests(Console.In) : parsed;
            using AddCowImage image = writable
                ? ImageOpening.OpenForWriting(result.GetValue(img)!, result.GetValue(unsafePaths), context)
                : AddCowImage.Open(result.GetValue(img)!, new ImageOpenOptions { AllowUnsafePaths = result.GetValue(unsafePaths), LoggerFactory = context.LoggerFactory });
            using var disk = new SectorAligningDisk(image, ownsDevice: false);
            foreach (IoRequest request in requests)
            {
                if (!Execute(request, disk, context))
                {
                    return ExitCodes.Error;
                }

                context.Out.Flush();
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static bool Execute(IoRequest request, SectorAligningDisk disk, CliContext context)
    {
        switch (request.Kind)
        {
            case "flush":
                disk.Flush();
                return true;
            case "write":
            {
                byte[] data = new byte[request.Length];
                Array.Fill(data, request.Pattern ?? DefaultWritePattern);
                disk.Write(request.Offset, data);
                context.Out.WriteLine($"wrote {request.Length}/{request.Length} bytes at offset {request.Offset}");
                return true;
            }

            default:
            {
                byte[] data = new byte[request.Length];
                disk.Read(request.Offset, data);
                if (request.Pattern is byte pattern)
                {
                    int bad = Array.FindIndex(data, b => b != pattern);
                    if (bad >= 0)
                    {
                        int count = data.Count(b => b != pattern);
                        context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"addcow: pattern verification failed at offset {request.Offset + bad}: expected 0x{pattern:x2}, found 0x{data[bad]:x2} ({count} bytes differ)"));
                        return false;
                    }
                }

                context.Out.WriteLine($"read {request.Length}/{request.Length} bytes at offset {request.Offset}");
                return true;
            }
        }
    }

    private static IEnumerable<IoRequest> ReadRequests(TextReader input)
    {
        while (input.ReadLine() is string line)
        {
            if (line.Trim().Length > 0)
            {
                yield return Parse(line.Trim());
            }
        }
    }

    internal sealed record IoRequest(string Kind, long Offset, int Length, byte? Pattern);

    internal static IoRequest Parse(string text)
    {
        string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            throw new UsageException("empty io command");
        }

        string kind = words[0];
        if (kind == "flush")
        {
            return words.Length == 1 ? new IoRequest("flush", 0, 0, null) : throw new UsageException($"flush takes no arguments: '{text}'");
        }

        if (kind is not ("read" or "write"))
        {
            throw new UsageException($"unknown io command '{kind}' (write, read, flush)");
        }

        byte? pattern = null;
        var rest = new List<string>();
        for (int i = 1; i < words.Length; i++)
        {
            if (words[i] == "-P")
            {
                if (i + 1 >= words.Length || !TryParseByte(words[i + 1], out byte p))
                {
                    throw new UsageException($"-P needs a byte value 0..255: '{text}'");
                }

                pattern = p;
                i++;
            }
            else
            {
                rest.Add(words[i]);
            }
        }

        if (rest.Count != 2)
        {
            throw new UsageException($"usage: {kind} [-P BYTE] OFFSET LEN: '{text}'");
        }

        long offset = SizeParser.Parse(rest[0], "offset");
        long length = SizeParser.Parse(rest[1], "length");
        if (length > 1L << 30)
        {
            throw new UsageException($"length {length} is larger than the 1 GiB one io command may move");
        }

        return new IoRequest(kind, offset, (int)length, pattern);
    }

    private static bool TryParseByte(string text, out byte value) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? byte.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
