using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>fio, several jobs at once, writing and verifying through the mount; then the data outlives the mount.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class FioVerifyTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Fio_FourJobsRandWriteVerify_ThroughMount_PersistsAcrossRemount()
    {
        E2eEnvironment.Require("fio");
        using var ws = new Workspace();
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        ws.MountBackground(image, mnt);
        string img = Path.Combine(mnt, "vm.img");

        // Four jobs on disjoint 6 MiB slices, mixed block sizes (sub-sector tails never: fio's direct I/O is 512-aligned).
        string[] Job(bool verifyOnly) =>
        [
            "--name=addcow-e2e", $"--filename={img}", "--rw=randwrite", "--bsrange=4k-64k", "--direct=1",
            "--ioengine=psync", "--numjobs=4", "--size=6m", "--offset=2m", "--offset_increment=6m",
            "--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--randrepeat=1", "--randseed=4242",
            "--group_reporting", "--output-format=terse", "--terse-version=3",
            .. verifyOnly ? new[] { "--verify_only" } : [],
        ];

        ProcessResult run = Workspace.ToolOk("fio", Job(verifyOnly: false));
        TestContext.WriteLine($"fio write+verify: {Terse(run.Output)}");
        Assert.AreEqual(string.Empty, run.Error.Trim(), run.Describe());

        ws.AddCowOk("unmount", mnt);
        ProcessResult check = ws.AddCowOk("check", image);
        StringAssert.Contains(check.Output, "No errors");

        // Remount (fio's verify-only pass opens the file read-write, writing nothing). Bytes outside the jobs' slices still are the base's.
        byte[] head = Workspace.ReadRange(ws.BasePath, 0, 2 << 20);
        ws.MountBackground(image, mnt);
        CollectionAssert.AreEqual(head, Workspace.ReadRange(img, 0, 2 << 20), "the first 2 MiB, untouched by fio, read as the base");
        ProcessResult verify = Workspace.ToolOk("fio", Job(verifyOnly: true));
        TestContext.WriteLine($"fio verify-only after remount: {Terse(verify.Output)}");
        Assert.AreEqual(string.Empty, verify.Error.Trim(), verify.Describe());
        ws.AddCowOk("unmount", mnt);
    }

    private static string Terse(string output)
    {
        // terse v3: field 6 = read KiB, 47 = written KiB (group-reported).
        string[] f = output.Trim().Split('\n')[^1].Split(';');
        return f.Length > 47 ? $"read {f[5]} KiB, written {f[46]} KiB" : output;
    }
}
