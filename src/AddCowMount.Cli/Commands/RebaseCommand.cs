using System.CommandLine;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Operations;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow rebase [-u] -b NEWBACKING IMG</c>: safe mode keeps the composed content unchanged.</summary>
internal static class RebaseCommand
{
    public static Command Build(CliContext context)
    {
        var unsafeMode = new Option<bool>("-u", "--unsafe") { Description = "Only rewrite the backing name (the new backing must hold the same data)" };
        var backing = new Option<string>("-b", "--backing") { Description = "New backing file ('' for none)", Required = true };
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("rebase", "Change the backing file") { unsafeMode, backing, unsafePaths, img };
        command.SetAction(result =>
        {
            string path = Path.GetFullPath(result.GetValue(img)!);
            string newName = result.GetValue(backing)!;
            bool allowUnsafe = result.GetValue(unsafePaths);
            AddCowHeader.ValidateName(newName, "backing file");
            string? newPath = newName.Length == 0 ? null : PathPolicy.Resolve(newName, path, allowUnsafe, "backing file");
            bool unsafeRebase = result.GetValue(unsafeMode);
            if (newPath is not null)
            {
                EnsureNoLoop(newPath, path, allowUnsafe);
            }

            using AddCowImage image = ImageOpening.OpenForWriting(path, allowUnsafe, context, noBacking: unsafeRebase);
            ISectorDevice? newBacking = null;
            if (newPath is not null && !unsafeRebase)
            {
                // Open the new chain through a throwaway overlay-less open: a raw or add-cow file, read-only.
                newBacking = OpenBacking(newPath, path, allowUnsafe, context);
            }

            if (unsafeRebase)
            {
                image.SetBackingFile(newName, newPath);
                context.Out.WriteLine($"Backing file of {path} set to '{newName}' (unsafe: content not compared).");
                return ExitCodes.Ok;
            }

            long copied = context.WithProgress("rebase", p => ImageOperations.Rebase(image, newName, newBacking, newPath, p));
            context.Out.WriteLine($"Rebased {path} onto '{newName}'; {copied} bytes that differed were copied into the image.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Walks the new chain's headers (no locks, nothing opened for data) and refuses one that reaches the image.</summary>
    private static void EnsureNoLoop(string backingPath, string imagePath, bool allowUnsafe)
    {
        if (!File.Exists(backingPath))
        {
            throw new AddCowException(AddCowError.BackingNotFound, backingPath, $"{backingPath}: new backing file not found");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { imagePath };
        string current = backingPath;
        for (int depth = 0; depth < 16; depth++)
        {
            if (!seen.Add(Path.GetFullPath(current)))
            {
                throw new AddCowException(AddCowError.ChainLoop, imagePath, $"{imagePath}: backing '{backingPath}' would make the chain loop through {current}");
            }

            byte[] magic = new byte[8];
            using (var probe = File.OpenRead(current))
            {
                if (probe.Read(magic) < 8 || !AddCowHeader.HasMagic(magic))
                {
                    return;
                }
            }

            AddCowHeader header = AddCowImage.ReadHeader(current);
            if (header.BackingFile.Length == 0)
            {
                return;
            }

            current = PathPolicy.Resolve(header.BackingFile, current, allowUnsafe, "backing file");
            if (!File.Exists(current))
            {
                return;
            }
        }

        throw new AddCowException(AddCowError.ChainTooDeep, imagePath, $"{imagePath}: the new backing chain is deeper than 16 layers");
    }

    private static ISectorDevice OpenBacking(string backingPath, string imagePath, bool allowUnsafe, CliContext context)
    {
        if (Path.GetFullPath(backingPath) == imagePath)
        {
            throw new AddCowException(AddCowError.ChainLoop, imagePath, $"{imagePath}: an image cannot be its own backing file");
        }

        using (var probe = File.OpenRead(backingPath))
        {
            byte[] magic = new byte[8];
            if (probe.Read(magic) < 8 || !AddCowHeader.HasMagic(magic))
            {
                return new RawImage(AddCowMount.Core.Storage.FileStorage.Instance.Open(backingPath, writable: false, AddCowMount.Core.Storage.StorageLock.Shared));
            }
        }

        AddCowImage backing = AddCowImage.Open(backingPath, new ImageOpenOptions { AllowUnsafePaths = allowUnsafe, LoggerFactory = context.LoggerFactory });
        for (ISectorDevice? layer = backing; layer is not null; layer = layer.Backing)
        {
            if (Path.GetFullPath(layer.Path) == imagePath)
            {
                backing.Dispose();
                throw new AddCowException(AddCowError.ChainLoop, imagePath, $"{imagePath}: the new backing chain contains the image itself");
            }
        }

        return backing;
    }
}
