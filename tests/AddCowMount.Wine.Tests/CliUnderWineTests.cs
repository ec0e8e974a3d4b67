using System.Diagnostics;
using System.Text;
using AddCowMount.Wine.Tests.Support;

namespace AddCowMount.Wine.Tests;

/// <summary>The Windows build of addcow under Wine: every verb but mount, on Windows paths, against the Linux build.</summary>
[TestClass]
[TestCategory("Wine")]
public sealed class CliUnderWineTests
{
    private const int BaseSize = 4 << 20;

    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// The same session of verbs, given Windows-style (drive letters, backslashes, relative names) to the Windows
    /// build and Linux-style to the Linux build, in two folders of the same shape: after every step all files are
    /// byte-identical and the JSON outputs equal (folders aside).
    /// </summary>
    [TestMethod]
    public void EveryVerb_OnWindowsPaths_LeavesTheSameBytesAsTheLinuxBuild()
    {
        using var ws = new Workspace("verbs");
        string win = ws.Folder("win");
        string lin = ws.Folder("lin");
        foreach (string side in new[] { win, lin })
        {
            ws.RandomFile(Path.Combine(side, "base", "base.raw"), BaseSize, seed: 7);
            Directory.CreateDirectory(Path.Combine(side, "vm"));
        }

        string winImg = WinePrefix.ToWindows(Path.Combine(win, "vm", "vm.add-cow")); // Z:\...\vm\vm.add-cow
        string linImg = Path.Combine(lin, "vm", "vm.add-cow");
        string[] roots = [win, WinePrefix.ToWindows(win), lin];

        // IMG relative with a backslash, the backing name relative with backslashes (stored with '/').
        Both(["create", "-b", @"..\base\base.raw", @"vm\vm.add-cow"], ["create", "-b", "../base/base.raw", "vm/vm.add-cow"]);
        Assert.AreEqual("../base/base.raw", StoredBackingName(Path.Combine(win, "vm", "vm.add-cow")));

        Both(["io", "-c", "write -P 0xab 1M 64K", "-c", "write -P 0x11 3000 5000", "-c", "flush", winImg],
             ["io", "-c", "write -P 0xab 1M 64K", "-c", "write -P 0x11 3000 5000", "-c", "flush", linImg]);
        Both(["io", "-r", "-c", "read -P 0xab 1M 64K", winImg], ["io", "-r", "-c", "read -P 0xab 1M 64K", linImg]);
        Json(["info", "--output", "json", winImg], ["info", "--output", "json", linImg]);
        Json(["map", "--output", "json", winImg], ["map", "--output", "json", linImg]);
        Json(["check", "--output", "json", winImg], ["check", "--output", "json", linImg]);
        Both(["convert", "-O", "raw", winImg, @"vm\flat.raw"], ["convert", "-O", "raw", linImg, "vm/flat.raw"]);
        Both(["convert", "-O", "vpc", winImg, WinePrefix.ToWindows(Path.Combine(win, "vm", "disk.vhd"))], ["convert", "-O", "vpc", linImg, "vm/disk.vhd"]);
        Both(["resize", winImg, "+1M"], ["resize", linImg, "+1M"]);
        Both(["rebase", "-u", "-b", @"..\base\base.raw", winImg], ["rebase", "-u", "-b", "../base/base.raw", linImg]);
        Assert.AreEqual("../base/base.raw", StoredBackingName(Path.Combine(win, "vm", "vm.add-cow")));
        Both(["stream", winImg], ["stream", linImg]);
        Json(["info", "--output", "json", winImg], ["info", "--output", "json", linImg]);
        Both(["commit", winImg], ["commit", linImg]);
        Json(["map", "--output", "json", winImg], ["map", "--output", "json", linImg]);

        void Both(string[] windowsArgs, string[] linuxArgs)
        {
            RunResult w = WindowsCli.Run(win, windowsArgs).Succeeded();
            RunResult l = LinuxCli.Run(lin, linuxArgs).Succeeded();
            _ = (w, l);
            AssertSameFiles(win, lin, string.Join(' ', linuxArgs));
        }

        void Json(string[] windowsArgs, string[] linuxArgs)
        {
            RunResult w = WindowsCli.Run(win, windowsArgs).Succeeded();
            RunResult l = LinuxCli.Run(lin, linuxArgs).Succeeded();
            Assert.AreEqual(Workspace.NormalizeJson(l.Output, roots), Workspace.NormalizeJson(w.Output, roots), $"addcow {linuxArgs[0]} differs between the builds");
            AssertSameFiles(win, lin, string.Join(' ', linuxArgs));
        }
    }

