using System.Diagnostics;
using AddCowMount.Core.Hosting;

namespace AddCowMount.Core.Tests.Hosting;

/// <summary>The per-user folder where mounts are announced: what the CLI's list and the tray read.</summary>
[TestClass]
public sealed class MountRegistryTests
{
    [TestMethod]
    public void Register_ThenFind_ByAnySpellingOfTheMountPoint()
    {
        using var temp = new TempDirectory();
        var registry = new MountRegistry(temp.Combine("mounts"));
        string mountPoint = temp.Combine("mnt");
        registry.Register(Record(mountPoint, Environment.ProcessId));

        MountRecord found = registry.Find(mountPoint + "/")!;

        Assert.AreEqual(mountPoint, found.MountPoint);
        Assert.AreEqual("/images/vm.add-cow", found.Image);
        Assert.AreEqual(1, registry.List().Count);
        Assert.IsNull(registry.Find(temp.Combine("other")));
    }

    [TestMethod]
    public void RecordsOfDeadProcesses_AreDroppedOnListing()
    {
        using var temp = new TempDirectory();
        var registry = new MountRegistry(temp.Combine("mounts"));
        using Process exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        registry.Register(Record(temp.Combine("dead"), exited.Id));
        registry.Register(Record(temp.Combine("alive"), Environment.ProcessId));

        List<MountRecord> live = registry.List();

        Assert.AreEqual(temp.Combine("alive"), live.Single().MountPoint);
        Assert.AreEqual(1, Directory.GetFiles(registry.Folder, "*.json").Length, "the dead process's record file is removed");
    }

    [TestMethod]
    public void Unregister_RemovesOnlyTheOwningProcesssRecord()
    {
        using var temp = new TempDirectory();
        var registry = new MountRegistry(temp.Combine("mounts"));
        string mountPoint = temp.Combine("mnt");
        registry.Register(Record(mountPoint, Environment.ProcessId));

        registry.Unregister(mountPoint, Environment.ProcessId + 1);
        Assert.IsNotNull(registry.Find(mountPoint), "another process's unregister must not withdraw this mount");

        registry.Unregister(mountPoint, Environment.ProcessId);
        Assert.IsNull(registry.Find(mountPoint));
    }

    [TestMethod]
    public void ACorruptRecordFile_IsIgnored()
    {
        using var temp = new TempDirectory();
        var registry = new MountRegistry(temp.Combine("mounts"));
        registry.Register(Record(temp.Combine("mnt"), Environment.ProcessId));
        File.WriteAllText(Path.Combine(registry.Folder, "mount-garbage.json"), "{ not json");

        Assert.AreEqual(1, registry.List().Count);
    }

    private static MountRecord Record(string mountPoint, int pid) =>
        new(mountPoint, "/images/vm.add-cow", pid, false, [Path.Combine(mountPoint, "vm.img")], DateTime.UtcNow, "addcow-mount-test");
}
