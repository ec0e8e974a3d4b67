using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>The README's main job, `addcow demo`, as a new user runs it: every step it claims, with the real clients.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class DemoTests
{
    [TestMethod]
    public void Demo_MountsWritesFormats_QemuReadsEveryView_UnmountsWithTheBaseUnchanged()
    {
        E2eEnvironment.Require("qemu-img", "mkfs.ext4", "e2fsck", "fusermount3");
        using var ws = new Workspace();
        string dir = ws.Combine("demo");

        ProcessResult demo = ws.AddCowOk("demo", "--dir", dir);

        foreach (string claim in new[]
        {
            "Formatted the exposed disk with mkfs.ext4; e2fsck -f -n finds it clean.",
            "qemu-img reads demo.vhd as the same disk (vpc).",
            "qemu-img reads demo.vhdx as the same disk (vhdx).",
            "qemu-img reads demo.vmdk as the same disk (vmdk).",
            "the base image is unchanged.",
        })
        {
            StringAssert.Contains(demo.Output, claim, demo.Describe());
        }

        Assert.IsFalse(Workspace.IsMounted(Path.Combine(dir, "mnt")), "the demo unmounts");
        StringAssert.Contains(ws.AddCowOk("check", Path.Combine(dir, "demo.add-cow")).Output, "No errors");
        // What the demo wrote was flushed into the overlay: the composed disk still holds the clean ext4.
        ws.AddCowOk("convert", "-O", "raw", Path.Combine(dir, "demo.add-cow"), ws.Combine("demo-disk.raw"));
        Workspace.ToolOk("e2fsck", "-f", "-n", ws.Combine("demo-disk.raw"));
    }

    [TestMethod]
    public void DemoOfAGivenImage_MountsItReadOnly_AndSaysOnlyWhatItChecked()
    {
        E2eEnvironment.Require("qemu-img", "fusermount3");
        using var ws = new Workspace();
        string image = ws.CreateOverlay("vm1");
        string imageFile = ws.Combine("vm1.raw");
        string before = Workspace.Sha256(image) + Workspace.Sha256(imageFile);

        ProcessResult demo = ws.AddCowOk("demo", "--dir", ws.Combine("unused"), image);

        StringAssert.Contains(demo.Output, "(read-only)", demo.Describe());
        StringAssert.Contains(demo.Output, $"4. Unmounted; {image} was mounted read-only and is unchanged.", demo.Describe());
        Assert.IsFalse(demo.Output.Contains("flushed", StringComparison.Ordinal), "a read-only demo wrote nothing to flush: " + demo.Output);
        Assert.AreEqual(before, Workspace.Sha256(image) + Workspace.Sha256(imageFile), "the image and its image file are untouched");
    }
}