    /// <summary>An image made by the Windows build opens with the Linux build, and the reverse, data verified.</summary>
    [TestMethod]
    public void ImageMadeOnOneOs_OpensOnTheOther()
    {
        using var ws = new Workspace("cross");
        ws.RandomFile(ws.Combine("golden", "base.raw"), BaseSize, seed: 3);
        string vms = ws.Folder("vms");

        // Windows makes it (relative backing name with backslashes, relative IMG), Linux reads and writes it.
        WindowsCli.Run(vms, "create", "-b", @"..\golden\base.raw", "fromwin.add-cow").Succeeded();
        WindowsCli.Run(vms, "io", "-c", "write -P 0x5a 64K 4K", "fromwin.add-cow").Succeeded();
        LinuxCli.Run(vms, "io", "-c", "read -P 0x5a 64K 4K", "-c", "write -P 0x77 128K 512", "fromwin.add-cow").Succeeded();
        WindowsCli.Run(vms, "io", "-r", "-c", "read -P 0x77 128K 512", "-c", "read -P 0x5a 64K 4K", WinePrefix.ToWindows(Path.Combine(vms, "fromwin.add-cow"))).Succeeded();

        // Linux makes one, Windows reads and writes it; Linux sees the Windows write.
        LinuxCli.Run(vms, "create", "-b", "../golden/base.raw", "fromlinux.add-cow").Succeeded();
        LinuxCli.Run(vms, "io", "-c", "write -P 0x42 1M 8K", "fromlinux.add-cow").Succeeded();
        WindowsCli.Run(vms, "io", "-c", "read -P 0x42 1M 8K", "-c", "write -P 0x24 2M 4K", "fromlinux.add-cow").Succeeded();
        LinuxCli.Run(vms, "io", "-r", "-c", "read -P 0x24 2M 4K", "fromlinux.add-cow").Succeeded();
        LinuxCli.Run(vms, "check", "fromwin.add-cow").Succeeded();
        WindowsCli.Run(vms, "check", "fromlinux.add-cow").Succeeded();

        // Unwritten sectors still come from the base on both sides.
        byte[] expected = File.ReadAllBytes(ws.Combine("golden", "base.raw"));
        WindowsCli.Run(vms, "convert", "-O", "raw", "fromlinux.add-cow", "w.raw").Succeeded();
        byte[] composed = File.ReadAllBytes(Path.Combine(vms, "w.raw"));
        CollectionAssert.AreEqual(expected[..(1 << 20)], composed[..(1 << 20)], "base bytes before the first write differ");
    }

