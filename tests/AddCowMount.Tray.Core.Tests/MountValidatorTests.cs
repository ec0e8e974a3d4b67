using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Platform;
using Moq;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
public sealed class MountValidatorTests
{
    private static readonly string s_image = TestData.Image("disk.add-cow");
    private static readonly string s_folder = Path.Combine(Path.GetTempPath(), "mnt");

    private static Mock<IFileSystemProbe> Probe()
    {
        var probe = new Mock<IFileSystemProbe>();
        probe.Setup(p => p.FileExists(s_image)).Returns(true);
        probe.Setup(p => p.IsDriveLetterInUse('E')).Returns(true);
        probe.Setup(p => p.GetFolderState(s_folder)).Returns(FolderState.Empty);
        return probe;
    }

    [TestMethod]
    [DataRow("x", "X:")]
    [DataRow("x:", "X:")]
    [DataRow(" Q:\\ ", "Q:")]
    [DataRow("Z:/", "Z:")]
    public void NormalizeMountPoint_DriveForms_BecomeLetterColon(string input, string expected)
    {
        Assert.AreEqual(expected, MountValidator.NormalizeMountPoint(input));
    }

    [TestMethod]
    public void ValidateMount_FreeDriveAndExistingImage_IsValid()
    {
        Assert.IsNull(MountValidator.ValidateMount(new MountRequest(s_image, "X:", false), [], Probe().Object));
    }

    [TestMethod]
    public void ValidateMount_EmptyFolder_IsValid()
    {
        Assert.IsNull(MountValidator.ValidateMount(new MountRequest(s_image, s_folder, false), [], Probe().Object));
    }

    [TestMethod]
    [DataRow("", "X:", "Choose an add-cow image")]
    [DataRow("disk.vhd", "X:", "not an add-cow image")]
    [DataRow("missing.add-cow", "X:", "does not exist")]
    [DataRow("disk.add-cow", "", "Choose a drive letter")]
    [DataRow("disk.add-cow", "E:", "Drive E: is in use")]
    [DataRow("disk.add-cow", "C:", "reserved")]
    [DataRow("disk.add-cow", "Y:", "already used by 'other.add-cow'")]
    [DataRow("disk.add-cow", "relative\\dir", "neither a drive letter nor a full folder path")]
    public void ValidateMount_BadInput_SaysWhy(string imageName, string mountPoint, string expected)
    {
        string image = imageName.Length == 0 ? "" : TestData.Image(imageName);
        MountInfo other = TestData.Mount("Y:", "other.add-cow");

        string? error = MountValidator.ValidateMount(new MountRequest(image, mountPoint, false), [other], Probe().Object);

        Assert.IsNotNull(error);
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    [DataRow(FolderState.Missing, "does not exist")]
    [DataRow(FolderState.NotEmpty, "is not empty")]
    public void ValidateMount_FolderNotEmptyOrMissing_SaysWhy(FolderState state, string expected)
    {
        Mock<IFileSystemProbe> probe = Probe();
        probe.Setup(p => p.GetFolderState(s_folder)).Returns(state);

        string? error = MountValidator.ValidateMount(new MountRequest(s_image, s_folder, false), [], probe.Object);

        Assert.IsNotNull(error);
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    public void ValidateMount_ImageAlreadyMounted_NamesWhere()
    {
        string? error = MountValidator.ValidateMount(new MountRequest(s_image, "X:", false), [TestData.Mount("W:", "disk.add-cow")], Probe().Object);

        Assert.IsNotNull(error);
        StringAssert.Contains(error, "already mounted at W:");
    }

    [TestMethod]
    public void SuggestDriveLetter_SkipsUsedAndMounted()
    {
        var probe = new Mock<IFileSystemProbe>();
        probe.Setup(p => p.IsDriveLetterInUse('Z')).Returns(true);

        Assert.AreEqual("X:", MountValidator.SuggestDriveLetter([TestData.Mount("Y:", "a.add-cow")], probe.Object));
    }

    [TestMethod]
    public void ValidateCreate_ExistingOverlay_Refused()
    {
        string dir = Path.GetTempPath();
        var probe = new Mock<IFileSystemProbe>();
        probe.Setup(p => p.FileExists(Path.Combine(dir, "base.img"))).Returns(true);
        probe.Setup(p => p.DirectoryExists(It.IsAny<string>())).Returns(true);
        var request = new CreateOverlayRequest(Path.Combine(dir, "base.img"), Path.Combine(dir, "vm.img"), Path.Combine(dir, "vm.add-cow"));
        Assert.IsNull(MountValidator.ValidateCreate(request, probe.Object));

        probe.Setup(p => p.FileExists(Path.Combine(dir, "vm.add-cow"))).Returns(true);

        StringAssert.Contains(MountValidator.ValidateCreate(request, probe.Object), "already exists");
    }

    [TestMethod]
    public void ValidateCreate_OverlayWithoutExtension_Refused()
    {
        string dir = Path.GetTempPath();
        var probe = new Mock<IFileSystemProbe>();
        probe.Setup(p => p.FileExists(Path.Combine(dir, "base.img"))).Returns(true);
        probe.Setup(p => p.DirectoryExists(It.IsAny<string>())).Returns(true);

        string? error = MountValidator.ValidateCreate(new CreateOverlayRequest(Path.Combine(dir, "base.img"), Path.Combine(dir, "vm.img"), Path.Combine(dir, "vm.qcow2")), probe.Object);

        StringAssert.Contains(error, ".add-cow");
    }
}
