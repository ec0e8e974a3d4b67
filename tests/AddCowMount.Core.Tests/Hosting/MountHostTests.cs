using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Hosting;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Tests.Hosting;

/// <summary>
/// One mount's lifetime against a fake backend: what is written through the volume is in the image after the mount
/// ends whatever failed on the way, a failed final flush is an error, and a stop that waits for idle never cuts off
/// a file opened meanwhile.
/// </summary>
[TestClass]
public sealed class MountHostTests
{
    private const int Size = 1 << 20;
    private const long WriteOffset = 64 * 1024;

    [TestMethod]
    public void Dispose_WhenTheBackendsStopThrows_StillRecordsTheWritesAndClosesTheImage()
    {
        using var temp = new TempDirectory();
        string image = CreateImage(temp);
        var backend = new FakeMountBackend { StopFailure = new IOException("'mnt' was detached, but files opened through it are still in use") };
        byte[] data = Pattern(4096);
        var host = Start(temp, image, backend);
        Write(backend.Mounted.Volume, data);

        host.Dispose();

        Assert.IsTrue(host.Completion.IsCompletedSuccessfully, "the data is safe, so the stop failure alone is no error");
        Assert.AreEqual(1, backend.Mounted.DisposeCount, "the mount is released after its stop failed");
        // The exclusive lock is gone and the bitmap records the write: the final flush and the close both ran.
        using AddCowImage reopened = AddCowImage.Open(image, new ImageOpenOptions { Writable = true });
        Assert.IsTrue(reopened.IsAllocated(WriteOffset / 512));
        byte[] back = new byte[data.Length];
        reopened.ReadSectors(WriteOffset / 512, back);
        CollectionAssert.AreEqual(data, back);
        Assert.IsEmpty(new MountRegistry(temp.Combine("registry")).List(), "the record is withdrawn");
    }

    [TestMethod]
    public void FinalFlushFailure_FaultsCompletion_AndIsLoggedAsAnError()
    {
        var storage = new MemoryStorage();
        string dir = Path.Combine(Path.GetTempPath(), $"addcow-host-{Guid.NewGuid():N}");
        string image = Path.Combine(dir, "disk.add-cow");
        storage.AddFile(Path.Combine(dir, "base.raw"), new byte[Size]);
        AddCowImage.Create(image, new ImageCreateOptions { BackingFile = "base.raw", Storage = storage });
        bool failFlushes = false;
        storage.FaultHook = point => failFlushes && point.Operation == "flush" && point.Path.EndsWith(".add-cow", StringComparison.Ordinal)
            ? new Fault(new IOException("Input/output error", 5))
            : null;
        using var registry = new TempDirectory();
        var logs = new CapturingLoggerFactory();
        var backend = new FakeMountBackend();
        var host = new MountHost(Request(image, registry.Path) with { Storage = storage }, backend, new MountRegistry(registry.Combine("mounts")), logs);
        host.Start();
        Write(backend.Mounted.Volume, Pattern(4096));
        failFlushes = true;

        host.Dispose();

        Assert.IsTrue(host.Completion.IsFaulted, "a final flush that failed must not look like a clean unmount");
        var error = (AddCowException)host.Completion.Exception!.InnerException!;
        Assert.AreEqual(AddCowError.IoError, error.Error);
        StringAssert.Contains(error.Message, "final flush failed");
        Assert.IsTrue(logs.Logger.Entries.Any(e => e.Level == LogLevel.Error && e.Message.Contains("final flush", StringComparison.Ordinal)));
        Assert.IsEmpty(new MountRegistry(registry.Combine("mounts")).List(), "the record is withdrawn all the same");
    }

    [TestMethod]
    public void RequestStop_WithoutForce_IsRefusedWhileAFileIsOpen_ThenStopsOnceClosed()
    {
        using var temp = new TempDirectory();
        var backend = new FakeMountBackend();
        using var host = Start(temp, CreateImage(temp), backend);
        IVolumeHandle handle = Open(backend.Mounted.Volume);

        Assert.IsFalse(host.RequestStop(force: false));
        Assert.IsFalse(host.Completion.IsCompleted);
        Assert.AreEqual(0, backend.Mounted.StopCount);
        Assert.AreEqual(1, host.OpenHandles);

        handle.Dispose();
        Assert.IsTrue(host.RequestStop(force: false));
        Assert.IsTrue(host.Completion.IsCompletedSuccessfully);
        Assert.AreEqual(1, backend.Mounted.StopCount);
    }

    [TestMethod]
    public void ControlUnmount_AnsweredOk_RefusesEveryOpenFromThenOn()
    {
        using var temp = new TempDirectory();
        var backend = new FakeMountBackend();
        using var host = Start(temp, CreateImage(temp), backend);

        Assert.AreEqual("ok", MountControl.Send(host.Record!.Control, "unmount", TimeSpan.FromSeconds(10)));

        // Between the answer and the unmount, a newly opened file would be cut off under its user: refused instead.
        Assert.AreEqual(VolumeStatus.AccessDenied, backend.Mounted.Volume.Open("/disk.img", VolumeAccess.Read, out IVolumeHandle? late));
        Assert.IsNull(late);
        Assert.IsTrue(host.Completion.Wait(TimeSpan.FromSeconds(30)));
    }

