using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Settings;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
public sealed class RecentListAndSettingsTests
{
    private static RecentImage Recent(string name, int minute) =>
        new(TestData.Image(name), "X:", false, DateTimeOffset.UnixEpoch.AddMinutes(minute));

    [TestMethod]
    public void Touch_ExistingImage_MovesToFrontWithoutDuplicate()
    {
        IReadOnlyList<RecentImage> list = [Recent("a.add-cow", 1), Recent("b.add-cow", 2), Recent("c.add-cow", 3)];

        IReadOnlyList<RecentImage> result = RecentList.Touch(list, Recent("b.add-cow", 9) with { MountPoint = "Y:" });

        CollectionAssert.AreEqual(
            new[] { "b.add-cow", "a.add-cow", "c.add-cow" },
            result.Select(r => Path.GetFileName(r.Image)).ToArray());
        Assert.AreEqual("Y:", result[0].MountPoint);
        Assert.AreEqual(DateTimeOffset.UnixEpoch.AddMinutes(9), result[0].LastUsed);
    }

    [TestMethod]
    public void Touch_Full_DropsOnlyTheOldest()
    {
        IReadOnlyList<RecentImage> list = Enumerable.Range(0, RecentList.Capacity).Select(i => Recent($"{i}.add-cow", i)).ToList();

        IReadOnlyList<RecentImage> result = RecentList.Touch(list, Recent("new.add-cow", 99));

        Assert.HasCount(RecentList.Capacity, result);
        Assert.AreEqual("new.add-cow", Path.GetFileName(result[0].Image));
        CollectionAssert.AreEqual(list.Take(RecentList.Capacity - 1).ToList(), result.Skip(1).ToList());
    }

    [TestMethod]
    public void Remove_LeavesOthersInOrder()
    {
        IReadOnlyList<RecentImage> list = [Recent("a.add-cow", 1), Recent("b.add-cow", 2), Recent("c.add-cow", 3)];

        IReadOnlyList<RecentImage> result = RecentList.Remove(list, TestData.Image("b.add-cow"));

        CollectionAssert.AreEqual(new[] { list[0], list[2] }, result.ToArray());
    }

    [TestMethod]
    public void SaveThenLoad_KeepsEverySetting()
    {
        using var temp = new TempDirectory();
        var store = new JsonSettingsStore(temp.Combine("sub/settings.json"));
        var settings = new TraySettings
        {
            DefaultReadOnly = true,
            LogFolder = temp.Combine("logs"),
            MountAtSignIn = [new MountRequest(TestData.Image("boot.add-cow"), "S:", true)],
            RecentImages = [Recent("a.add-cow", 1), Recent("b.add-cow", 2)],
        };

        store.Save(settings);
        TraySettings loaded = new JsonSettingsStore(store.FilePath).Load();

        Assert.IsTrue(loaded.DefaultReadOnly);
        Assert.AreEqual(settings.LogFolder, loaded.LogFolder);
        CollectionAssert.AreEqual(settings.MountAtSignIn.ToList(), loaded.MountAtSignIn.ToList());
        CollectionAssert.AreEqual(settings.RecentImages.ToList(), loaded.RecentImages.ToList());
        Assert.IsFalse(File.Exists(store.FilePath + ".tmp"));
    }

    [TestMethod]
    public void Load_NoFile_ReturnsDefaults()
    {
        using var temp = new TempDirectory();

        TraySettings loaded = new JsonSettingsStore(temp.Combine("missing/settings.json")).Load();

        Assert.IsFalse(loaded.DefaultReadOnly);
        Assert.IsEmpty(loaded.RecentImages);
        Assert.IsEmpty(loaded.MountAtSignIn);
    }

    [TestMethod]
    [DataRow("{ not json")]
    [DataRow("null")]
    public void Load_Corrupt_ThrowsNamingTheFile(string content)
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("settings.json");
        File.WriteAllText(path, content);

        SettingsException ex = Assert.ThrowsExactly<SettingsException>(() => new JsonSettingsStore(path).Load());

        StringAssert.Contains(ex.Message, path);
    }

    [TestMethod]
    public void Load_NullLists_BecomeEmpty()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("settings.json");
        File.WriteAllText(path, """{ "recentImages": null, "mountAtSignIn": null, "defaultReadOnly": true }""");

        TraySettings loaded = new JsonSettingsStore(path).Load();

        Assert.IsTrue(loaded.DefaultReadOnly);
        Assert.IsNotNull(loaded.RecentImages);
        Assert.IsNotNull(loaded.MountAtSignIn);
    }
}

[TestClass]
public sealed class FileLoggerProviderTests
{
    [TestMethod]
    public void Log_WritesLineWithExceptionIntoDatedFileOfCurrentFolder()
    {
        using var temp = new TempDirectory();
        string folder = temp.Combine("logs");
        var time = new Moq.Mock<TimeProvider>();
        time.Setup(t => t.GetUtcNow()).Returns(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        time.Setup(t => t.LocalTimeZone).Returns(TimeZoneInfo.Utc);
        using var provider = new AddCowMount.Tray.Core.Logging.FileLoggerProvider(() => folder, time.Object);
        Microsoft.Extensions.Logging.ILogger logger = provider.CreateLogger("Tray");

        Microsoft.Extensions.Logging.LoggerExtensions.LogError(logger, new InvalidOperationException("boom"), "mount of {Image} failed", "a.add-cow");
        Microsoft.Extensions.Logging.LoggerExtensions.LogDebug(logger, "not written");

        string text = File.ReadAllText(Path.Combine(folder, "tray-20261124.log"));
        StringAssert.Contains(text, "ERROR Tray: mount of a.add-cow failed");
        StringAssert.Contains(text, "System.InvalidOperationException: boom");
        Assert.DoesNotContain("not written", text);
    }
}
