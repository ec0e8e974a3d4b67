using System.Diagnostics;
using System.Text.Json;

namespace AddCowMount.EndToEnd.Tests.Support;

/// <summary>
/// One test's world: a temp folder holding a random base disk, overlays and mount points, and its own
/// ADDCOW_STATE_DIR so it sees only its own mounts. Dispose unmounts everything this test mounted
/// (addcow unmount --force, then fusermount3 -u -z), ends the processes it started and deletes the folder.
/// </summary>
internal sealed class Workspace : IDisposable
{
    public const long DefaultSize = 32L << 20;

    private readonly List<string> _mountPoints = [];
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, string> _environment;

    public Workspace(long baseSize = DefaultSize, int seed = 1)
    {
        Folder = Directory.CreateTempSubdirectory("addcow-e2e-").FullName;
        StateDir = Path.Combine(Folder, "state");
        Directory.CreateDirectory(StateDir);
        _environment = new Dictionary<string, string> { ["ADDCOW_STATE_DIR"] = StateDir };
        BasePath = Combine("base.raw");
        WriteRandomFile(BasePath, baseSize, seed);
        BaseSize = baseSize;
    }

    public string Folder { get; }

    public string StateDir { get; }

    public string BasePath { get; }

    public long BaseSize { get; }

    public string Combine(string name) => Path.Combine(Folder, name);

    /// <summary>Runs `dotnet addcow.dll ARGS` in this workspace's state dir.</summary>
    public ProcessResult AddCow(params string[] arguments) => AddCow(ProcessRunner.DefaultTimeout, arguments);

    public ProcessResult AddCow(TimeSpan timeout, params string[] arguments) =>
        ProcessRunner.Run(E2eEnvironment.DotnetHost, [E2eEnvironment.AddCowDll, .. arguments], _environment, timeout);

    /// <summary>Runs addcow and fails the test (showing its output) unless it exits 0.</summary>
    public ProcessResult AddCowOk(params string[] arguments)
    {
        ProcessResult result = AddCow(arguments);
        Assert.AreEqual(0, result.ExitCode, result.Describe());
        return result;
    }

    /// <summary>Runs another program; fails the test unless it exits 0.</summary>
    public static ProcessResult ToolOk(string tool, params string[] arguments)
    {
        ProcessResult result = ProcessRunner.Run(E2eEnvironment.Tool(tool), arguments);
        Assert.AreEqual(0, result.ExitCode, result.Describe());
        return result;
    }

    public static ProcessResult Tool(string tool, params string[] arguments) => ProcessRunner.Run(E2eEnvironment.Tool(tool), arguments);

    /// <summary>`addcow create -b base.raw NAME.add-cow`; returns the add-cow path.</summary>
    public string CreateOverlay(string name = "vm")
    {
        string path = Combine(name + ".add-cow");
        ProcessResult created = AddCowOk("create", "-b", Path.GetFileName(BasePath), path);
        StringAssert.Contains(created.Output, "fmt=add-cow", created.Describe());
        return path;
    }

    public string NewMountPoint(string name = "mnt")
    {
        string path = Combine(name);
        Directory.CreateDirectory(path);
        _mountPoints.Add(path);
        return path;
    }

    /// <summary>`addcow mount --background [OPTIONS] IMAGE MOUNTPOINT`, then the mount's record from `addcow list --output json`.</summary>
    public MountInfo MountBackground(string image, string mountPoint, params string[] options)
    {
        ProcessResult mounted = AddCowOk(["mount", "--background", .. options, image, mountPoint]);
        StringAssert.Contains(mounted.Output, $"at {mountPoint}", mounted.Describe());
        MountInfo info = ListMounts().SingleOrDefault(m => m.MountPoint == mountPoint)
            ?? throw new AssertFailedException($"`addcow list` does not show {mountPoint} after mounting:\n{mounted.Describe()}");
        return info;
    }

    /// <summary>Starts `addcow mount IMAGE MOUNTPOINT` in the foreground as a child, and returns once it says it is mounted.</summary>
    public ForegroundMount StartForegroundMount(string image, string mountPoint, params string[] options)
    {
        Process process = ProcessRunner.Start(E2eEnvironment.DotnetHost, [E2eEnvironment.AddCowDll, "mount", .. options, image, mountPoint], _environment);
        _processes.Add(process);
        Task<string> errors = process.StandardError.ReadToEndAsync();
        List<string> lines = ReadyLine.WaitFor(process, "Press Ctrl+C", errors, "foreground mount");
        StringAssert.Contains(string.Join('\n', lines), $"at {mountPoint} (pid {process.Id})");
        // Keep draining stdout so the child never blocks on a full pipe.
        return new ForegroundMount(process, process.StandardOutput.ReadToEndAsync(), errors);
    }

