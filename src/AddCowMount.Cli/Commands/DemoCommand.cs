using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using AddCowMount.Cli.Platform;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Hosting;

namespace AddCowMount.Cli.Commands;

/// <summary>
/// <c>addcow demo [IMG]</c>: the main job end to end. Without IMG it builds a demo base disk and overlay, mounts
/// the overlay, writes through the exposed disk file, formats and checks it when mkfs.ext4/e2fsck exist, shows
/// that the base is untouched and that qemu-img reads the views, then unmounts. With IMG it mounts that image
/// read-only and shows its views, changing nothing.
/// </summary>
internal static class DemoCommand
{
    public static Command Build(CliContext context)
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the demo files", DefaultValueFactory = _ => "addcow-demo" };
        var mountPoint = new Option<string?>("--mountpoint") { Description = "Where to mount (default: DIR/mnt; on Windows a free drive letter)" };
        var keep = new Option<bool>("--keep-mounted") { Description = "Stay mounted until Ctrl+C (attach the disk in a VM meanwhile)" };
        var img = new Argument<string?>("IMG") { Description = "An add-cow image to show (mounted read-only); default: a built-in demo", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("demo", "Run the main job on a built-in demo (or show a given image's mount)") { dir, mountPoint, keep, img };
        command.SetAction(result => Run(context, result.GetValue(img), result.GetValue(dir)!, result.GetValue(mountPoint), result.GetValue(keep)));
        return command;
    }

    private static int Run(CliContext context, string? image, string dir, string? mountPoint, bool keep)
    {
        TextWriter o = context.Out;
        bool builtIn = image is null;
        dir = Path.GetFullPath(dir);
        if (builtIn)
        {
            Directory.CreateDirectory(dir);
            image = Path.Combine(dir, "demo.add-cow");
            string basePath = Path.Combine(dir, "base.raw");
            if (!File.Exists(image))
            {
                o.WriteLine($"1. Creating a 64 MiB golden base image {basePath} (every sector says which it is)...");
                WriteBase(basePath, 64 << 20);
                AddCowImage.Create(image, new ImageCreateOptions { BackingFile = "base.raw" });
                o.WriteLine($"   and the overlay {image} + its image file demo.raw (sparse).");
            }
            else
            {
                o.WriteLine($"1. Reusing {image} from an earlier demo (delete {dir} to start afresh).");
            }
        }

        image = Path.GetFullPath(image!);
        string baseHash = builtIn ? Sha256(Path.Combine(dir, "base.raw")) : string.Empty;
        string? imageState = builtIn ? null : StateOf(image);
        mountPoint ??= OperatingSystem.IsWindows() ? FreeDriveLetter() : Path.Combine(builtIn ? dir : Path.GetTempPath(), builtIn ? "mnt" : $"addcow-demo-{Environment.ProcessId}");
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(mountPoint);
        }

        var request = new MountRequest { ImagePath = image, MountPoint = mountPoint, ReadOnly = !builtIn };
        bool viewsAgree = true; // every view qemu-img can read is the same disk
        using var host = new MountHost(request, MountBackends.Create(context.LoggerFactory), new MountRegistry(), context.LoggerFactory);
        host.Start();
        MountRecord record = host.Record!;
        o.WriteLine($"2. Mounted {image} at {record.MountPoint}{(request.ReadOnly ? " (read-only)" : string.Empty)}:");
        foreach (string file in record.Files)
        {
            o.WriteLine($"   {file}  ({new FileInfo(file).Length} bytes)");
        }

