using System.Buffers.Binary;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>
/// Every kind of bad input gets its own error code, a message naming the file at fault, and leaves every
/// file exactly as it was (read-only and read-write opens alike).
/// </summary>
[TestClass]
public sealed class BadInputTests
{
    private const int BackingName = AddCowHeader.FieldLocations.BackingFile;
    private const int ImageName = AddCowHeader.FieldLocations.ImageFile;

    [TestMethod]
    [DataRow("wrong-magic", AddCowError.BadMagic, "disk.add-cow", "")]
    [DataRow("qcow2-magic", AddCowError.BadMagic, "disk.add-cow", "qcow2")]
    [DataRow("vhd-magic", AddCowError.BadMagic, "disk.add-cow", "VHD")]
    [DataRow("wrong-version", AddCowError.UnsupportedVersion, "disk.add-cow", "version 2")]
    [DataRow("truncated-header", AddCowError.TruncatedHeader, "disk.add-cow", "1000 bytes")]
    [DataRow("empty-file", AddCowError.TruncatedHeader, "disk.add-cow", "")]
    [DataRow("truncated-bitmap", AddCowError.TruncatedBitmap, "disk.add-cow", "bitmap")]
    [DataRow("size-above-2^60", AddCowError.SizeOverflow, "disk.add-cow", "")]
    [DataRow("size-above-long", AddCowError.SizeOverflow, "disk.add-cow", "")]
    [DataRow("backing-name-without-nul", AddCowError.NameNotTerminated, "disk.add-cow", "backing_file")]
    [DataRow("image-name-without-nul", AddCowError.NameNotTerminated, "disk.add-cow", "image_file")]
    [DataRow("empty-image-name", AddCowError.ImageFileNotNamed, "disk.add-cow", "")]
    [DataRow("image-file-missing", AddCowError.ImageFileNotFound, "disk.raw", "")]
    [DataRow("image-file-too-short", AddCowError.ImageFileTooShort, "disk.raw", "")]
    [DataRow("backing-missing", AddCowError.BackingNotFound, "base.raw", "")]
    [DataRow("backing-is-qcow2", AddCowError.BackingUnsupported, "base.raw", "qcow2")]
    [DataRow("chain-loop-self", AddCowError.ChainLoop, "disk.add-cow", "")]
    [DataRow("chain-loop-a-b-a", AddCowError.ChainLoop, "mid.add-cow", "")]
    [DataRow("image-is-add-cow-file", AddCowError.ChainLoop, "disk.add-cow", "")]
    [DataRow("chain-too-deep", AddCowError.ChainTooDeep, "l1.add-cow", "deeper than 3")]
    [DataRow("backing-unc", AddCowError.UnsafePath, "disk.add-cow", "UNC")]
    [DataRow("backing-unc-backslash", AddCowError.UnsafePath, "disk.add-cow", "UNC")]
    [DataRow("backing-dev", AddCowError.UnsafePath, "disk.add-cow", "device")]
    [DataRow("backing-protocol", AddCowError.UnsafePath, "disk.add-cow", "protocol")]
    [DataRow("image-unc", AddCowError.UnsafePath, "disk.add-cow", "UNC")]
    [DataRow("image-dev", AddCowError.UnsafePath, "disk.add-cow", "device")]
    public void Open_BadInput_FailsWithCodeNamingFileAndChangesNothing(string mutation, AddCowError expected, string fileAtFault, string messagePart)
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        int maxDepth = Mutate(mutation, temp, path);
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        foreach (bool writable in new[] { false, true })
        {
            AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
                AddCowImage.Open(path, new ImageOpenOptions { Writable = writable, MaxChainDepth = maxDepth }).Dispose());

