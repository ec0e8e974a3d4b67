using System.Diagnostics;
using System.Text;

namespace AddCowMount.EndToEnd.Tests.Support;

/// <summary>
/// A disk exposed to a guest: the QEMU <c>-drive</c> options that reach it (without <c>if=</c>, which the kit adds),
/// and how to take it away again (unmount, stop a server) once the guest has powered off.
/// </summary>
internal sealed record GuestDrive(string DriveOptions, Action Release);

/// <summary>Exposes an add-cow image to one guest boot: a FUSE mount's NAME.img, an NBD export, ...</summary>
internal delegate GuestDrive GuestExposure(Workspace workspace, string image);

/// <summary>The ways a test can hand an image to a guest.</summary>
internal static class GuestExposures
{
    /// <summary>`addcow mount --background` on a fresh mount point; the guest opens NAME.img with O_DIRECT (cache=none).</summary>
    public static GuestDrive FuseMount(Workspace workspace, string image)
    {
        string mountPoint = workspace.NewMountPoint("mnt-" + Guid.NewGuid().ToString("N")[..8]);
        workspace.MountBackground(image, mountPoint);
        string img = Path.Combine(mountPoint, Path.GetFileNameWithoutExtension(image) + ".img");
        return new GuestDrive($"file={img},format=raw,cache=none", () =>
        {
            ProcessResult unmounted = workspace.AddCowOk("unmount", mountPoint);
            StringAssert.Contains(unmounted.Output, "Unmounted", unmounted.Describe());
        });
    }

    /// <summary>`addcow serve` on a Unix socket in the workspace; QEMU attaches the export with its own NBD client.</summary>
    public static GuestDrive Nbd(Workspace workspace, string image)
    {
        string socket = NbdServe.SocketIn(workspace, "guest-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        NbdServe serve = NbdServe.Start(workspace, image, "--socket", socket);
        string name = Path.GetFileNameWithoutExtension(image);
        return new GuestDrive($"file=nbd+unix:///{name}?socket={socket},format=raw", () =>
        {
            using (serve)
            {
                Assert.AreEqual(0, Posix.Kill(serve.Process.Id, Posix.SIGTERM));
                Assert.AreEqual(0, serve.WaitForExit(), "addcow serve flushes and exits 0 on SIGTERM\n" + serve.Errors.Result);
            }
        });
    }
}

/// <summary>What one guest boot printed on its serial console, and how QEMU ended.</summary>
internal sealed record GuestBoot(string Phase, string Console, int ExitCode, bool TimedOut, TimeSpan Elapsed)
{
    public const string Marker = "ADDCOW-GUEST: ";

    /// <summary>The guest's own report lines (after <see cref="Marker"/>), in order.</summary>
    public IReadOnlyList<string> Reports => Console.Split('\n')
        .Select(l => l.TrimEnd('\r'))
        .Where(l => l.StartsWith(Marker, StringComparison.Ordinal))
        .Select(l => l[Marker.Length..])
        .ToList();

    /// <summary>Everything a failed assertion should show: how QEMU ended and the whole console.</summary>
    public string Describe() =>
        $"guest boot '{Phase}': {(TimedOut ? "killed after the time limit" : $"QEMU exited {ExitCode}")} after {Elapsed.TotalSeconds:0} s\n" +
        $"--- guest console ---\n{Console}\n--- end of guest console ---";
}

/// <summary>
/// Boots Debian's kernel (linux-image-amd64) under QEMU TCG (nested KVM hangs on these machines) with a busybox
/// initramfs built from the installed files: busybox-static, the virtio and ext4 modules, an init script and
/// the payload files. The init script mounts /dev/vda as ext4 and runs one phase, chosen on the kernel command line:
/// <list type="bullet">
/// <item><c>write</c>: copy the payload into /guest, add 4 MiB from /dev/urandom, write a SHA-256 manifest, fsync
/// every file, directory and the file system, report <c>wrote NAME HASH</c> per file, and power off without
/// unmounting (the next mount has to replay the journal: only what the flushes made durable survives);</item>
/// <item><c>verify</c>: report <c>verified NAME HASH</c> per file, check the manifest and the payload's hashes,
/// report <c>verdict pass</c> or <c>verdict FAIL</c>, unmount cleanly, power off.</item>
/// </list>
/// </summary>
internal sealed class GuestKit
{
    /// <summary>Load order of the modules Debian builds as modules (each needs the ones before it).</summary>
    public static readonly string[] Modules =
        ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk",
         "crc16", "mbcache", "jbd2", "crc32c_generic", "ext4"];

