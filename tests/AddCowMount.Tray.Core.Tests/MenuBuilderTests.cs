using AddCowMount.Tray.Core.Menu;
using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Settings;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
public sealed class MenuBuilderTests
{
    private static MenuItemModel Find(IReadOnlyList<MenuItemModel> items, string text) =>
        items.Single(i => i.Text == text);

    [TestMethod]
    public void Build_NoMounts_IdleIconAndNothingToUnmount()
    {
        TrayMenu menu = MenuBuilder.Build([], new TraySettings(), error: null);

        Assert.AreEqual(IconState.Idle, menu.Icon);
        Assert.AreEqual("AddCowMount: no disks mounted", menu.Tooltip);
        Assert.IsFalse(Find(menu.Items, MenuBuilder.NoMountsText).Enabled);
        Assert.IsFalse(Find(menu.Items, MenuBuilder.UnmountAllText).Enabled);
        Assert.IsFalse(Find(menu.Items, MenuBuilder.RecentText).Enabled);
        Assert.IsInstanceOfType<TrayCommand.MountImage>(menu.Items[0].Command);
        Assert.IsInstanceOfType<TrayCommand.Exit>(menu.Items[^1].Command);
    }

    [TestMethod]
    public void Build_TwoMounts_EachSubmenuTargetsItsOwnMount()
    {
        MountInfo x = TestData.Mount("X:", "web.add-cow");
        MountInfo y = TestData.Mount("Y:", "db.add-cow", readOnly: true);

        TrayMenu menu = MenuBuilder.Build([x, y], new TraySettings(), error: null);

        Assert.AreEqual(IconState.Mounted, menu.Icon);
        Assert.AreEqual("AddCowMount: 2 disks mounted", menu.Tooltip);
        Assert.IsTrue(Find(menu.Items, MenuBuilder.UnmountAllText).Enabled);
        Assert.IsFalse(menu.Items.Any(i => i.Text == MenuBuilder.NoMountsText));

        MenuItemModel yItem = Find(menu.Items, "Y:  db.add-cow (read-only)");
        Assert.AreEqual(new TrayCommand.OpenMountPoint("Y:"), Find(yItem.Items, MenuBuilder.OpenInExplorerText).Command);
        Assert.AreEqual(new TrayCommand.CopyVhdPath(y.VhdPath!), Find(yItem.Items, MenuBuilder.CopyVhdPathText).Command);
        Assert.AreEqual(new TrayCommand.Unmount("Y:"), Find(yItem.Items, MenuBuilder.UnmountText).Command);

        MenuItemModel xItem = Find(menu.Items, "X:  web.add-cow");
        Assert.AreEqual(new TrayCommand.Unmount("X:"), Find(xItem.Items, MenuBuilder.UnmountText).Command);
        StringAssert.EndsWith(((TrayCommand.CopyVhdPath)Find(xItem.Items, MenuBuilder.CopyVhdPathText).Command!).Path, "disk.vhd");
    }

    [TestMethod]
    public void Build_Mount_OffersTheVhdxForGen2BesideTheVhd()
    {
        MountInfo x = TestData.Mount("X:", "a.add-cow");

        IReadOnlyList<MenuItemModel> items = Find(MenuBuilder.Build([x], new TraySettings(), null).Items, "X:  a.add-cow").Items;

        CollectionAssert.AreEqual(
            new[] { MenuBuilder.OpenInExplorerText, "Copy path of the VHD", "Copy path of the VHDX (Hyper-V Gen 2)", MenuBuilder.UnmountText },
            items.Select(i => i.Text).ToArray());
        Assert.AreEqual(new TrayCommand.CopyVhdPath(@"X:" + Path.DirectorySeparatorChar + "disk.vhdx"), items[2].Command);
    }

    [TestMethod]
    public void Build_HugeDiskWithoutVhd_StillOffersTheVhdx()
    {
        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow", withVhd: false)], new TraySettings(), null);
        IReadOnlyList<MenuItemModel> items = Find(menu.Items, "X:  a.add-cow").Items;

        Assert.IsFalse(Find(items, MenuBuilder.CopyVhdPathText).Enabled);
        Assert.IsTrue(Find(items, MenuBuilder.CopyVhdxPathText).Enabled);
    }

