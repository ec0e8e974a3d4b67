using System.Diagnostics;
using System.Globalization;
using AddCowMount.Wine.Tests.Support;

namespace AddCowMount.Wine.Tests;

/// <summary>
/// The installed tray under Xvfb + Wine, driven with xdotool as a person would. Wine draws its system tray as a
/// window at the top left (our icon is its first 20x20 cell); screenshots go to the test's result files.
/// </summary>
[TestClass]
[TestCategory("Wine")]
public sealed class TrayUnderWineTests
{
    // Where Wine 8 puts things on a 1280x800 screen (measured): the tray window at 3,22; a context menu opens below
    // the pointer; rows of the idle menu, relative to the menu's top: Mount image 12, No disks mounted 40, Unmount
    // all 62, Recent images 90, Create overlay 112, Settings 134, Exit 162.
    private const int IconX = 13;
    private const int IconY = 32;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Tray_Menu_CreateOverlay_FailedMount_Exit()
    {
        foreach (string tool in new[] { "Xvfb", "xdotool", "import", "convert" })
        {
            if (Run.FindTool(tool) is null)
            {
                Assert.Fail($"'{tool}' is not installed; the tray test needs it (Debian: apt-get install xvfb xauth xdotool imagemagick).");
            }
        }

        string logs = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "addcow-wine-msi-logs")).FullName;
        Msi.EnsureUninstalled(Artifacts.Msi, logs);
        Msi.CreateDokanService();
        Msi.Install(Artifacts.Msi, logs).Succeeded();
        using var ws = new Workspace("tray");
        ws.RandomFile(ws.Combine("base", "golden.raw"), 2 << 20, seed: 9);
        Directory.CreateDirectory(ws.Combine("vm"));

        // The prefix's desktop must start with the display: end its processes, so the tray's start brings them up on it.
        WinePrefix.KillAll();
        int display = FreeDisplay();
        using Process xvfb = Run.Start("Xvfb", [$":{display}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
        var env = new Dictionary<string, string> { ["DISPLAY"] = $":{display}" };
        Process? tray = null;
        try
        {
            WaitFor(() => File.Exists($"/tmp/.X11-unix/X{display}"), "Xvfb did not start");
            tray = Run.Start("wine", [@"C:\Program Files\AddCowMount\AddCowMount.Tray.exe"], WinePrefix.Environment(env), ws.Root);
            WaitFor(() => Windows(env).Any(w => w.Name == "Wine System Tray"), "the tray's icon did not appear");
            Thread.Sleep(2000);
            string idle = Shot(env, "1-idle");
            Assert.IsFalse(IsRed(idle), "the idle icon is red");

            // Right-click: the idle menu offers Mount and Create, and greys out what needs a mounted disk.
            Xdo(env, "mousemove", $"{IconX}", $"{IconY}", "click", "3");
            (int menuX, int menuY) = WaitForWindow(env, w => w.Name.Length == 0 && w.Height is > 100 and < 400 && w.Y >= IconY - 5, "the menu did not open");
            string menu = Shot(env, "2-menu");
            Assert.IsTrue(IsEnabledRow(menu, menuX, menuY + 12), "Mount image… is not enabled");
            Assert.IsFalse(IsEnabledRow(menu, menuX, menuY + 40), "'No disks mounted' should be a greyed-out line");
            Assert.IsFalse(IsEnabledRow(menu, menuX, menuY + 62), "Unmount all is enabled with nothing mounted");
            Assert.IsTrue(IsEnabledRow(menu, menuX, menuY + 112), "Create overlay… is not enabled");
            Assert.IsTrue(IsEnabledRow(menu, menuX, menuY + 162), "Exit is not enabled");

            // Create overlay…: fill the dialog's three boxes and OK; the installed addcow creates it.
            Xdo(env, "mousemove", $"{menuX + 40}", $"{menuY + 112}", "click", "1");
            (int dx, int dy) = WaitForWindow(env, w => w.Name == "Create overlay", "the Create overlay dialog did not open");
            Type(env, dx + 221, dy + 47, WinePrefix.ToWindows(ws.Combine("base", "golden.raw")));
            Type(env, dx + 221, dy + 98, WinePrefix.ToWindows(ws.Combine("vm", "vm.add-cow")));
            Type(env, dx + 221, dy + 149, WinePrefix.ToWindows(ws.Combine("vm", "vm.raw")));
            Shot(env, "3-create-dialog");
            Xdo(env, "mousemove", $"{dx + 387}", $"{dy + 182}", "click", "1");
            (int qx, int qy) = WaitForWindow(env, w => w.Name == "AddCowMount" && w.Width < 400, "no 'Mount now?' question after the create");
            Shot(env, "4-created");
            Assert.IsTrue(File.Exists(ws.Combine("vm", "vm.add-cow")), "the overlay was not created");
            LinuxCli.Run(ws.Root, "info", "vm/vm.add-cow").Succeeded();
            LinuxCli.Run(ws.Root, "io", "-r", "-c", "read 0 4K", "vm/vm.add-cow").Succeeded();
            StringAssert.Contains(LinuxCli.Run(ws.Root, "info", "--output", "json", "vm/vm.add-cow").Output, "../base/golden.raw", "the tray stored a name that is not relative to the overlay");

            // Yes, mount it: the mount dialog proposes a free drive letter; OK fails (no Dokan under Wine).
            Xdo(env, "mousemove", $"{qx + 65}", $"{qy + 60}", "click", "1");
            (int mx, int my) = WaitForWindow(env, w => w.Name == "Mount image", "the mount dialog did not open");
            Xdo(env, "mousemove", $"{mx + 387}", $"{my + 150}", "click", "1");
            WaitFor(() => IsRed(Shot(env, "5-mount-failed")), "the icon did not turn red after the failed mount");
            Thread.Sleep(1500);
            Shot(env, "6-error-balloon");
            string log = TrayLog();
            StringAssert.Contains(log, "Could not mount vm.add-cow at ", "the tray did not say which mount failed");
            StringAssert.Contains(log, "Dokan", "the tray did not say why the mount failed");
            Assert.DoesNotContain("::", log.Split('\n').First(l => l.Contains("Could not mount", StringComparison.Ordinal)), "doubled colon");

            // Exit (last item): nothing of ours keeps running.
            Thread.Sleep(3000);
            Xdo(env, "mousemove", $"{IconX}", $"{IconY}", "click", "3");
            WaitForWindow(env, w => w.Name.Length == 0 && w.Height is > 100 and < 400 && w.Y >= IconY - 5, "the menu did not open again");
            Xdo(env, "key", "Up");
            Xdo(env, "key", "Return");
            Assert.IsTrue(tray.WaitForExit(30_000), "the tray did not exit");
            WaitFor(() => !OurProcessesRunning(), "an AddCowMount process is still running after Exit");
        }
        finally
        {
            if (tray is { HasExited: false })
            {
                tray.Kill();
            }

            tray?.Dispose();
            WinePrefix.KillAll();
            xvfb.Kill();
            xvfb.WaitForExit(10_000);
            Msi.EnsureUninstalled(Artifacts.Msi, logs);
        }
    }

    private static int FreeDisplay()
    {
        for (int n = 90 + (Environment.ProcessId % 50); ; n++)
        {
            if (!File.Exists($"/tmp/.X11-unix/X{n}") && !File.Exists($"/tmp/.X{n}-lock"))
            {
                return n;
            }
        }
    }

    private sealed record WindowInfo(string Name, int X, int Y, int Width, int Height);

    private static List<WindowInfo> Windows(IReadOnlyDictionary<string, string> env)
    {
        var list = new List<WindowInfo>();
        RunResult ids = Run.Program("xdotool", ["search", "--onlyvisible", "--name", ""], env);
        foreach (string id in ids.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            RunResult name = Run.Program("xdotool", ["getwindowname", id], env);
            RunResult geometry = Run.Program("xdotool", ["getwindowgeometry", "--shell", id], env);
            Dictionary<string, int> g = geometry.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('='))
                .Where(p => p.Length == 2 && int.TryParse(p[1], CultureInfo.InvariantCulture, out _))
                .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));
            if (g.Count >= 4)
            {
                list.Add(new WindowInfo(name.Output.Trim(), g["X"], g["Y"], g["WIDTH"], g["HEIGHT"]));
            }
        }

        return list;
    }

    private static (int X, int Y) WaitForWindow(IReadOnlyDictionary<string, string> env, Func<WindowInfo, bool> match, string failure)
    {
        WindowInfo? found = null;
        WaitFor(() => (found = Windows(env).FirstOrDefault(match)) is not null, failure);
        Thread.Sleep(700); // let it finish drawing
        return (found!.X, found.Y);
    }

    private static void WaitFor(Func<bool> condition, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail(failure);
            }

            Thread.Sleep(500);
        }
    }

    private static void Xdo(IReadOnlyDictionary<string, string> env, params string[] arguments) => Run.Program("xdotool", arguments, env).Succeeded();

    private static void Type(IReadOnlyDictionary<string, string> env, int x, int y, string text)
    {
        Xdo(env, "mousemove", $"{x}", $"{y}", "click", "1");
        Xdo(env, "type", "--delay", "5", text);
    }

    private string Shot(IReadOnlyDictionary<string, string> env, string name)
    {
        string file = Path.Combine(TestContext.TestResultsDirectory ?? Path.GetTempPath(), $"tray-{name}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        Run.Program("import", ["-window", "root", file], env).Succeeded();
        TestContext.AddResultFile(file);
        return file;
    }

    /// <summary>The error icon carries a red badge: count strongly red pixels in the tray's first cell.</summary>
    private static bool IsRed(string screenshot)
    {
        RunResult r = Run.Program("convert", [screenshot, "-crop", "20x20+3+22", "+repage", "-fx", "r>0.6 && g<0.35 && b<0.35 ? 1 : 0", "-format", "%[fx:mean]", "info:"]);
        return double.Parse(r.Output.Trim(), CultureInfo.InvariantCulture) > 0.02;
    }

    /// <summary>An enabled menu row has black text; a disabled one only grey.</summary>
    private static bool IsEnabledRow(string screenshot, int menuX, int rowY)
    {
        RunResult r = Run.Program("convert", [screenshot, "-crop", $"100x10+{menuX + 30}+{rowY - 5}", "+repage", "-colorspace", "Gray", "-format", "%[fx:minima]", "info:"]);
        return double.Parse(r.Output.Trim(), CultureInfo.InvariantCulture) < 0.2;
    }

    private static string TrayLog()
    {
        string[] logs = WinePrefix.FindFiles("*.log")
            .Where(f => f.Contains(Path.Combine("AddCowMount", "logs"), StringComparison.OrdinalIgnoreCase))
            .ToArray();
        return string.Join('\n', logs.Select(File.ReadAllText));
    }

    /// <summary>Processes of this prefix running our programs (Wine sets WINEPREFIX in their environment).</summary>
    private static bool OurProcessesRunning()
    {
        foreach (string proc in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                if (!cmdline.Contains("AddCowMount.Tray.exe", StringComparison.OrdinalIgnoreCase) && !cmdline.Contains("addcow.exe", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (File.ReadAllText(Path.Combine(proc, "environ")).Contains($"WINEPREFIX={WinePrefix.Path}\0", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return false;
    }
}
