using AddCowMount.Core.Engine;
using AddCowMount.Core.Volume;

namespace AddCowMount.Core.Hosting;

/// <summary>
/// A backend that serves the disk itself rather than files (the NBD server of <c>addcow serve</c>): besides the
/// volume it is given the open image, for what only the engine knows (which layer holds each sector). The
/// "mount point" of such a backend is its address (<c>nbd://127.0.0.1:10809/vm1</c>), under which the registry
/// lists it with the mounts, so <c>addcow list</c>, <c>addcow unmount</c> and the tray see and stop it.
/// </summary>
public interface IImageExportBackend : IMountBackend
{
    IMountedFileSystem Export(IVolume volume, AddCowImage image, MountRequest request);
}
