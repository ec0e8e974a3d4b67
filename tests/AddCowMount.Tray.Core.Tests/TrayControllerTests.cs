using AddCowMount.Tray.Core.Menu;
using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Platform;
using AddCowMount.Tray.Core.Settings;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
public sealed class TrayControllerTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 24, 9, 30, 0, TimeSpan.Zero);
    private static readonly string s_image = TestData.Image("disk.add-cow");

    private readonly Mock<IMountClient> _client = new(MockBehavior.Strict);
    private readonly Mock<IDialogService> _dialogs = new(MockBehavior.Strict);
    private readonly Mock<ISettingsStore> _store = new(MockBehavior.Strict);
    private readonly Mock<INotifier> _notifier = new(MockBehavior.Strict);
    private readonly Mock<IDesktopShell> _shell = new(MockBehavior.Strict);
    private readonly Mock<IFileSystemProbe> _probe = new();
    private readonly Mock<TimeProvider> _time = new();
    private readonly List<(NotificationKind Kind, string Message)> _notes = [];
    private readonly List<TraySettings> _saved = [];
    private List<MountInfo> _mounts = [];

    [TestInitialize]
    public void Setup()
    {
        _client.Setup(c => c.ListAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => _mounts.ToList());
        _notifier.Setup(n => n.Notify(It.IsAny<NotificationKind>(), It.IsAny<string>(), It.IsAny<string>()))
            .Callback<NotificationKind, string, string>((k, _, m) => _notes.Add((k, m)));
        _store.Setup(s => s.Save(It.IsAny<TraySettings>())).Callback<TraySettings>(_saved.Add);
        _probe.Setup(p => p.FileExists(It.Is<string>(f => f.EndsWith(".add-cow", StringComparison.Ordinal) && !f.Contains("missing", StringComparison.Ordinal)))).Returns(true);
        _time.Setup(t => t.GetUtcNow()).Returns(s_now);
    }

    private async Task<TrayController> StartAsync(TraySettings? settings = null, bool atSignIn = false)
    {
        _store.Setup(s => s.Load()).Returns(settings ?? new TraySettings());
        var controller = new TrayController(_client.Object, _dialogs.Object, _store.Object, _notifier.Object, _shell.Object, _probe.Object, _time.Object, NullLogger<TrayController>.Instance);
        await controller.InitializeAsync(atSignIn);
        return controller;
    }

    private void MountSucceeds() =>
        _client.Setup(c => c.MountAsync(It.IsAny<MountRequest>(), It.IsAny<CancellationToken>()))
            .Callback<MountRequest, CancellationToken>((r, _) => _mounts.Add(TestData.Mount(r.MountPoint, Path.GetFileName(r.Image), readOnly: r.ReadOnly)))
            .Returns(Task.CompletedTask);

    private List<string> Errors => _notes.Where(n => n.Kind == NotificationKind.Error).Select(n => n.Message).ToList();

    [TestMethod]
    public async Task MountImage_CliFails_ErrorNotifiedIconErrorAndNothingRemembered()
    {
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskMount(It.IsAny<MountDialogState>())).Returns(new MountRequest(s_image, "X:", false));
        _client.Setup(c => c.MountAsync(new MountRequest(s_image, "X:", false), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new MountClientException("Dokany driver not found", 1));

        bool exit = await controller.ExecuteAsync(new TrayCommand.MountImage());

        Assert.IsFalse(exit);
        Assert.HasCount(1, Errors);
        StringAssert.Contains(Errors[0], "Could not mount disk.add-cow at X:");
        StringAssert.Contains(Errors[0], "Dokany driver not found");
        Assert.AreEqual(IconState.Error, controller.Menu.Icon);
        StringAssert.Contains(controller.Menu.Tooltip, "Could not mount");
        Assert.IsEmpty(_saved);
    }

    [TestMethod]
    public async Task MountImage_Succeeds_NotifiesRemembersAndShowsMounted()
    {
        TrayController controller = await StartAsync(new TraySettings { DefaultReadOnly = true });
        _dialogs.Setup(d => d.AskMount(new MountDialogState(null, "Z:", true, null))).Returns(new MountRequest(s_image, "x:\\", true));
        MountSucceeds();

        await controller.ExecuteAsync(new TrayCommand.MountImage());

        _client.Verify(c => c.MountAsync(new MountRequest(s_image, "X:", true), It.IsAny<CancellationToken>()), Times.Once);
        Assert.IsEmpty(Errors);
        Assert.Contains((NotificationKind.Info, "Mounted disk.add-cow at X: (read-only)."), _notes);
        Assert.AreEqual(new RecentImage(s_image, "X:", true, s_now), _saved.Last().RecentImages.Single());
        Assert.AreEqual(IconState.Mounted, controller.Menu.Icon);
        Assert.IsTrue(controller.Menu.Items.Any(i => i.Text == "X:  disk.add-cow (read-only)"));
    }

    [TestMethod]
    public async Task MountImage_Invalid_AsksAgainWithReasonThenCancelMountsNothing()
    {
        TrayController controller = await StartAsync();
        _dialogs.SetupSequence(d => d.AskMount(It.IsAny<MountDialogState>()))
            .Returns(new MountRequest(TestData.Image("disk.vhd"), "X:", false))
            .Returns((MountRequest?)null);

        await controller.ExecuteAsync(new TrayCommand.MountImage());

        _client.Verify(c => c.MountAsync(It.IsAny<MountRequest>(), It.IsAny<CancellationToken>()), Times.Never);
        _dialogs.Verify(d => d.AskMount(It.Is<MountDialogState>(s => s.Error != null && s.Error.Contains("not an add-cow image") && s.MountPoint == "X:")), Times.Once);
        Assert.AreEqual(IconState.Idle, controller.Menu.Icon);
    }

    [TestMethod]
    public async Task MountRecent_CliFails_RecentEntryKeptAndErrorShown()
    {
        var entry = new RecentImage(s_image, "X:", false, s_now.AddDays(-1));
        var other = new RecentImage(TestData.Image("other.add-cow"), "Y:", false, s_now.AddDays(-2));
        TrayController controller = await StartAsync(new TraySettings { RecentImages = [entry, other] });
        _client.Setup(c => c.MountAsync(It.IsAny<MountRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new MountClientException("image is locked by another process", 1));

        await controller.ExecuteAsync(new TrayCommand.MountRecent(s_image, "X:", false));

        CollectionAssert.AreEqual(new[] { entry, other }, controller.Settings.RecentImages.ToArray());
        MenuItemModel recent = controller.Menu.Items.Single(i => i.Text == MenuBuilder.RecentText);
        Assert.AreEqual(new TrayCommand.MountRecent(s_image, "X:", false), recent.Items[0].Command);
        StringAssert.Contains(Errors.Single(), "image is locked by another process");
    }

    [TestMethod]
    public async Task MountRecent_SecondEntry_MovesToFrontKeepingTheOther()
    {
        var first = new RecentImage(TestData.Image("first.add-cow"), "Y:", false, s_now.AddDays(-1));
        var second = new RecentImage(s_image, "X:", true, s_now.AddDays(-2));
        TrayController controller = await StartAsync(new TraySettings { RecentImages = [first, second] });
        MountSucceeds();

        await controller.ExecuteAsync(new TrayCommand.MountRecent(s_image, "X:", true));

        CollectionAssert.AreEqual(new[] { second with { LastUsed = s_now }, first }, _saved.Last().RecentImages.ToArray());
    }

    [TestMethod]
    public async Task MountRecent_MountPointTaken_OpensDialogWithReason()
    {
        _mounts.Add(TestData.Mount("X:", "busy.add-cow"));
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskMount(It.IsAny<MountDialogState>())).Returns((MountRequest?)null);

        await controller.ExecuteAsync(new TrayCommand.MountRecent(s_image, "X:", false));

        _dialogs.Verify(d => d.AskMount(It.Is<MountDialogState>(s => s.Image == s_image && s.Error!.Contains("already used by 'busy.add-cow'"))), Times.Once);
        _client.Verify(c => c.MountAsync(It.IsAny<MountRequest>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [TestMethod]
    public async Task Unmount_FilesOpen_ErrorShownAndDiskStaysListed()
    {
        _mounts.Add(TestData.Mount("X:", "disk.add-cow", openHandles: 1));
        TrayController controller = await StartAsync();
        _client.Setup(c => c.UnmountAsync("X:", It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("X: has 1 open file", 1));

        await controller.ExecuteAsync(new TrayCommand.Unmount("X:"));

        StringAssert.Contains(Errors.Single(), "Could not unmount X: X: has 1 open file");
        Assert.AreEqual(IconState.Error, controller.Menu.Icon);
        Assert.HasCount(1, controller.Mounts);
    }

    [TestMethod]
    public async Task UnmountAll_OneFails_OthersStillUnmountedAndFailureShown()
    {
        _mounts.AddRange([TestData.Mount("X:", "a.add-cow"), TestData.Mount("Y:", "b.add-cow"), TestData.Mount("W:", "c.add-cow")]);
        TrayController controller = await StartAsync();
        _client.Setup(c => c.UnmountAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback<string, CancellationToken>((mp, _) => _mounts.RemoveAll(m => m.MountPoint == mp))
            .Returns(Task.CompletedTask);
        _client.Setup(c => c.UnmountAsync("Y:", It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("busy", 1));

        await controller.ExecuteAsync(new TrayCommand.UnmountAll());

        _client.Verify(c => c.UnmountAsync("X:", It.IsAny<CancellationToken>()), Times.Once);
        _client.Verify(c => c.UnmountAsync("W:", It.IsAny<CancellationToken>()), Times.Once);
        StringAssert.Contains(Errors.Single(), "Y:");
        Assert.AreEqual("Y:", controller.Mounts.Single().MountPoint);
        Assert.AreEqual(IconState.Error, controller.Menu.Icon);
    }

    [TestMethod]
    public async Task Refresh_ListFails_NotifiedOnceWhileRepeatingThenClearsWhenItWorks()
    {
        TrayController controller = await StartAsync();
        _client.Setup(c => c.ListAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("access denied", 1));

        await controller.RefreshAsync();
        await controller.RefreshAsync();

        StringAssert.Contains(Errors.Single(), "access denied");
        Assert.AreEqual(IconState.Error, controller.Menu.Icon);

        _client.Setup(c => c.ListAsync(It.IsAny<CancellationToken>())).ReturnsAsync([]);
        await controller.RefreshAsync();

        Assert.AreEqual(IconState.Idle, controller.Menu.Icon);
    }

    [TestMethod]
    public async Task Refresh_AfterCommandError_KeepsErrorIcon()
    {
        TrayController controller = await StartAsync();
        _client.Setup(c => c.UnmountAsync("X:", It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("no such mount", 1));

        await controller.ExecuteAsync(new TrayCommand.Unmount("X:"));
        await controller.RefreshAsync();

        Assert.AreEqual(IconState.Error, controller.Menu.Icon);
    }

    [TestMethod]
    public async Task Initialize_CorruptSettings_ErrorShownAndDefaultsUsed()
    {
        _store.Setup(s => s.Load()).Throws(new SettingsException("Settings 'x.json' are not valid JSON"));
        var controller = new TrayController(_client.Object, _dialogs.Object, _store.Object, _notifier.Object, _shell.Object, _probe.Object, _time.Object, NullLogger<TrayController>.Instance);

        await controller.InitializeAsync(atSignIn: false);

        StringAssert.Contains(Errors.Single(), "x.json");
        Assert.AreEqual(IconState.Error, controller.Menu.Icon);
    }

    [TestMethod]
    public async Task Initialize_AtSignIn_MountsOnlyWhatIsNotMountedAndReportsFailures()
    {
        _mounts.Add(TestData.Mount("X:", "already.add-cow"));
        var settings = new TraySettings
        {
            MountAtSignIn =
            [
                new MountRequest(TestData.Image("already.add-cow"), "X:", false),
                new MountRequest(s_image, "Y:", true),
                new MountRequest(TestData.Image("missing.add-cow"), "W:", false),
            ],
        };
        MountSucceeds();

        TrayController controller = await StartAsync(settings, atSignIn: true);

        _client.Verify(c => c.MountAsync(new MountRequest(s_image, "Y:", true), It.IsAny<CancellationToken>()), Times.Once);
        _client.Verify(c => c.MountAsync(It.IsAny<MountRequest>(), It.IsAny<CancellationToken>()), Times.Once);
        StringAssert.Contains(Errors.Single(), "missing.add-cow");
        Assert.HasCount(2, controller.Mounts);
    }

    [TestMethod]
    public async Task Exit_NothingMounted_ExitsWithoutAsking()
    {
        TrayController controller = await StartAsync();

        Assert.IsTrue(await controller.ExecuteAsync(new TrayCommand.Exit()));
        _dialogs.VerifyNoOtherCalls();
    }

    [TestMethod]
    public async Task Exit_OpenHandles_OffersNoUnmountAndRefusesUnmount()
    {
        _mounts.AddRange([TestData.Mount("X:", "a.add-cow", openHandles: 2), TestData.Mount("Y:", "b.add-cow")]);
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskExit(It.IsAny<string>(), false)).Returns(ExitChoice.UnmountAllAndExit);

        bool exit = await controller.ExecuteAsync(new TrayCommand.Exit());

        Assert.IsFalse(exit);
        _dialogs.Verify(d => d.AskExit(It.Is<string>(m => m.Contains("X: has 2 open file(s)")), false), Times.Once);
        _client.Verify(c => c.UnmountAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
        StringAssert.Contains(Errors.Single(), "files are open");
    }

    [TestMethod]
    [DataRow(ExitChoice.KeepMounted, true)]
    [DataRow(ExitChoice.Cancel, false)]
    public async Task Exit_MountedIdle_FollowsChoiceWithoutUnmounting(ExitChoice choice, bool expectedExit)
    {
        _mounts.Add(TestData.Mount("X:", "a.add-cow"));
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskExit(It.IsAny<string>(), true)).Returns(choice);

        Assert.AreEqual(expectedExit, await controller.ExecuteAsync(new TrayCommand.Exit()));
        _client.Verify(c => c.UnmountAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [TestMethod]
    public async Task Exit_UnmountAllFails_StaysRunning()
    {
        _mounts.Add(TestData.Mount("X:", "a.add-cow"));
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskExit(It.IsAny<string>(), true)).Returns(ExitChoice.UnmountAllAndExit);
        _client.Setup(c => c.UnmountAsync("X:", It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("busy", 1));

        Assert.IsFalse(await controller.ExecuteAsync(new TrayCommand.Exit()));
        Assert.HasCount(1, Errors);
    }

    [TestMethod]
    public async Task CopyVhdPath_ClipboardThrows_ErrorShownNotThrown()
    {
        TrayController controller = await StartAsync();
        _shell.Setup(s => s.SetClipboardText(@"X:\disk.vhd")).Throws(new InvalidOperationException("clipboard busy"));

        bool exit = await controller.ExecuteAsync(new TrayCommand.CopyVhdPath(@"X:\disk.vhd"));

        Assert.IsFalse(exit);
        StringAssert.Contains(Errors.Single(), "clipboard busy");
    }

    [TestMethod]
    public async Task CopyVhdPath_CopiesExactPath()
    {
        TrayController controller = await StartAsync();
        _shell.Setup(s => s.SetClipboardText(@"X:\disk.vhd"));

        await controller.ExecuteAsync(new TrayCommand.CopyVhdPath(@"X:\disk.vhd"));

        _shell.Verify(s => s.SetClipboardText(@"X:\disk.vhd"), Times.Once);
        Assert.IsEmpty(Errors);
    }

    [TestMethod]
    public async Task OpenMountPoint_Drive_OpensRootFolder()
    {
        TrayController controller = await StartAsync();
        _shell.Setup(s => s.OpenFolder("X:\\"));

        await controller.ExecuteAsync(new TrayCommand.OpenMountPoint("X:"));

        _shell.Verify(s => s.OpenFolder("X:\\"), Times.Once);
    }

    [TestMethod]
    public async Task ToggleDefaultReadOnly_SaveFails_ErrorShown()
    {
        TrayController controller = await StartAsync();
        _store.Setup(s => s.Save(It.IsAny<TraySettings>())).Throws(new SettingsException("Cannot save settings 's.json': disk full"));

        await controller.ExecuteAsync(new TrayCommand.ToggleDefaultReadOnly());

        StringAssert.Contains(Errors.Single(), "disk full");
        Assert.IsTrue(controller.Settings.DefaultReadOnly);
    }

    [TestMethod]
    public async Task ToggleMountAtSignIn_AddsThenRemoves()
    {
        TrayController controller = await StartAsync();
        var request = new MountRequest(s_image, "X:", false);

        await controller.ExecuteAsync(new TrayCommand.ToggleMountAtSignIn(request));
        CollectionAssert.AreEqual(new[] { request }, _saved.Last().MountAtSignIn.ToArray());

        await controller.ExecuteAsync(new TrayCommand.ToggleMountAtSignIn(request));
        Assert.IsEmpty(_saved.Last().MountAtSignIn);
    }

    [TestMethod]
    public async Task CreateOverlay_CliFails_ErrorShownAndNoMountOffered()
    {
        string dir = Path.GetTempPath();
        var request = new CreateOverlayRequest(Path.Combine(dir, "base.img"), Path.Combine(dir, "vm.img"), Path.Combine(dir, "vm.add-cow"));
        _probe.Setup(p => p.FileExists(request.Backing)).Returns(true);
        _probe.Setup(p => p.FileExists(request.Overlay)).Returns(false);
        _probe.Setup(p => p.DirectoryExists(It.IsAny<string>())).Returns(true);
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskCreateOverlay(It.IsAny<CreateOverlayDialogState>())).Returns(request);
        _client.Setup(c => c.CreateOverlayAsync(request, It.IsAny<CancellationToken>())).ThrowsAsync(new MountClientException("backing file is not a raw image", 1));

        await controller.ExecuteAsync(new TrayCommand.CreateOverlay());

        StringAssert.Contains(Errors.Single(), "backing file is not a raw image");
        _dialogs.Verify(d => d.Confirm(It.IsAny<string>(), It.IsAny<string>()), Times.Never);
    }

    [TestMethod]
    public async Task CreateOverlay_Succeeds_OffersMountWithNewOverlay()
    {
        string dir = Path.GetTempPath();
        var request = new CreateOverlayRequest(Path.Combine(dir, "base.img"), Path.Combine(dir, "vm.img"), Path.Combine(dir, "vm.add-cow"));
        _probe.Setup(p => p.FileExists(request.Backing)).Returns(true);
        _probe.Setup(p => p.FileExists(request.Overlay)).Returns(false);
        _probe.Setup(p => p.DirectoryExists(It.IsAny<string>())).Returns(true);
        TrayController controller = await StartAsync();
        _dialogs.Setup(d => d.AskCreateOverlay(It.IsAny<CreateOverlayDialogState>())).Returns(request);
        _client.Setup(c => c.CreateOverlayAsync(request, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        _dialogs.Setup(d => d.Confirm(It.IsAny<string>(), It.IsAny<string>())).Returns(true);
        _dialogs.Setup(d => d.AskMount(It.IsAny<MountDialogState>())).Returns((MountRequest?)null);

        await controller.ExecuteAsync(new TrayCommand.CreateOverlay());

        _dialogs.Verify(d => d.AskMount(It.Is<MountDialogState>(s => s.Image == request.Overlay)), Times.Once);
        Assert.IsEmpty(Errors);
    }
}