            Assert.AreEqual(expected, ex.Error, ex.Message);
            StringAssert.Contains(ex.Message, fileAtFault, "the message must name the file");
            StringAssert.Contains(ex.Message, messagePart);
            Assert.IsNotNull(ex.FilePath);
            EngineFiles.AssertUnchanged(before, temp.Path);
        }
    }

    [TestMethod]
    public void Open_UnsafeBackingWithExplicitOption_GetsPastThePolicy()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        EngineFiles.PatchName(path, BackingName, "//no-such-server/share/base.raw");

        AddCowException refused = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(path).Dispose());
        AddCowException allowed = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Open(path, new ImageOpenOptions { AllowUnsafePaths = true }).Dispose());

        Assert.AreEqual(AddCowError.UnsafePath, refused.Error);
        Assert.AreEqual(AddCowError.BackingNotFound, allowed.Error, "with the option the name is tried like any other");
    }

    [TestMethod]
    public void Open_RelativeBacking_ResolvesAgainstTheImagesFolderNotTheCurrentDirectory()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        Assert.AreNotEqual(temp.Path, Environment.CurrentDirectory);

        using AddCowImage image = AddCowImage.Open(path);

        Assert.AreEqual(temp.Combine("base.raw"), image.BackingFilePath);
        Assert.AreEqual(temp.Combine("disk.raw"), image.ImageFilePath);
    }

    /// <summary>
    /// Permission denied. Tests usually run as root here, where chmod 000 is not enforced; then the backing
    /// name is made a directory, which the OS refuses to open as a file for root too (EISDIR, reported by .NET as
    /// access denied). As another user the real chmod 000 path is taken.
    /// </summary>
    [TestMethod]
    public void Open_BackingWithoutPermission_FailsAccessDeniedAndChangesNothing()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        string backing = temp.Combine("base.raw");
        bool root = OperatingSystem.IsLinux() && Environment.UserName == "root";
        if (root || OperatingSystem.IsWindows())
        {
            File.Delete(backing);
            Directory.CreateDirectory(backing);
        }
        else
        {
            File.SetUnixFileMode(backing, UnixFileMode.None);
        }

        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);
        try
        {
            AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(path).Dispose());
            Assert.AreEqual(AddCowError.AccessDenied, ex.Error, ex.Message);
            StringAssert.Contains(ex.Message, "base.raw");
            EngineFiles.AssertUnchanged(before, temp.Path);
        }
        finally
        {
            if (!root && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(backing, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    [TestMethod]
    [DataRow(-1L, 512)]
    [DataRow(128L, 512)]
    [DataRow(127L, 1024)]
    [DataRow(long.MaxValue / 512, 512)]
    public void SectorIo_OutOfRange_ThrowsOutOfRangeAndWritesNothing(long sector, int length)
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024); // 128 sectors
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);
        using (AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Writable = true }))
        {
            byte[] buffer = new byte[length];
            Assert.AreEqual(AddCowError.OutOfRange, Assert.ThrowsExactly<AddCowException>(() => image.ReadSectors(sector, buffer)).Error);
            AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => image.WriteSectors(sector, buffer));
            Assert.AreEqual(AddCowError.OutOfRange, ex.Error);
            StringAssert.Contains(ex.Message, "disk.add-cow");
            Assert.AreEqual(0, image.AllocatedSectors);
        }

        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    [TestMethod]
    [DataRow(-1L, 1)]
    [DataRow(65536L, 1)]
    [DataRow(65535L, 2)]
    [DataRow(long.MaxValue, 1)]
    public void ByteIo_OutOfRange_ThrowsOutOfRangeAndWritesNothing(long offset, int length)
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true })))
        {
            byte[] buffer = new byte[length];
            Assert.AreEqual(AddCowError.OutOfRange, Assert.ThrowsExactly<AddCowException>(() => disk.Read(offset, buffer)).Error);
            Assert.AreEqual(AddCowError.OutOfRange, Assert.ThrowsExactly<AddCowException>(() => disk.Write(offset, buffer)).Error);
        }

        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    [TestMethod]
    public void Write_ReadOnlyOpen_RefusedAndChangesNothing()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);
        using (AddCowImage image = AddCowImage.Open(path))
        {
            Assert.AreEqual(AddCowError.ReadOnly, Assert.ThrowsExactly<AddCowException>(() => image.WriteSectors(0, new byte[512])).Error);
            using var disk = new SectorAligningDisk(image, ownsDevice: false);
            Assert.IsFalse(disk.CanWrite);
            Assert.AreEqual(AddCowError.ReadOnly, Assert.ThrowsExactly<AddCowException>(() => disk.Write(3, new byte[5])).Error);
        }

        EngineFiles.AssertUnchanged(before, temp.Path);
    }

    /// <summary>Applies one mutation to a fresh disk.add-cow (image disk.raw, backing base.raw); returns the depth limit to open with.</summary>
    private static int Mutate(string mutation, TempDirectory temp, string path)
    {
        switch (mutation)
        {
            case "wrong-magic":
                EngineFiles.Patch(path, 0, "NOT_COW!"u8);
                break;
            case "qcow2-magic":
                EngineFiles.Patch(path, 0, [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]);
                break;
            case "vhd-magic":
                EngineFiles.Patch(path, 0, "conectix"u8);
                break;
            case "wrong-version":
                byte[] version = new byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(version, 2);
                EngineFiles.Patch(path, AddCowHeader.FieldLocations.Version, version);
                break;
            case "truncated-header":
                TruncateTo(path, 1000);
                break;
            case "empty-file":
                TruncateTo(path, 0);
                break;
            case "truncated-bitmap":
                EngineFiles.PatchU64(path, AddCowHeader.FieldLocations.Size, 64UL * 1024 * 1024); // needs 16 KiB of bitmap
                break;
            case "size-above-2^60":
                EngineFiles.PatchU64(path, AddCowHeader.FieldLocations.Size, (1UL << 60) + 512);
                break;
            case "size-above-long":
                EngineFiles.PatchU64(path, AddCowHeader.FieldLocations.Size, ulong.MaxValue - 511);
                break;
            case "backing-name-without-nul":
                EngineFiles.Patch(path, BackingName, Enumerable.Repeat((byte)'a', 1024).ToArray());
                break;
            case "image-name-without-nul":
                EngineFiles.Patch(path, ImageName, Enumerable.Repeat((byte)'b', 1024).ToArray());
                break;
            case "empty-image-name":
                EngineFiles.PatchName(path, ImageName, string.Empty);
                break;
            case "image-file-missing":
                File.Delete(temp.Combine("disk.raw"));
                break;
            case "image-file-too-short":
                TruncateTo(temp.Combine("disk.raw"), 64 * 1024 - 512);
                break;
            case "backing-missing":
                File.Delete(temp.Combine("base.raw"));
                break;
            case "backing-is-qcow2":
                EngineFiles.Patch(temp.Combine("base.raw"), 0, [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]);
                break;
            case "chain-loop-self":
                EngineFiles.PatchName(path, BackingName, "disk.add-cow");
                break;
            case "chain-loop-a-b-a":
                AddCowImage.Create(temp.Combine("mid.add-cow"), new ImageCreateOptions { BackingFile = "base.raw" });
                EngineFiles.PatchName(path, BackingName, "mid.add-cow");
                EngineFiles.PatchName(temp.Combine("mid.add-cow"), BackingName, "disk.add-cow");
                break;
            case "image-is-add-cow-file":
                EngineFiles.PatchName(path, ImageName, "./disk.add-cow");
                break;
            case "chain-too-deep":
                // disk -> l3 -> l2 -> l1 -> base: five layers, limit three.
                AddCowImage.Create(temp.Combine("l1.add-cow"), new ImageCreateOptions { BackingFile = "base.raw" });
                AddCowImage.Create(temp.Combine("l2.add-cow"), new ImageCreateOptions { BackingFile = "l1.add-cow" });
                AddCowImage.Create(temp.Combine("l3.add-cow"), new ImageCreateOptions { BackingFile = "l2.add-cow" });
                EngineFiles.PatchName(path, BackingName, "l3.add-cow");
                return 3;
            case "backing-unc":
                EngineFiles.PatchName(path, BackingName, "//attacker.example/share/base.raw");
                break;
            case "backing-unc-backslash":
                EngineFiles.PatchName(path, BackingName, @"\\attacker.example\share\base.raw");
                break;
            case "backing-dev":
                EngineFiles.PatchName(path, BackingName, "/dev/sda");
                break;
            case "backing-protocol":
                EngineFiles.PatchName(path, BackingName, "http://attacker.example/base.raw");
                break;
            case "image-unc":
                EngineFiles.PatchName(path, ImageName, "//attacker.example/share/disk.raw");
                break;
            case "image-dev":
                EngineFiles.PatchName(path, ImageName, "/dev/zero");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mutation), mutation, "unknown mutation");
        }

        return 16;
    }

    private static void TruncateTo(string path, long length)
    {
        using FileStream stream = File.Open(path, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }
}
