using System.Runtime.Versioning;
using System.Text.Json;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>
/// <c>addcow serve</c> with clients nobody here wrote: qemu-img, qemu-io, libnbd's nbdinfo and nbdcopy, fio's nbd engine.
/// The overlay has a base of random bytes, 64 KiB of its own at 1 MiB, and reads as zeros past a shorter base.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class NbdClientTests
{
    private const long Size = 32L << 20;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void QemuImgAndNbdinfo_SeeTheComposedDisk_AndTellTheLayersApart()
    {
        E2eEnvironment.Require("qemu-img", "nbdinfo", "nbdcopy");
        using var ws = new Workspace(baseSize: Size / 2);
        string image = ws.Combine("vm1.add-cow");
        ws.AddCowOk("create", "-b", "base.raw", image, "32M");
        ws.AddCowOk("io", "-c", "write -P 0xab 1M 64K", image);
        string converted = ws.Combine("converted.raw");
        ws.AddCowOk("convert", "-O", "raw", image, converted);
        string socket = NbdServe.SocketIn(ws);
        using NbdServe serve = NbdServe.Start(ws, image, "--socket", socket);
        Assert.AreEqual($"nbd+unix:///vm1?socket={socket}", serve.Uri, "default name: the image's name without .add-cow");

        ProcessResult info = Workspace.ToolOk("qemu-img", "info", "--output", "json", serve.Uri);
        Assert.AreEqual(Size, JsonDocument.Parse(info.Output).RootElement.GetProperty("virtual-size").GetInt64());
        ProcessResult compare = Workspace.ToolOk("qemu-img", "compare", "-f", "raw", "-F", "raw", converted, serve.Uri);
        StringAssert.Contains(compare.Output, "Images are identical");
        string empty = $"nbd+unix:///?socket={socket}";
        StringAssert.Contains(Workspace.ToolOk("qemu-img", "compare", "-f", "raw", "-F", "raw", converted, empty).Output, "identical", "the empty name reaches the export");

        // qemu-img map: base:allocation (data where a layer holds data, zero past the base), and through
        // x-dirty-bitmap=qemu:allocation-depth the depth, as qemu documents (depth 1 -> "data": false, 2 -> "zero": true).
        List<(long Start, long Length, bool Data, bool Zero)> map = Map(serve.Uri);
        CollectionAssert.AreEqual(new[] { (0L, Size / 2, true, false), (Size / 2, Size / 2, false, true) }, map, "base:allocation");
        List<(long Start, long Length, bool Data, bool Zero)> depth = Map(
            $"driver=nbd,export=vm1,server.type=unix,server.path={socket},x-dirty-bitmap=qemu:allocation-depth", imageOpts: true);
        CollectionAssert.AreEqual(new[]
        {
            (0L, 1L << 20, true, true), (1L << 20, 64L << 10, false, false), ((1L << 20) + (64 << 10), (Size / 2) - (1L << 20) - (64 << 10), true, true),
            (Size / 2, Size / 2, true, false),
        }, depth, "allocation depth 2 (base), 1 (overlay), 2, then 0 past the base");

        Assert.AreEqual(Size.ToString(System.Globalization.CultureInfo.InvariantCulture), Workspace.ToolOk("nbdinfo", "--size", serve.Uri).Output.Trim());
        string[] depthMap = Lines(Workspace.ToolOk("nbdinfo", "--map=qemu:allocation-depth", serve.Uri).Output);
        CollectionAssert.AreEqual(new[]
        {
            "0 1048576 2 backing depth 2", "1048576 65536 1 local", "1114112 15663104 2 backing depth 2", "16777216 16777216 0 absent",
        }, depthMap);
        string[] allocation = Lines(Workspace.ToolOk("nbdinfo", "--map", serve.Uri).Output);
        CollectionAssert.AreEqual(new[] { "0 16777216 0 data", "16777216 16777216 3 hole,zero" }, allocation);

        string copied = ws.Combine("copied.raw");
        Workspace.ToolOk("nbdcopy", serve.Uri, copied);
        Workspace.AssertSameBytes(converted, copied);

        // Listed with the mounts, one address; a second writer is refused while it serves.
        MountInfo listed = ws.ListMounts().Single();
        Assert.AreEqual(serve.Uri, listed.MountPoint);
        CollectionAssert.AreEqual(new[] { serve.Uri }, listed.Files);
        ProcessResult second = ws.AddCow("io", "-c", "write 0 512", image);
        Assert.AreEqual(1, second.ExitCode, second.Describe());
        StringAssert.Contains(second.Error, "in use");

        ws.AddCowOk("unmount", serve.Uri);
        Assert.AreEqual(0, serve.WaitForExit());
        Assert.IsFalse(File.Exists(socket), "the socket is removed");
        Assert.IsEmpty(ws.ListMounts());
    }

    [TestMethod]
    public void QemuIo_PatternWritesAndFlush_ReadBackAfterARestart_AndSigtermExitsZero()
    {
        E2eEnvironment.Require("qemu-io");
        using var ws = new Workspace(baseSize: Size);
        string image = ws.CreateOverlay("vm1");
        string socket = NbdServe.SocketIn(ws);
        using (NbdServe serve = NbdServe.Start(ws, image, "--socket", socket))
        {
            Workspace.ToolOk("qemu-io", "-f", "raw", "-c", "write -P 0x5a 4M 1M", "-c", "write -P 0xc3 7M 4096", "-c", "write -P 0x11 9M 1536",
                "-c", "flush", "-c", "read -P 0x5a 4M 1M", serve.Uri);
            Assert.AreEqual(0, Posix.Kill(serve.Process.Id, Posix.SIGTERM));
            Assert.AreEqual(0, serve.WaitForExit(), serve.Errors.Result);
            StringAssert.Contains(serve.LaterOutput.Result, "Stopped serving");
        }

        using (NbdServe again = NbdServe.Start(ws, image, "--socket", socket, "--read-only"))
        {
            ProcessResult read = Workspace.ToolOk("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x5a 4M 1M", "-c", "read -P 0xc3 7M 4096", "-c", "read -P 0x11 9M 1536",
                again.Uri);
            Assert.DoesNotContain("Pattern verification failed", read.Output, read.Describe());
            ProcessResult refused = Workspace.Tool("qemu-io", "-f", "raw", "-c", "write -P 0x01 0 4096", again.Uri);
            Assert.AreNotEqual(0, refused.ExitCode + (refused.Output.Contains("failed", StringComparison.Ordinal) ? 1 : 0), refused.Describe());
            ws.AddCowOk("unmount", again.Uri);
            Assert.AreEqual(0, again.WaitForExit());
        }

        Assert.AreEqual(0, ws.AddCow("check", image).ExitCode);
        byte[] data = Workspace.ReadRange(ws.Combine("vm1.raw"), 9L << 20, 1536);
        Assert.IsTrue(data.AsSpan().IndexOfAnyExcept((byte)0x11) < 0, "the image file holds the write");
    }

    /// <summary>Both host cache modes: writeback (the default) and none, where writes of 128 KiB and more go around the page cache.</summary>
    [TestMethod]
    [DataRow("writeback")]
    [DataRow("none")]
    public void Fio_NbdEngine_FourConnectionsCrc32cVerify_OverTcp(string cache)
    {
        E2eEnvironment.Require("fio");
        using var ws = new Workspace(baseSize: Size);
        string image = ws.CreateOverlay("vm1");
        int port = NbdServe.FreePort();
        using NbdServe serve = NbdServe.Start(ws, image, "--listen", $"127.0.0.1:{port}", "--cache", cache);
        Assert.AreEqual($"nbd://127.0.0.1:{port}/vm1", serve.Uri);
        ProcessResult run = Workspace.ToolOk("fio", "--name=nbd-verify", "--ioengine=nbd", $"--uri={serve.Uri}", "--rw=randwrite", "--bsrange=512-512k",
            "--numjobs=4", "--iodepth=16", "--size=6m", "--offset=2m", "--offset_increment=6m", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1",
            "--group_reporting", $"--directory={ws.Folder}");
        Assert.Contains("err= 0", run.Output, run.Describe());
        TestContext.WriteLine(run.Output.Split('\n').FirstOrDefault(l => l.Contains("write:", StringComparison.Ordinal)) ?? string.Empty);
        ws.AddCowOk("unmount", serve.Uri);
        Assert.AreEqual(0, serve.WaitForExit());
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");
    }

    [TestMethod]
    public void WritableExportBeyondLoopback_WithoutTls_IsRefused()
    {
        using var ws = new Workspace(baseSize: 1 << 20);
        string image = ws.CreateOverlay("vm1");
        string before = Workspace.Sha256(image);
        ProcessResult refused = ws.AddCow("serve", "--listen", $"0.0.0.0:{NbdServe.FreePort()}", image);
        Assert.AreEqual(1, refused.ExitCode, refused.Describe());
        StringAssert.Contains(refused.Error, "without TLS");
        Assert.AreEqual(1, refused.Error.Trim().Split('\n').Length, "one line");
        Assert.AreEqual(before, Workspace.Sha256(image));
        ProcessResult both = ws.AddCow("serve", "--socket", ws.Combine("s"), "--listen", "127.0.0.1:1", image);
        Assert.AreEqual(2, both.ExitCode, both.Describe());
    }

    private static List<(long Start, long Length, bool Data, bool Zero)> Map(string target, bool imageOpts = false)
    {
        ProcessResult map = imageOpts
            ? Workspace.ToolOk("qemu-img", "map", "--output", "json", "--image-opts", target)
            : Workspace.ToolOk("qemu-img", "map", "--output", "json", "-f", "raw", target);
        return JsonDocument.Parse(map.Output).RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64(), e.GetProperty("data").GetBoolean(), e.GetProperty("zero").GetBoolean()))
            .ToList();
    }

    private static string[] Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .ToArray();

    /// <summary>
    /// `addcow unmount ADDRESS` answers every time: an export stops so fast that its "ok" used to be cancelled with
    /// the control channel now and then (about one stop in twelve here), and unmount said "does not answer".
    /// </summary>
    [TestMethod]
    public void Unmount_OfAnExport_IsAnsweredEveryTime()
    {
        E2eEnvironment.Require("qemu-img");
        using var ws = new Workspace(4L << 20, seed: 31);
        string image = ws.CreateOverlay("vm1");
        string socket = NbdServe.SocketIn(ws);
        for (int round = 0; round < 12; round++)
        {
            using NbdServe serve = NbdServe.Start(ws, image, "--socket", socket, "--read-only");
            Workspace.ToolOk("qemu-img", "info", "-f", "raw", serve.Uri);
            ws.AddCowOk("unmount", serve.Uri);
            Assert.AreEqual(0, serve.WaitForExit(), $"round {round}: addcow serve exits 0 after the unmount\n{serve.Errors.Result}");
        }
    }
}
