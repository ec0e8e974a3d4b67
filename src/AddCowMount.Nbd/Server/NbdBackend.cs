using AddCowMount.Core.Engine;
using AddCowMount.Core.Hosting;
using AddCowMount.Core.Volume;
using AddCowMount.Nbd.Export;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Nbd.Server;

/// <summary>
/// <c>addcow serve</c> as a mount backend: <see cref="MountHost"/> opens and locks the image, announces the export
/// under its address, answers <c>addcow unmount</c>, writes back and flushes on stop, exactly as for a mount; this
/// backend only runs the NBD server over the volume's raw view and the image's allocation.
/// </summary>
public sealed class NbdBackend(NbdServerOptions options, ILoggerFactory loggerFactory) : IImageExportBackend
{
    public string Name => "NBD";

    public bool IsAvailable(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    public IMountedFileSystem Mount(IVolume volume, MountRequest request) =>
        throw new NotSupportedException("the NBD backend serves an image: MountHost calls Export");

    public IMountedFileSystem Export(IVolume volume, AddCowImage image, MountRequest request)
    {
        volume.List("/", out IReadOnlyList<VolumeNode> files);
        string raw = files.First(f => f.Name.EndsWith(".img", StringComparison.OrdinalIgnoreCase)).Name;
        var server = new NbdServer(new VolumeExport(volume, image, raw, options.ExportName), options, loggerFactory);
        server.Start();
        return new Served(server);
    }

    /// <summary>Every file of the volume is reached through the one address.</summary>
    public string PathOf(string mountPoint, string fileName) => mountPoint;

    private sealed class Served(NbdServer server) : IMountedFileSystem
    {
        public Task Completion => server.Completion;

        public void Stop() => server.StopAsync().GetAwaiter().GetResult();

        public void Dispose() => Stop();
    }
}