        string disk = record.Files.First(f => f.EndsWith(".img", StringComparison.Ordinal));
        try
        {
            if (builtIn)
            {
                byte[] message = Encoding.ASCII.GetBytes("hello from the overlay\n");
                using (var stream = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
                {
                    stream.Position = 1 << 20;
                    stream.Write(message);
                    stream.Flush(flushToDisk: true);
                }

                byte[] back = new byte[message.Length];
                using (var stream = new FileStream(disk, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                {
                    stream.Position = 1 << 20;
                    stream.ReadExactly(back);
                }

                o.WriteLine($"3. Wrote and read back through {disk}: \"{Encoding.ASCII.GetString(back).TrimEnd()}\"");
                if (Tool("mkfs.ext4", "-q", "-F", disk) == 0 && Tool("e2fsck", "-f", "-n", disk) == 0)
                {
                    o.WriteLine("   Formatted the exposed disk with mkfs.ext4; e2fsck -f -n finds it clean.");
                }
            }
            else
            {
                byte[] first = new byte[512];
                using var stream = new FileStream(disk, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                stream.ReadExactly(first);
                o.WriteLine($"3. Read the first sector through {disk} (SHA-256 {Convert.ToHexStringLower(SHA256.HashData(first))[..16]}...).");
            }

            foreach (string view in record.Files)
            {
                string? format = Path.GetExtension(view) switch
                {
                    ".vhd" => "vpc",
                    ".vhdx" => "vhdx",
                    ".vmdk" => "vmdk",
                    _ => null,
                };
                int compared = format is null ? -1 : Tool("qemu-img", "compare", "-q", "-f", format, "-F", "raw", view, disk);
                if (compared == 0)
                {
                    o.WriteLine($"   qemu-img reads {Path.GetFileName(view)} as the same disk ({format}).");
                }
                else if (compared > 0)
                {
                    o.WriteLine($"   qemu-img does NOT read {Path.GetFileName(view)} as the same disk ({format}: qemu-img compare exit {compared}).");
                    viewsAgree = false;
                }
            }

            if (keep)
            {
                string? vhdx = record.Files.FirstOrDefault(f => f.EndsWith(".vhdx", StringComparison.Ordinal));
                string? vhd = record.Files.FirstOrDefault(f => f.EndsWith(".vhd", StringComparison.Ordinal));
                o.WriteLine($"Attach {vhdx ?? disk} to a Hyper-V Generation 2 VM, {vhd ?? vhdx ?? disk} to Generation 1 or VirtualBox, or point QEMU at {disk}.");
                o.WriteLine("Press Ctrl+C to unmount.");
                o.Flush();
                using var done = new ManualResetEventSlim();
                Console.CancelKeyPress += (_, e) =>
                {
                    e.Cancel = true;
                    done.Set();
                };
                done.Wait();
            }
        }
        finally
        {
            host.RequestStop(force: true);
            host.Completion.GetAwaiter().GetResult();
        }

        if (!builtIn)
        {
            bool unchanged = imageState == StateOf(image);
            o.WriteLine(unchanged
                ? $"4. Unmounted; {image} was mounted read-only and is unchanged."
                : $"4. Unmounted; {image} was mounted read-only but CHANGED (bug!).");
            return viewsAgree && unchanged ? ExitCodes.Ok : ExitCodes.Error;
        }

        o.WriteLine($"4. Unmounted; everything written was flushed into {image}.");
        using AddCowImage opened = AddCowImage.Open(image);
        long allocated = opened.AllocatedSectors * 512;
        bool baseSame = baseHash == Sha256(Path.Combine(dir, "base.raw"));
        o.WriteLine($"   The overlay holds {allocated} bytes of changes; the base image is {(baseSame ? "unchanged" : "CHANGED (bug!)")}.");
        o.WriteLine($"   Try: addcow info {image}   addcow map {image}   addcow mount {image} {mountPoint}");
        return baseSame && viewsAgree ? ExitCodes.Ok : ExitCodes.Error;
    }

    /// <summary>What a read-only mount must leave as it was: the add-cow file's bytes, the image file's size and time.</summary>
    private static string StateOf(string image)
    {
        string imageFile;
        using (AddCowImage opened = AddCowImage.Open(image, new ImageOpenOptions { ForceShare = true, NoBacking = true }))
        {
            imageFile = opened.ImageFilePath;
        }

        var info = new FileInfo(imageFile);
        return $"{Sha256(image)} {info.Length} {info.LastWriteTimeUtc.Ticks}";
    }

    private static void WriteBase(string path, int size)
    {
        byte[] data = new byte[size];
        for (int sector = 0; sector < size / 512; sector++)
        {
            Encoding.ASCII.GetBytes($"base sector {sector,10}\n").CopyTo(data, sector * 512);
        }

        File.WriteAllBytes(path, data);
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static int Tool(string name, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(name, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (p is null)
            {
                return -1;
            }

            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // not installed: that step is skipped
        }
    }

    private static string FreeDriveLetter()
    {
        var used = DriveInfo.GetDrives().Select(d => char.ToUpperInvariant(d.Name[0])).ToHashSet();
        for (char c = 'Z'; c >= 'D'; c--)
        {
            if (!used.Contains(c))
            {
                return $"{c}:";
            }
        }

        throw new Core.Format.AddCowException(Core.Format.AddCowError.InvalidArgument, null, "no free drive letter; pass --mountpoint");
    }
}