    /// <summary>One boot's limit: a boot takes about 20 s on a quiet 2-core machine, several times that under load.</summary>
    public static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(5);

    private const string InitScript = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        say() { echo "ADDCOW-GUEST: $*"; }
        for m in $(cat /modules); do
          insmod /lib/modules/$m.ko || say "FAIL insmod $m"
        done
        for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
        phase=$(sed -n 's/.*addcow_phase=\([a-z]*\).*/\1/p' /proc/cmdline)
        say "phase $phase"
        if mount -t ext4 /dev/vda /mnt; then say "mounted"; else say "FAIL mount /dev/vda"; poweroff -f; fi
        if [ "$phase" = write ]; then
          mkdir -p /mnt/guest && cp /payload/* /mnt/guest/ || say "FAIL copy"
          dd if=/dev/urandom of=/mnt/guest/urandom.bin bs=64k count=64 2>/dev/null || say "FAIL dd"
          (cd /mnt/guest && sha256sum * > /mnt/manifest.sha256) || say "FAIL manifest"
          if sync /mnt/guest/* /mnt/guest /mnt/manifest.sha256 /mnt && sync -f /mnt; then say "fsynced"; else say "FAIL fsync"; fi
          while read h f; do say "wrote $f $h"; done < /mnt/manifest.sha256
        else
          (cd /mnt/guest && sha256sum *) | while read h f; do say "verified $f $h"; done
          if (cd /mnt/guest && sha256sum -c /mnt/manifest.sha256 && sha256sum -c /payload.sha256); then say "verdict pass"; else say "verdict FAIL"; fi
          if umount /mnt; then say "unmounted"; else say "FAIL umount"; fi
        fi
        say "power off"
        poweroff -f

        """;

    private GuestKit(string kernel, string initramfs)
    {
        Kernel = kernel;
        Initramfs = initramfs;
    }

    public string Kernel { get; }

    public string Initramfs { get; }

    /// <summary>
    /// Finds the kernel and its modules and writes the initramfs into <paramref name="folder"/>, with the payload
    /// files in /payload and their SHA-256 manifest in /payload.sha256. Missing pieces end the test as
    /// <see cref="E2eEnvironment.Require"/> does (Inconclusive, or Fail under CI).
    /// </summary>
    public static GuestKit Build(string folder, IReadOnlyDictionary<string, byte[]> payload)
    {
        E2eEnvironment.Require("qemu-system-x86_64", "modinfo", "busybox");
        (string kernel, string version) = FindKernel();
        string busybox = E2eEnvironment.Tool("busybox");

        string path = Path.Combine(folder, "initramfs.cpio");
        using (var cpio = new CpioWriter(File.Create(path)))
        {
            foreach (string dir in new[] { "bin", "dev", "proc", "sys", "mnt", "lib", "lib/modules", "payload" })
            {
                cpio.AddDirectory(dir);
            }

            cpio.AddCharDevice("dev/console", major: 5, minor: 1);
            cpio.AddFile("bin/busybox", File.ReadAllBytes(busybox), executable: true);
            foreach (string module in Modules)
            {
                ProcessResult found = Workspace.ToolOk("modinfo", "-k", version, "-n", module);
                cpio.AddFile($"lib/modules/{module}.ko", File.ReadAllBytes(found.Output.Trim()), executable: false);
            }

            cpio.AddFile("modules", Encoding.ASCII.GetBytes(string.Join('\n', Modules) + "\n"), executable: false);
            cpio.AddFile("init", Encoding.ASCII.GetBytes(InitScript.ReplaceLineEndings("\n")), executable: true);
            var manifest = new StringBuilder();
            foreach ((string name, byte[] content) in payload)
            {
                cpio.AddFile("payload/" + name, content, executable: false);
                manifest.Append(Sha256Hex(content)).Append("  ").Append(name).Append('\n');
            }

            cpio.AddFile("payload.sha256", Encoding.ASCII.GetBytes(manifest.ToString()), executable: false);
        }

        return new GuestKit(kernel, path);
    }

    /// <summary>
    /// Boots the guest once on a virtio disk with <paramref name="driveOptions"/> and waits for it to power off;
    /// QEMU is killed after <see cref="BootTimeout"/>. The console is returned, never asserted here.
    /// </summary>
    public GuestBoot Boot(string driveOptions, string phase)
    {
        string[] arguments =
        [
            "-accel", "tcg", "-m", "256", "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", Kernel, "-initrd", Initramfs,
            "-append", $"console=ttyS0 panic=-1 addcow_phase={phase}",
            "-drive", driveOptions + ",if=virtio",
        ];
        var clock = Stopwatch.StartNew();
        using Process qemu = ProcessRunner.Start(E2eEnvironment.Tool("qemu-system-x86_64"), arguments);
        var console = new StringBuilder();
        Task output = CopyLinesAsync(qemu.StandardOutput, console);
        Task errors = CopyLinesAsync(qemu.StandardError, console);
        bool exited = qemu.WaitForExit(BootTimeout);
        if (!exited)
        {
            qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit();
        }

        Task.WaitAll([output, errors], TimeSpan.FromSeconds(10));
        string text;
        lock (console)
        {
            text = console.ToString();
        }

        var boot = new GuestBoot(phase, text, exited ? qemu.ExitCode : -1, !exited, clock.Elapsed);
        Console.WriteLine($"[{boot.Elapsed.TotalSeconds:0.0} s] guest boot '{phase}' on -drive {driveOptions}: " +
            (exited ? $"QEMU exited {boot.ExitCode}" : "killed after the time limit"));
        foreach (string report in boot.Reports)
        {
            Console.WriteLine("  guest: " + report);
        }

        return boot;
    }

    public static string Sha256Hex(byte[] content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));

    private static async Task CopyLinesAsync(StreamReader reader, StringBuilder target)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (target)
            {
                target.Append(line).Append('\n');
            }
        }
    }

    /// <summary>The newest /boot/vmlinuz-VERSION whose /lib/modules/VERSION exists.</summary>
    private static (string Kernel, string Version) FindKernel()
    {
        var kernels = Directory.Exists("/boot")
            ? Directory.GetFiles("/boot", "vmlinuz-*")
                .Select(k => (Kernel: k, Version: Path.GetFileName(k)["vmlinuz-".Length..]))
                .Where(k => Directory.Exists(Path.Combine("/lib/modules", k.Version)))
                .OrderByDescending(k => k.Version, StringComparer.Ordinal)
                .ToList()
            : [];
        if (kernels.Count == 0)
        {
            const string message = "Guest boot test cannot run; missing: a kernel /boot/vmlinuz-* with its /lib/modules (Debian package linux-image-amd64)";
            if (E2eEnvironment.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Inconclusive(message);
        }

        return kernels[0];
    }

    /// <summary>An initramfs archive: cpio "newc" (SVR4 without CRC), the format the kernel unpacks.</summary>
    private sealed class CpioWriter(Stream stream) : IDisposable
    {
        private const int ModeDirectory = 0x4000;
        private const int ModeRegular = 0x8000;
        private const int ModeCharDevice = 0x2000;
        private int _inode = 1;

        public void AddDirectory(string name) => Add(name, ModeDirectory | 0x1ED, [], 0, 0); // 0755

        public void AddFile(string name, byte[] content, bool executable) =>
            Add(name, ModeRegular | (executable ? 0x1ED : 0x1A4), content, 0, 0); // 0755 / 0644

        public void AddCharDevice(string name, int major, int minor) => Add(name, ModeCharDevice | 0x180, [], major, minor); // 0600

        public void Dispose()
        {
            Add("TRAILER!!!", 0, [], 0, 0);
            stream.Dispose();
        }

        private void Add(string name, int mode, byte[] content, int rdevMajor, int rdevMinor)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            int nlink = (mode & ModeDirectory) != 0 ? 2 : 1;
            string header = string.Concat(
                "070701",
                Hex(name == "TRAILER!!!" ? 0 : _inode++), Hex(mode), Hex(0), Hex(0), Hex(nlink), Hex(0),
                Hex(content.Length), Hex(0), Hex(0), Hex(rdevMajor), Hex(rdevMinor), Hex(nameBytes.Length), Hex(0));
            stream.Write(Encoding.ASCII.GetBytes(header));
            stream.Write(nameBytes);
            Pad(header.Length + nameBytes.Length);
            stream.Write(content);
            Pad(content.Length);
        }

        private void Pad(int length)
        {
            for (int i = length; i % 4 != 0; i++)
            {
                stream.WriteByte(0);
            }
        }

        private static string Hex(int value) => value.ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
    }
}