    public List<MountInfo> ListMounts()
    {
        ProcessResult list = AddCowOk("list", "--output", "json");
        return JsonSerializer.Deserialize<List<MountInfo>>(list.OutputBytes, s_json) ?? [];
    }

    public static bool IsMounted(string mountPoint) =>
        File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')).Any(f => f.Length > 2 && f[1] == mountPoint);

    public void Dispose()
    {
        foreach (string mountPoint in _mountPoints)
        {
            try
            {
                if (IsMounted(mountPoint))
                {
                    _ = AddCow(TimeSpan.FromSeconds(30), "unmount", "--force", mountPoint);
                }

                if (IsMounted(mountPoint))
                {
                    _ = ProcessRunner.Run(E2eEnvironment.Tool("fusermount3"), ["-u", "-z", mountPoint], timeout: TimeSpan.FromSeconds(20));
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Console.Error.WriteLine($"cleanup of {mountPoint}: {ex.Message}");
            }
        }

        foreach (Process process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        KillRegisteredMountProcesses();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"cleanup of {Folder}: {ex.Message}");
        }
    }

    /// <summary>Background mount processes this test started (announced in its own state dir) that are still alive.</summary>
    private void KillRegisteredMountProcesses()
    {
        string folder = Path.Combine(StateDir, "mounts");
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (string file in Directory.GetFiles(folder, "*.json"))
        {
            try
            {
                MountInfo? record = JsonSerializer.Deserialize<MountInfo>(File.ReadAllText(file), s_json);
                if (record is not null && record.Pid > 0)
                {
                    using var process = Process.GetProcessById(record.Pid);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or JsonException)
            {
            }
        }
    }

    public static void WriteRandomFile(string path, long length, int seed)
    {
        var random = new Random(seed);
        byte[] buffer = new byte[1 << 20];
        using FileStream stream = File.Create(path);
        for (long done = 0; done < length; done += buffer.Length)
        {
            random.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, length - done));
        }
    }

    /// <summary>
    /// SHA-256 by `sha256sum`: .NET's own File.OpenRead takes a shared flock, which the mount's exclusive
    /// lock on its files refuses, and a checksum must not depend on that.
    /// </summary>
    public static string Sha256(string path)
    {
        ProcessResult sum = ToolOk("sha256sum", path);
        return sum.Output.Split(' ')[0];
    }

    /// <summary>Fails with the first differing offset unless both files hold the same bytes.</summary>
    public static void AssertSameBytes(string expectedPath, string actualPath)
    {
        using FileStream expected = File.OpenRead(expectedPath);
        using FileStream actual = File.OpenRead(actualPath);
        Assert.AreEqual(expected.Length, actual.Length, $"{actualPath} has the length of {expectedPath}");
        byte[] a = new byte[1 << 20];
        byte[] b = new byte[1 << 20];
        for (long offset = 0; offset < expected.Length; offset += a.Length)
        {
            int n = (int)Math.Min(a.Length, expected.Length - offset);
            expected.ReadExactly(a, 0, n);
            actual.ReadExactly(b, 0, n);
            if (!a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n)))
            {
                int at = a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
                Assert.Fail($"{actualPath} differs from {expectedPath} at offset {offset + at}");
            }
        }
    }

    public static byte[] ReadRange(string path, long offset, int length)
    {
        byte[] data = new byte[length];
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);
        int done = 0;
        while (done < length)
        {
            int n = RandomAccess.Read(handle, data.AsSpan(done), offset + done);
            Assert.AreNotEqual(0, n, $"{path} ends before {offset + length}");
            done += n;
        }

        return data;
    }

    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };
}

/// <summary>A foreground `addcow mount` child: the process, and what it prints after "Press Ctrl+C..." and on stderr.</summary>
internal sealed record ForegroundMount(Process Process, Task<string> LaterOutput, Task<string> Errors);

/// <summary>One entry of `addcow list --output json`, as a script would read it.</summary>
internal sealed record MountInfo(string MountPoint, string Image, int Pid, bool ReadOnly, List<string> Files, int OpenHandles);
