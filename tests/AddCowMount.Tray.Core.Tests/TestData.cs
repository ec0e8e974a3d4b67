using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Tests;

internal static class TestData
{
    public static string Image(string name) => Path.Combine(Path.GetTempPath(), "vm", name);

    public static MountInfo Mount(string mountPoint, string imageName, int openHandles = 0, bool readOnly = false, bool withVhd = true)
    {
        string root = mountPoint + Path.DirectorySeparatorChar;
        List<string> files = [root + "disk.img", root + "disk.vmdk"];
        if (withVhd)
        {
            files.Insert(1, root + "disk.vhd");
        }

        return new MountInfo(mountPoint, Image(imageName), 4242, readOnly, files, openHandles);
    }
}

/// <summary>A fresh folder per test, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("addcow-tray-test-").FullName;
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
