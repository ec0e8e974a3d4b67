using AddCowMount.Core.Hosting;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Hosting;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Dokan;

/// <summary>The Windows mount backend of <see cref="MountHost"/>: one <see cref="DokanMountHost"/> per mount.</summary>
public sealed class DokanBackend(ILoggerFactory loggerFactory) : IMountBackend
{
    public string Name => "Dokan";

    public bool IsAvailable(out string reason)
    {
        DokanDriverCheckResult check = DokanMountHost.CheckDriver();
        reason = check.Message;
        return check.IsReady;
    }

    public IMountedFileSystem Mount(IVolume volume, MountRequest request)
    {
        var host = new DokanMountHost(loggerFactory);
        host.Start(volume, new DokanMountSettings { MountPoint = request.MountPoint, ReadOnly = request.ReadOnly });
        return new Mounted(host);
    }

    public string PathOf(string mountPoint, string fileName) =>
        mountPoint.Length == 2 && mountPoint[1] == ':' ? $"{mountPoint}\\{fileName}" : Path.Combine(mountPoint, fileName);

    private sealed class Mounted : IMountedFileSystem
    {
        private readonly DokanMountHost _host;

        public Mounted(DokanMountHost host)
        {
            _host = host;
            // Dokan has no completion callback the host exposes: notice an unmount from outside (Explorer, dokanctl).
            Completion = Task.Run(async () =>
            {
                while (_host.IsMounted)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                }
            });
        }

        public Task Completion { get; }

        public void Stop() => _host.Stop();

        public void Dispose() => _host.Dispose();
    }
}
