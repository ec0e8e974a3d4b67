using System.Diagnostics;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

[TestClass]
public sealed class CreateTests
{
    [TestMethod]
    public void Create_AddCowFileExists_AlreadyExistsAndUntouched()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("disk.add-cow");
        File.WriteAllBytes(path, EngineFiles.Pattern(5000, 3));
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Create(path, new ImageCreateOptions { Size = 1 << 20 }));

        Assert.AreEqual(AddCowError.AlreadyExists, ex.Error);
        StringAssert.Contains(ex.Message, "disk.add-cow");
        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    [TestMethod]
    public void Create_ImageFileHasData_AlreadyExistsAndNoAddCowFileMade()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.Combine("disk.raw"), EngineFiles.Pattern(4096, 4));
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { Size = 1 << 20 }));

        Assert.AreEqual(AddCowError.AlreadyExists, ex.Error);
        StringAssert.Contains(ex.Message, "disk.raw");
        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    [TestMethod]
    public void Create_EmptyImageFileExists_IsReusedAndSized()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.Combine("disk.raw"), []);

        AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { Size = 1 << 20 });

        Assert.AreEqual(1 << 20, new FileInfo(temp.Combine("disk.raw")).Length);
    }

    [TestMethod]
    public void Create_NoBacking_MakesSeedSizedFilesAndASparseImage()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("disk.add-cow");
        const long size = 1L << 30;

        AddCowImage.Create(path, new ImageCreateOptions { Size = size });

        Assert.AreEqual(AddCowHeader.Length + (size / 512 / 8), new FileInfo(path).Length);
        Assert.AreEqual(size, new FileInfo(temp.Combine("disk.raw")).Length);
        if (OperatingSystem.IsLinux())
        {
            Assert.IsLessThan(1024 * 1024, AllocatedBytes(temp.Combine("disk.raw")), "image file is not sparse");
        }

        using AddCowImage image = AddCowImage.Open(path);
        Assert.AreEqual(size, image.Length);
        Assert.AreEqual(0, image.AllocatedSectors);
        byte[] tail = new byte[512];
        image.ReadSectors((size / 512) - 1, tail);
        Assert.IsTrue(tail.All(b => b == 0));
    }

    [TestMethod]
    public void Create_SmallDisk_AddCowFileIsTheSeeds2560Bytes()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("disk.add-cow");

        AddCowImage.Create(path, new ImageCreateOptions { Size = 1 << 20 });

        Assert.AreEqual(2560, new FileInfo(path).Length);
    }

    [TestMethod]
    public void Create_SizeOmitted_TakesBackingSizeRoundedDownToSectors()
    {
        using var temp = new TempDirectory();
        EngineFiles.WriteRaw(temp, "base.raw", 1049276, 5);
        string path = temp.Combine("disk.add-cow");

        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw" });

        using AddCowImage image = AddCowImage.Open(path);
        Assert.AreEqual(1049088UL, image.Header.Size); // as the seed's size-from-backing golden case
        byte[] backing = File.ReadAllBytes(temp.Combine("base.raw"));
        CollectionAssert.AreEqual(backing[..1049088], EngineFiles.ReadAll(image));
    }

    [TestMethod]
    public void Create_BackingMissing_FailsAndLeavesNothingBehind()
    {
        using var temp = new TempDirectory();
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { BackingFile = "gone.raw" }));

        Assert.AreEqual(AddCowError.BackingNotFound, ex.Error);
        StringAssert.Contains(ex.Message, "gone.raw");
        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    [TestMethod]
    public void Create_ImageFileCannotBeCreated_FailsAndLeavesNothingBehind()
    {
        using var temp = new TempDirectory();
        EngineFiles.WriteRaw(temp, "base.raw", 64 * 1024, 6);
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { BackingFile = "base.raw", ImageFile = "no-such-dir/disk.raw" }));

        Assert.AreEqual(AddCowError.IoError, ex.Error);
        StringAssert.Contains(ex.Message, "disk.add-cow");
        EngineFiles.AssertUnchanged(before, temp.Path);
        Assert.AreEqual(1, Directory.GetFileSystemEntries(temp.Path).Length, "a temporary file was left behind");
    }

    [TestMethod]
    [DataRow("//server/share/base.raw")]
    [DataRow("/dev/sda")]
    [DataRow("nbd://host/export")]
    public void Create_UnsafeBackingName_RefusedAndNothingCreated(string backing)
    {
        using var temp = new TempDirectory();

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { BackingFile = backing, Size = 1 << 20 }));

        Assert.AreEqual(AddCowError.UnsafePath, ex.Error);
        Assert.IsEmpty(Directory.GetFileSystemEntries(temp.Path));
    }

    [TestMethod]
    public void Create_NameTooLong_RefusedBeforeAnythingIsWritten()
    {
        using var temp = new TempDirectory();

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(temp.Combine("disk.add-cow"), new ImageCreateOptions { BackingFile = new string('x', 1024), Size = 1 << 20 }));

        Assert.AreEqual(AddCowError.NameTooLong, ex.Error);
        Assert.IsEmpty(Directory.GetFileSystemEntries(temp.Path));
    }

    [TestMethod]
    public void Create_OverLiveImageWithForce_RefusedInUse()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage open = AddCowImage.Open(path, new ImageOpenOptions { Writable = true });
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Force = true }));

        Assert.AreEqual(AddCowError.InUse, ex.Error);
        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    private static long AllocatedBytes(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        string[] parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
