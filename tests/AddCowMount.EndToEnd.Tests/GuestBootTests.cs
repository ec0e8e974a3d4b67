using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>
/// Issue 10's real guest: Linux under QEMU (TCG) on the exposed disk with cache=none (O_DIRECT, real flushes).
/// The ext4 is made through the mount; boot 1 writes and fsyncs files and powers off without unmounting; after
/// an unmount and a remount, boot 2 replays the journal, checks every file's hash and unmounts cleanly; the host
/// then finds the file system clean and the same bytes. The guest's console is in the failure message.
/// <para>
/// Each boot takes its disk from a <see cref="GuestExposure"/>: the FUSE mount's NAME.img, or the NBD export of
/// `addcow serve` attached by QEMU's own NBD client.
/// </para>
/// </summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class GuestBootTests
{
    private const long DiskSize = 64L << 20;

    [TestMethod]
    public void Guest_WritesAndFsyncsOnMountedImg_ThenVerifiesAfterRemount() =>
        WriteThenVerify(GuestExposures.FuseMount, GuestExposures.FuseMount);

    /// <summary>The same guest writes through `addcow serve` (QEMU's NBD client) and verifies on the FUSE mount.</summary>
    [TestMethod]
    public void Guest_WritesAndFsyncsOnNbdExport_ThenVerifiesOnMountedImg() =>
        WriteThenVerify(GuestExposures.Nbd, GuestExposures.FuseMount);

    /// <summary>And the reverse: writes on the FUSE mount, boots from the NBD export to verify.</summary>
    [TestMethod]
    public void Guest_WritesAndFsyncsOnMountedImg_ThenVerifiesOnNbdExport() =>
        WriteThenVerify(GuestExposures.FuseMount, GuestExposures.Nbd);

    private static void WriteThenVerify(GuestExposure writeBoot, GuestExposure verifyBoot)
    {
        E2eEnvironment.Require("mkfs.ext4", "e2fsck", "debugfs", "qemu-system-x86_64");
        using var ws = new Workspace(DiskSize, seed: 10);
        string baseHash = Workspace.Sha256(ws.BasePath);
        var payload = new Dictionary<string, byte[]>
        {
            ["hello.txt"] = "hello from a guest on addcow\n"u8.ToArray(),
            ["odd-size.bin"] = FileSystemRoundTripTests.RandomBytes(1_048_577, seed: 11),
            ["three-mib.bin"] = FileSystemRoundTripTests.RandomBytes(3 << 20, seed: 12),
        };
        GuestKit kit = GuestKit.Build(ws.Folder, payload);
        string image = ws.CreateOverlay();
        FormatThroughMount(ws, image);

        // Boot 1: write, fsync, power off with the file system still mounted.
        GuestBoot written = BootOnce(ws, kit, writeBoot, image, "write");
        AssertReported(written, "phase write", "mounted", "fsynced", "power off");
        foreach ((string name, byte[] content) in payload)
        {
            AssertReported(written, $"wrote {name} {GuestKit.Sha256Hex(content)}");
        }

        var wrote = written.Reports.Where(r => r.StartsWith("wrote ", StringComparison.Ordinal)).ToList();
        string? urandom = wrote.SingleOrDefault(r => r.StartsWith("wrote urandom.bin ", StringComparison.Ordinal))?.Split(' ')[2];
        Assert.IsNotNull(urandom, "the guest reports the hash of the file it made from /dev/urandom\n" + written.Describe());
        Assert.HasCount(payload.Count + 1, wrote, written.Describe());

        // Boot 2, after an unmount and a remount: every file the guest fsynced is there with its hash.
        GuestBoot verified = BootOnce(ws, kit, verifyBoot, image, "verify");
        AssertReported(verified, "phase verify", "mounted", "verdict pass", "unmounted", "power off");
        CollectionAssert.AreEquivalent(
            wrote.Select(r => "verified " + r["wrote ".Length..]).ToList(),
            verified.Reports.Where(r => r.StartsWith("verified ", StringComparison.Ordinal)).ToList(),
            "boot 2 finds each file with the hash boot 1 wrote\n" + verified.Describe());

        // Host side, through a read-only mount: the file system is clean and holds the same bytes.
        string mnt = ws.NewMountPoint("check");
        ws.MountBackground(image, mnt, "--read-only");
        string img = Path.Combine(mnt, "vm.img");
        Workspace.ToolOk("e2fsck", "-f", "-n", img);
        foreach ((string name, byte[] content) in payload)
        {
            CollectionAssert.AreEqual(content, Workspace.ToolOk("debugfs", "-R", $"cat /guest/{name}", img).OutputBytes, $"/guest/{name} read by the host");
        }

        Assert.AreEqual(urandom, GuestKit.Sha256Hex(Workspace.ToolOk("debugfs", "-R", "cat /guest/urandom.bin", img).OutputBytes),
            "/guest/urandom.bin read by the host has the hash the guest reported");
        ws.AddCowOk("unmount", mnt);
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");
        Assert.AreEqual(baseHash, Workspace.Sha256(ws.BasePath), "the base image never changes");
    }

    /// <summary>mkfs.ext4 on NAME.img of a FUSE mount, checked, then unmounted.</summary>
    private static void FormatThroughMount(Workspace ws, string image)
    {
        string mnt = ws.NewMountPoint("format");
        ws.MountBackground(image, mnt);
        string img = Path.Combine(mnt, "vm.img");
        Workspace.ToolOk("mkfs.ext4", "-F", "-q", img);
        Workspace.ToolOk("e2fsck", "-f", "-n", img);
        ws.AddCowOk("unmount", mnt);
    }

    /// <summary>Exposes the image, boots once, releases the disk (unmount...), and insists the guest powered off by itself.</summary>
    private static GuestBoot BootOnce(Workspace ws, GuestKit kit, GuestExposure exposure, string image, string phase)
    {
        GuestDrive drive = exposure(ws, image);
        GuestBoot boot;
        try
        {
            boot = kit.Boot(drive.DriveOptions, phase);
        }
        catch
        {
            drive.Release();
            throw;
        }

        try
        {
            drive.Release();
        }
        catch (AssertFailedException ex)
        {
            throw new AssertFailedException($"{ex.Message}\n{boot.Describe()}", ex);
        }

        Assert.IsFalse(boot.TimedOut, boot.Describe());
        Assert.AreEqual(0, boot.ExitCode, boot.Describe());
        Assert.IsEmpty(boot.Reports.Where(r => r.StartsWith("FAIL", StringComparison.Ordinal) || r.Contains("verdict FAIL", StringComparison.Ordinal)).ToList(),
            boot.Describe());
        return boot;
    }

    private static void AssertReported(GuestBoot boot, params string[] reports)
    {
        foreach (string report in reports)
        {
            Assert.Contains(report, boot.Reports, $"the guest reports '{report}'\n{boot.Describe()}");
        }
    }
}
