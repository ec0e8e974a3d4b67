using System.Runtime.Versioning;
using System.Text.Json;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>The .vhd and .vmdk views as QEMU, a real client, reads them off the mount.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class ViewClientTests
{
    [TestMethod]
    public void QemuImg_ReadsVhdAndVmdkViews_WithDiskSize_AndFindsThemIdenticalToImg()
    {
        E2eEnvironment.Require("qemu-img");
        // An odd (but sector-multiple) size so a geometry-rounded VHD size would show.
        const long size = (48L << 20) + (7 * 512);
        using var ws = new Workspace(baseSize: size);
        string image = ws.CreateOverlay();
        // The overlay differs from the base in places: the views must show the composed disk.
        ws.AddCowOk("io", "-c", "write -P 0x5a 1000 70000", "-c", $"write -P 0xa5 {size - 4096} 4096", image);
        string mnt = ws.NewMountPoint();
        ws.MountBackground(image, mnt, "--read-only");
        string img = Path.Combine(mnt, "vm.img");
        string vhd = Path.Combine(mnt, "vm.vhd");
        string vmdk = Path.Combine(mnt, "vm.vmdk");

        using (JsonDocument info = JsonDocument.Parse(Workspace.ToolOk("qemu-img", "info", "--output", "json", "-f", "vpc", vhd).Output))
        {
            Assert.AreEqual("vpc", info.RootElement.GetProperty("format").GetString());
            Assert.AreEqual(size, info.RootElement.GetProperty("virtual-size").GetInt64(), "the .vhd view's virtual size");
        }

        using (JsonDocument info = JsonDocument.Parse(Workspace.ToolOk("qemu-img", "info", "--output", "json", vmdk).Output))
        {
            Assert.AreEqual("vmdk", info.RootElement.GetProperty("format").GetString(), "qemu-img detects the descriptor as vmdk");
            Assert.AreEqual(size, info.RootElement.GetProperty("virtual-size").GetInt64(), "the .vmdk view's virtual size");
        }

        Assert.AreEqual(size, new FileInfo(img).Length);
        Assert.AreEqual(size + 512, new FileInfo(vhd).Length, "a fixed VHD is the disk plus a 512-byte footer");

        ProcessResult vhdCompare = Workspace.ToolOk("qemu-img", "compare", "-f", "vpc", "-F", "raw", vhd, img);
        StringAssert.Contains(vhdCompare.Output, "Images are identical.");
        ProcessResult vmdkCompare = Workspace.ToolOk("qemu-img", "compare", "-f", "vmdk", "-F", "raw", vmdk, img);
        StringAssert.Contains(vmdkCompare.Output, "Images are identical.");

        // And the views hold the overlay's data, not the base's: compare refuses the base.
        ProcessResult againstBase = Workspace.Tool("qemu-img", "compare", "-f", "vpc", "-F", "raw", vhd, ws.BasePath);
        Assert.AreEqual(1, againstBase.ExitCode, againstBase.Describe());
        StringAssert.Contains(againstBase.Output, "Content mismatch at offset 512!");

        // Also with qemu-img reading the views while the mount is writable.
        ws.AddCowOk("unmount", mnt);
        ws.MountBackground(image, mnt);
        StringAssert.Contains(Workspace.ToolOk("qemu-img", "compare", "-f", "vmdk", "-F", "vpc", vmdk, vhd).Output, "Images are identical.");
    }
}