    /// <summary>UNC shares, device paths and reserved device names are refused with a one-line reason, and nothing is written.</summary>
    [TestMethod]
    public void UncDeviceAndReservedNames_AreRefused()
    {
        using var ws = new Workspace("unsafe");
        string dir = ws.Folder("d");
        ws.RandomFile(Path.Combine(dir, "base.raw"), 1 << 20, seed: 1);

        AssertRefused(WindowsCli.Run(dir, "create", "-b", @"\\fileserver\share\base.raw", "a.add-cow"), "network (UNC) path");
        AssertRefused(WindowsCli.Run(dir, "create", "-b", @"\\.\PhysicalDrive0", "b.add-cow"), "device path");
        AssertRefused(WindowsCli.Run(dir, "create", "-i", @"\\?\C:\x.raw", "c.add-cow", "1M"), "device path");
        foreach (string device in new[] { "CON", "NUL", "com1.add-cow", "LPT1" })
        {
            AssertRefused(WindowsCli.Run(dir, "create", device, "1M"), "reserved device name");
        }

        // A header naming a UNC share (an image from someone else) is refused when opened on Windows.
        File.WriteAllBytes(Path.Combine(dir, "unc.add-cow"), UncHeader());
        AssertRefused(WindowsCli.Run(dir, "info", "unc.add-cow"), "network (UNC) path");
        CollectionAssert.AreEquivalent(new[] { "base.raw", "unc.add-cow" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray(), "a refused create left files behind");

        static void AssertRefused(RunResult result, string reason)
        {
            Assert.AreEqual(1, result.ExitCode, result.Describe());
            string[] lines = result.ProgramErrorLines;
            Assert.HasCount(1, lines, result.Describe());
            StringAssert.StartsWith(lines[0], "addcow: ", result.Describe());
            StringAssert.Contains(lines[0], reason, result.Describe());
        }

        static byte[] UncHeader()
        {
            // An add-cow header (magic, version 1, no backing, image_file = \\fileserver\share\x.raw, 1 MiB) + bitmap.
            byte[] header = new byte[2560];
            byte[] magic = [0x41, 0x44, 0x44, 0x5f, 0x43, 0x4f, 0x57, 0xff]; // "ADD_COW\xff"
            magic.CopyTo(header, 0);
            header[11] = 1;
            Encoding.ASCII.GetBytes(@"\\fileserver\share\x.raw").CopyTo(header, 1036);
            header[2060 + 5] = 0x10; // 0x100000 big-endian
            return header;
        }
    }

    /// <summary>
    /// Two Windows processes on one image, as the README's "Two processes, one image" promises: while one holds it
    /// read-write, a second writer is refused ("in use by another process", nothing changed), info and map fall back
    /// to an unlocked look with a note, and map -U, convert -U and check work.
    /// </summary>
    [TestMethod]
    public void TwoWindowsProcesses_SecondWriterRefused_ReadersFallBack()
    {
        using var ws = new Workspace("twoproc");
        string dir = ws.Folder("d");
        ws.RandomFile(Path.Combine(dir, "base.raw"), BaseSize, seed: 5);
        WindowsCli.Run(dir, "create", "-b", "base.raw", "vm.add-cow").Succeeded();
        WindowsCli.Run(dir, "io", "-c", "write -P 0x33 0 4K", "vm.add-cow").Succeeded();

        // The holder: `addcow io` reading commands from stdin keeps the image open read-write until stdin closes.
        using Process holder = Run.Start("wine", [Artifacts.AddCowExe, "io", "vm.add-cow"], WinePrefix.Environment(), dir);
        try
        {
            holder.StandardInput.WriteLine("write -P 0x44 8K 4K");
            holder.StandardInput.Flush();
            Task<string?> ack = holder.StandardOutput.ReadLineAsync();
            Assert.IsTrue(ack.Wait(TimeSpan.FromSeconds(60)), "the holding addcow io did not answer");
            StringAssert.StartsWith(ack.Result, "wrote 4096/4096", ack.Result);
            byte[] addCowBefore = File.ReadAllBytes(Path.Combine(dir, "vm.add-cow"));

            RunResult writer = WindowsCli.Run(dir, "io", "-c", "write -P 0x55 0 512", "vm.add-cow");
            Assert.AreEqual(1, writer.ExitCode, writer.Describe());
            StringAssert.Contains(writer.Error, "in use by another process", writer.Describe());
            Assert.HasCount(1, writer.ProgramErrorLines, writer.Describe());
            RunResult resize = WindowsCli.Run(dir, "resize", "vm.add-cow", "+1M");
            Assert.AreEqual(1, resize.ExitCode, resize.Describe());
            StringAssert.Contains(resize.Error, "in use by another process", resize.Describe());
            CollectionAssert.AreEqual(addCowBefore, File.ReadAllBytes(Path.Combine(dir, "vm.add-cow")), "a refused writer changed the add-cow file");

            RunResult info = WindowsCli.Run(dir, "info", "vm.add-cow").Succeeded();
            StringAssert.Contains(info.Error, "note:", info.Describe());
            StringAssert.Contains(info.Error, "last flushed", info.Describe());
            RunResult map = WindowsCli.Run(dir, "map", "vm.add-cow").Succeeded();
            StringAssert.Contains(map.Error, "last flushed", map.Describe());
            WindowsCli.Run(dir, "map", "-U", "vm.add-cow").Succeeded();
            WindowsCli.Run(dir, "info", "-U", "vm.add-cow").Succeeded();
            WindowsCli.Run(dir, "convert", "-U", "-O", "raw", "vm.add-cow", "copy.raw").Succeeded();
            WindowsCli.Run(dir, "check", "vm.add-cow").Succeeded();
            // The shared (reader) lock is refused as well: a plain read-only io needs one.
            RunResult reader = WindowsCli.Run(dir, "io", "-r", "-c", "read 0 512", "vm.add-cow");
            Assert.AreEqual(1, reader.ExitCode, reader.Describe());
            StringAssert.Contains(reader.Error, "in use by another process", reader.Describe());
        }
        finally
        {
            holder.StandardInput.Close();
            Assert.IsTrue(holder.WaitForExit(60_000), "the holding addcow io did not end when its input closed");
        }

        Assert.AreEqual(0, holder.ExitCode, holder.StandardError.ReadToEnd());
        WindowsCli.Run(dir, "io", "-c", "read -P 0x44 8K 4K", "-c", "read -P 0x33 0 4K", "vm.add-cow").Succeeded();
    }

    /// <summary>Messages about a drive letter carry one colon ("X: nothing is mounted"), never "X::".</summary>
    [TestMethod]
    public void UnmountOfAnEmptyDrive_SaysSoWithOneColon()
    {
        using var ws = new Workspace("colon");
        RunResult result = WindowsCli.Run(ws.Root, "unmount", "X:");
        Assert.AreEqual(1, result.ExitCode, result.Describe());
        CollectionAssert.AreEqual(new[] { "addcow: X: nothing is mounted there by addcow" }, result.ProgramErrorLines, result.Describe());
    }

    private static string StoredBackingName(string addCowPath)
    {
        byte[] header = File.ReadAllBytes(addCowPath);
        int end = Array.IndexOf(header, (byte)0, 12);
        return Encoding.UTF8.GetString(header, 12, end - 12);
    }

    private static void AssertSameFiles(string win, string lin, string step)
    {
        string[] Names(string root) => Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(Names(lin), Names(win), $"after `{step}` the two builds left different files");
        foreach (string name in Names(lin))
        {
            byte[] l = File.ReadAllBytes(Path.Combine(lin, name));
            byte[] w = File.ReadAllBytes(Path.Combine(win, name));
            if (name.EndsWith(".vhd", StringComparison.Ordinal))
            {
                MaskVhdFooter(l);
                MaskVhdFooter(w);
            }

            Assert.AreEqual(l.Length, w.Length, $"after `{step}` {name} has another length");
            int diff = Enumerable.Range(0, l.Length).FirstOrDefault(i => l[i] != w[i], -1);
            Assert.AreEqual(-1, diff, $"after `{step}` {name} differs at byte {diff}");
        }
    }

    /// <summary>A VHD footer's time stamp (byte 24), checksum (64) and unique id (68, 16 bytes) differ per run by design.</summary>
    private static void MaskVhdFooter(byte[] vhd)
    {
        int footer = vhd.Length - 512;
        Array.Clear(vhd, footer + 24, 4);
        Array.Clear(vhd, footer + 64, 4 + 16);
    }
}
