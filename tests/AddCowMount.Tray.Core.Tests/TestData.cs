using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Tests;

internal static class TestData
{
    public static string Image(string name) => Path.Combine(Path.GetTempPath(), "vm", name);

    public static MountInfo Mount(string mountPoint, string imageName, int openHandles = 0, bool readOnly = false, bool withVhd = true, bool withVhdx = true)
    {
        string root = mountPoint + Path.DirectorySeparatorChar;
        List<string> files = [root + "disk.img", root + "disk.vmdk"];
        if (withVhdx)
        {
            files.Insert(1, root + "disk.vhdx");
        }

        if (withVhd)
        {
            files.Insert(1, root + "disk.vhd");
        }

        return new MountInfo(mountPoint, Image(imageName), 4242, readOnly, files, openHandles);
    }
}