    [TestMethod]
    public void Build_MountWithoutVhd_CopyPathDisabled()
    {
        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow", withVhd: false)], new TraySettings(), null);

        MenuItemModel copy = Find(Find(menu.Items, "X:  a.add-cow").Items, MenuBuilder.CopyVhdPathText);
        Assert.IsFalse(copy.Enabled);
        Assert.IsNull(copy.Command);
    }

    [TestMethod]
    public void Build_OpenHandles_UnmountSaysFilesAreOpen()
    {
        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow", openHandles: 3)], new TraySettings(), null);

        MenuItemModel unmount = Find(menu.Items, "X:  a.add-cow").Items[^1];
        Assert.AreEqual("Unmount (3 files open)", unmount.Text);
        Assert.AreEqual(new TrayCommand.Unmount("X:"), unmount.Command);
    }

    [TestMethod]
    public void Build_Error_ShowsErrorIconEvenWithMountsAndTruncatesTooltip()
    {
        string error = new('e', 200);

        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow")], new TraySettings(), error);

        Assert.AreEqual(IconState.Error, menu.Icon);
        Assert.AreEqual(MenuBuilder.MaxTooltipLength, menu.Tooltip.Length);
        StringAssert.StartsWith(menu.Tooltip, "AddCowMount: eee");
    }

    [TestMethod]
    public void Build_Recent_MountedEntryDisabledOthersMountWithRememberedOptions()
    {
        DateTimeOffset now = DateTimeOffset.UnixEpoch;
        var settings = new TraySettings
        {
            RecentImages =
            [
                new RecentImage(TestData.Image("a.add-cow"), "X:", false, now),
                new RecentImage(TestData.Image("b.add-cow"), "Q:", true, now),
            ],
        };

        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow")], settings, null);

        MenuItemModel recent = Find(menu.Items, MenuBuilder.RecentText);
        Assert.IsTrue(recent.Enabled);
        Assert.IsFalse(recent.Items[0].Enabled);
        StringAssert.Contains(recent.Items[0].Text, "mounted at X:");
        Assert.AreEqual(new TrayCommand.MountRecent(TestData.Image("b.add-cow"), "Q:", true), recent.Items[1].Command);
        Assert.IsTrue(recent.Items[2].IsSeparator);
        Assert.IsInstanceOfType<TrayCommand.ClearRecent>(recent.Items[3].Command);
    }

    [TestMethod]
    public void Build_Settings_ReflectSavedValues()
    {
        var saved = new MountRequest(TestData.Image("boot.add-cow"), "S:", false);
        var settings = new TraySettings { DefaultReadOnly = true, MountAtSignIn = [saved] };

        TrayMenu menu = MenuBuilder.Build([TestData.Mount("X:", "a.add-cow", readOnly: true)], settings, null);

        MenuItemModel settingsMenu = Find(menu.Items, MenuBuilder.SettingsText);
        Assert.IsTrue(Find(settingsMenu.Items, MenuBuilder.DefaultReadOnlyText).Checked);
        MenuItemModel signIn = Find(settingsMenu.Items, MenuBuilder.MountAtSignInText);
        Assert.HasCount(2, signIn.Items);
        Assert.IsTrue(signIn.Items[0].Checked);
        Assert.AreEqual(new TrayCommand.ToggleMountAtSignIn(saved), signIn.Items[0].Command);
        Assert.IsFalse(signIn.Items[1].Checked);
        Assert.AreEqual(new TrayCommand.ToggleMountAtSignIn(new MountRequest(TestData.Image("a.add-cow"), "X:", true)), signIn.Items[1].Command);
    }

    [TestMethod]
    public void Build_DefaultReadOnlyOff_Unchecked()
    {
        TrayMenu menu = MenuBuilder.Build([], new TraySettings(), null);

        Assert.IsFalse(Find(Find(menu.Items, MenuBuilder.SettingsText).Items, MenuBuilder.DefaultReadOnlyText).Checked);
        Assert.IsFalse(Find(Find(menu.Items, MenuBuilder.SettingsText).Items, MenuBuilder.MountAtSignInText).Enabled);
    }
}