    [TestMethod]
    public void ControlUnmount_WithAFileOpen_AnswersBusy_AndKeepsServing()
    {
        using var temp = new TempDirectory();
        var backend = new FakeMountBackend();
        using var host = Start(temp, CreateImage(temp), backend);
        using IVolumeHandle handle = Open(backend.Mounted.Volume);

        Assert.AreEqual("busy 1", MountControl.Send(host.Record!.Control, "unmount", TimeSpan.FromSeconds(10)));
        Assert.AreEqual("handles 1", MountControl.Send(host.Record!.Control, "status", TimeSpan.FromSeconds(10)));

        Assert.IsFalse(host.Completion.IsCompleted);
        Assert.AreEqual(VolumeStatus.Success, backend.Mounted.Volume.Open("/disk.img", VolumeAccess.Read, out IVolumeHandle? second));
        second!.Dispose();
    }

    [TestMethod]
    public void ControlUnmountForce_WithAFileOpen_Unmounts()
    {
        using var temp = new TempDirectory();
        var backend = new FakeMountBackend();
        using var host = Start(temp, CreateImage(temp), backend);
        using IVolumeHandle handle = Open(backend.Mounted.Volume);

        Assert.AreEqual("ok", MountControl.Send(host.Record!.Control, "unmount --force", TimeSpan.FromSeconds(10)));

        Assert.IsTrue(host.Completion.Wait(TimeSpan.FromSeconds(30)));
        Assert.AreEqual(1, backend.Mounted.StopCount);
    }

    [TestMethod]
    public void UnmountedFromOutside_TheHostFlushesClosesAndWithdrawsTheRecord()
    {
        using var temp = new TempDirectory();
        string image = CreateImage(temp);
        var backend = new FakeMountBackend();
        using var host = Start(temp, image, backend);
        byte[] data = Pattern(512);
        Write(backend.Mounted.Volume, data);

        backend.Mounted.UnmountFromOutside();

        Assert.IsTrue(host.Completion.Wait(TimeSpan.FromSeconds(30)));
        Assert.IsEmpty(new MountRegistry(temp.Combine("registry")).List());
        using AddCowImage reopened = AddCowImage.Open(image, new ImageOpenOptions { Writable = true });
        Assert.IsTrue(reopened.IsAllocated(WriteOffset / 512));
    }

    [TestMethod]
    public void Start_AnnouncesTheMount_AndASecondMountOfTheSameFolderIsRefused()
    {
        using var temp = new TempDirectory();
        string mountPoint = temp.Combine("mnt");
        var backend = new FakeMountBackend();
        using var host = Start(temp, CreateImage(temp), backend);

        MountRecord record = new MountRegistry(temp.Combine("registry")).Find(mountPoint)!;
        Assert.AreEqual(Environment.ProcessId, record.Pid);
        Assert.AreEqual(host.Record!.Control, record.Control);
        CollectionAssert.AreEqual(new[] { "disk.img", "disk.vhd", "disk.vhdx", "disk.vmdk" }, record.Files.Select(Path.GetFileName).ToArray());
        Assert.IsTrue(record.Files.All(f => f.StartsWith(mountPoint + Path.DirectorySeparatorChar, StringComparison.Ordinal)));

        string other = EngineFilesCreate(temp, "other");
        using var second = new MountHost(Request(other, mountPoint), new FakeMountBackend(), new MountRegistry(temp.Combine("registry")), new CapturingLoggerFactory());
        var refused = Assert.ThrowsExactly<AddCowException>(second.Start);
        Assert.AreEqual(AddCowError.InUse, refused.Error);
    }

    [TestMethod]
    public void Start_WithAnUnavailableBackend_SaysWhy_AndLeavesTheImageUnlocked()
    {
        using var temp = new TempDirectory();
        string image = CreateImage(temp);
        var backend = new FakeMountBackend { UnavailableReason = "/dev/fuse is missing" };
        using var host = new MountHost(Request(image, temp.Combine("mnt")), backend, new MountRegistry(temp.Combine("registry")), new CapturingLoggerFactory());

        var refused = Assert.ThrowsExactly<AddCowException>(host.Start);

        StringAssert.Contains(refused.Message, "/dev/fuse is missing");
        using AddCowImage reopened = AddCowImage.Open(image, new ImageOpenOptions { Writable = true });
    }

    private static MountHost Start(TempDirectory temp, string image, FakeMountBackend backend)
    {
        var host = new MountHost(Request(image, temp.Combine("mnt")), backend, new MountRegistry(temp.Combine("registry")), new CapturingLoggerFactory());
        host.Start();
        return host;
    }

    private static MountRequest Request(string image, string mountPoint) => new()
    {
        ImagePath = image,
        MountPoint = mountPoint,
        WriteBackInterval = TimeSpan.Zero,
    };

    private static string CreateImage(TempDirectory temp) => EngineFilesCreate(temp, "disk");

    private static string EngineFilesCreate(TempDirectory temp, string name)
    {
        File.WriteAllBytes(temp.Combine(name + ".base"), new byte[Size]);
        string path = temp.Combine(name + ".add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = name + ".base" });
        return path;
    }

    private static IVolumeHandle Open(IVolume volume)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.Open("/disk.img", VolumeAccess.ReadWrite, out IVolumeHandle? handle));
        return handle!;
    }

    private static void Write(IVolume volume, byte[] data)
    {
        using IVolumeHandle handle = Open(volume);
        Assert.AreEqual(VolumeStatus.Success, handle.Write(WriteOffset, data, out int written));
        Assert.AreEqual(data.Length, written);
    }

    private static byte[] Pattern(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}
