using AddCowMount.Mount.Windows.Hosting;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class HostingTests
{
    [TestMethod]
    public void DriverCheck_LibraryMissing_SaysToInstallDokany2()
    {
        var result = DokanDriverCheck.Evaluate(null, null);

        Assert.AreEqual(DokanDriverState.LibraryMissing, result.State);
        Assert.IsFalse(result.IsReady);
        StringAssert.Contains(result.Message, "Dokany 2.x is not installed");
        StringAssert.Contains(result.Message, "https://github.com/dokan-dev/dokany/releases");
    }

    [TestMethod]
    [DataRow(190, "1.9.0")]
    [DataRow(199, "1.9.9")]
    public void DriverCheck_OlderThan2_NamesBothVersions(int version, string shown)
    {
        var result = DokanDriverCheck.Evaluate(version, 0x190);

        Assert.AreEqual(DokanDriverState.LibraryTooOld, result.State);
        StringAssert.Contains(result.Message, $"Dokany {shown} is installed");
        StringAssert.Contains(result.Message, "2.0.0 or newer");
    }

    [TestMethod]
    public void DriverCheck_DriverNotAnswering_SaysRestart()
    {
        var result = DokanDriverCheck.Evaluate(231, 0);

        Assert.AreEqual(DokanDriverState.DriverNotRunning, result.State);
        StringAssert.Contains(result.Message, "dokan2.sys");
    }

    [TestMethod]
    [DataRow(200)]
    [DataRow(231)]
    [DataRow(310)]
    public void DriverCheck_Version2OrNewerWithDriver_IsReady(int version)
    {
        Assert.IsTrue(DokanDriverCheck.Evaluate(version, 0x190).IsReady);
    }

    [TestMethod]
    [DataRow(231, "2.3.1")]
    [DataRow(200, "2.0.0")]
    [DataRow(1015, "10.1.5")]
    public void FormatVersion_SplitsDigits(int version, string expected)
    {
        Assert.AreEqual(expected, DokanDriverCheck.FormatVersion(version));
    }

    [TestMethod]
    public void MountSettings_Default_IsFixedDriveWithMountManagerVisibleToServices()
    {
        var settings = new DokanMountSettings { MountPoint = "X:" };

        Assert.AreEqual(DokanMountSettings.OptionMountManager, settings.DokanOptionBits);
        Assert.AreEqual(0u, settings.DokanOptionBits & (DokanMountSettings.OptionNetworkDrive | DokanMountSettings.OptionRemovableDrive | DokanMountSettings.OptionCurrentSession));
        Assert.IsTrue(settings.Timeout > TimeSpan.FromSeconds(20), "longer than Dokan's 20 s default");
        Assert.AreEqual(settings.Timeout / 2, settings.KeepAliveInterval);
        Assert.AreEqual(512, DokanMountSettings.SectorSize);
        Assert.AreEqual(4096, DokanMountSettings.AllocationUnitSize);
    }

    [TestMethod]
    public void MountSettings_ReadOnly_AddsWriteProtection()
    {
        var settings = new DokanMountSettings { MountPoint = "X:", ReadOnly = true, CurrentSessionOnly = true };

        Assert.AreEqual(DokanMountSettings.OptionMountManager | DokanMountSettings.OptionWriteProtection | DokanMountSettings.OptionCurrentSession, settings.DokanOptionBits);
    }

    [TestMethod]
    [DataRow("x", "X:\\")]
    [DataRow("X:", "X:\\")]
    [DataRow("x:\\", "X:\\")]
    [DataRow(" y:/ ", "Y:\\")]
    [DataRow("C:\\mnt\\disk\\", "C:\\mnt\\disk")]
    [DataRow("c:/mnt/disk", "c:\\mnt\\disk")]
    public void MountPoint_Normalize_AcceptsDriveLettersAndFolders(string input, string expected)
    {
        Assert.AreEqual(expected, DokanMountPoint.Normalize(input));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("1:")]
    [DataRow("XY")]
    [DataRow("mnt\\disk")]
    [DataRow("\\\\server\\share")]
    [DataRow("C:\\a*b")]
    public void MountPoint_Normalize_RefusesOthers(string input)
    {
        Assert.ThrowsExactly<ArgumentException>(() => DokanMountPoint.Normalize(input));
    }

    [TestMethod]
    public void MountPoint_IsDriveLetter_OnlyForLetters()
    {
        Assert.IsTrue(DokanMountPoint.IsDriveLetter("X:\\"));
        Assert.IsFalse(DokanMountPoint.IsDriveLetter("C:\\mnt"));
    }

    [TestMethod]
    public void LogBridge_MapsEachDokanLevelToMel()
    {
        var logger = new CapturingLogger<HostingTests>();
        var bridge = new DokanLogBridge(logger);

        bridge.Debug("d", []);
        bridge.Info("i {0}", ["x"]);
        bridge.Warn("w", []);
        bridge.Error("e", []);
        bridge.Fatal("f", []);

        CollectionAssert.AreEqual(
            new[] { LogLevel.Debug, LogLevel.Information, LogLevel.Warning, LogLevel.Error, LogLevel.Critical },
            logger.Entries.Select(e => e.Level).ToArray());
        Assert.AreEqual("Dokan: i x", logger.Entries[1].Message);
    }

    [TestMethod]
    public void LogBridge_MessageWithBraces_IsNotTreatedAsTemplate()
    {
        var logger = new CapturingLogger<HostingTests>();

        new DokanLogBridge(logger).Info("\tContext\t{Context=0x0:'', IsDirectory=False}", []);

        Assert.AreEqual("Dokan: \tContext\t{Context=0x0:'', IsDirectory=False}", logger.Entries.Single().Message);
    }

    [TestMethod]
    public void LogBridge_ArgumentsThatDoNotFit_KeepMessage()
    {
        Assert.AreEqual("a {1} [x]", DokanLogBridge.Format("a {1}", ["x"]));
    }

    [TestMethod]
    public void LogBridge_DebugOff_GivesNoDebugSinkSoDokanSkipsTracing()
    {
        Assert.IsNull(new DokanLogBridge(new CapturingLogger<HostingTests>(LogLevel.Information)).DebugSink);
        Assert.IsNotNull(new DokanLogBridge(new CapturingLogger<HostingTests>(LogLevel.Debug)).DebugSink);
    }

    [TestMethod]
    public void LogBridge_ThrowingProvider_DoesNotThrow()
    {
        var logger = new Moq.Mock<ILogger>();
        logger.Setup(l => l.IsEnabled(Moq.It.IsAny<LogLevel>())).Returns(true);
        logger.Setup(l => l.Log(Moq.It.IsAny<LogLevel>(), Moq.It.IsAny<EventId>(), Moq.It.IsAny<Moq.It.IsAnyType>(), Moq.It.IsAny<Exception?>(), Moq.It.IsAny<Func<Moq.It.IsAnyType, Exception?, string>>()))
            .Throws(new InvalidOperationException("provider broken"));

        new DokanLogBridge(logger.Object).Error("boom", []);

        logger.Verify(l => l.Log(LogLevel.Error, Moq.It.IsAny<EventId>(), Moq.It.IsAny<Moq.It.IsAnyType>(), Moq.It.IsAny<Exception?>(), Moq.It.IsAny<Func<Moq.It.IsAnyType, Exception?, string>>()), Moq.Times.Once);
    }
}
