using System.CommandLine;
using System.Diagnostics;
using AddCowMount.Cli.Platform;
using AddCowMount.Core.Format;
using AddCowMount.Core.Hosting;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow unmount MOUNTPOINT</c>: asks the mount's process to flush and unmount, and waits until it has.</summary>
internal static class UnmountCommand
{
    public static Command Build(CliContext context)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Unmount even while files on it are open" };
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "Where the image is mounted" };
        var command = new Command("unmount", "Flush and unmount a mounted image") { force, mountPoint };
        command.Aliases.Add("umount");
        command.SetAction(result =>
        {
            string target = MountRegistry.NormalizeMountPoint(result.GetValue(mountPoint)!);
            var registry = new MountRegistry();
            MountRecord? record = registry.Find(target);
            if (record is null)
            {
                // A mount whose process died (kill -9) leaves a dead FUSE mount behind: clear it.
                if (MountBackends.TryClearStale(target))
                {
                    context.Out.WriteLine($"Cleared a stale mount at {target} (its process had died).");
                    return ExitCodes.Ok;
                }

                throw new AddCowException(AddCowError.InvalidArgument, target, AddCowException.About(target, "nothing is mounted there by addcow"));
            }

            string? answer = MountControl.Send(record.Control, result.GetValue(force) ? "unmount --force" : "unmount", TimeSpan.FromSeconds(10));
            if (answer is null && !MountRegistry.IsAlive(record.Pid) && MountBackends.TryClearStale(target))
            {
                registry.Unregister(record.MountPoint, record.Pid);
                context.Out.WriteLine($"Cleared a stale mount at {target} (its process had died).");
                return ExitCodes.Ok;
            }

            if (answer is null)
            {
                throw new AddCowException(AddCowError.IoError, target, AddCowException.About(target, $"the mount process (pid {record.Pid}) does not answer"));
            }

            if (answer.StartsWith("busy", StringComparison.Ordinal))
            {
                throw new AddCowException(AddCowError.InUse, target,
                    AddCowException.About(target, $"{answer[5..]} file handle(s) are still open on the mount; close them (detach the disk from the VM) or use --force"));
            }

            if (answer != "ok")
            {
                throw new AddCowException(AddCowError.IoError, target, AddCowException.About(target, $"unmount refused: {answer}"));
            }

            var wait = Stopwatch.StartNew();
            bool forced = result.GetValue(force);
            while (MountRegistry.IsAlive(record.Pid) && registry.Find(target) is not null && wait.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (forced && wait.Elapsed > TimeSpan.FromSeconds(3) && !MountBackends.IsStillAttached(target))
                {
                    break; // detached; the process waits for the files still open
                }

                Thread.Sleep(50);
            }

            if (registry.Find(target) is not null && forced && !MountBackends.IsStillAttached(target))
            {
                // --force detached the mount; its process ends (flushing) when the last open file is closed.
                context.Out.WriteLine($"Detached {target}; the mount process (pid {record.Pid}) finishes and flushes when the files still open on it are closed.");
                return ExitCodes.Ok;
            }

            if (registry.Find(target) is not null)
            {
                throw new AddCowException(AddCowError.IoError, target, AddCowException.About(target, $"the mount process (pid {record.Pid}) did not finish unmounting in 60 s"));
            }

            context.Out.WriteLine($"Unmounted {target}.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
