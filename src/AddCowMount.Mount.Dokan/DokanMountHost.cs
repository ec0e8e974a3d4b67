using System.Security.Principal;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Hosting;
using AddCowMount.Mount.Windows.Operations;
using DokanNet;
using DokanNet.Logging;
using Microsoft.Extensions.Logging;
using DokanInstallation = DokanNet.Dokan;

namespace AddCowMount.Mount.Dokan;

/// <summary>
/// One mount's lifetime: <see cref="Start"/> checks Dokany, builds the options and mounts; <see cref="Stop"/>
/// unmounts. The Dokan objects, the operations and the logger delegates stay referenced here for the whole
/// mount (DokanNet 2.3.0.1 had to fix native crashes after instances were garbage collected).
/// </summary>
public sealed partial class DokanMountHost : IDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<DokanMountHost> _logger;
    private readonly Lock _lock = new();

    // Referenced for the whole mount so neither the instance nor the delegates DokanNet hands to native code are collected.
    private DokanInstallation? _dokan;
    private DokanInstance? _instance;
    private DokanOperations? _operations;
    private DokanLogBridge? _logBridge;
    private DokanNet.Logging.ILogger? _dokanLogger;
    private IVolume? _volume;

    public DokanMountHost(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<DokanMountHost>();
    }

    /// <summary>The normalized mount point while mounted, else null.</summary>
    public string? MountPoint { get; private set; }

    public bool IsMounted
    {
        get
        {
            lock (_lock)
            {
                return _instance is { IsDisposed: false } instance && instance.IsFileSystemRunning();
            }
        }
    }

    /// <summary>Checks the installed Dokany without mounting.</summary>
    public static DokanDriverCheckResult CheckDriver()
    {
        int? library;
        int? driver;
        try
        {
            using var dokan = new DokanInstallation(new NullLogger());
            library = dokan.Version;
            driver = dokan.DriverVersion;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            library = null;
            driver = null;
        }

        return DokanDriverCheck.Evaluate(library, driver);
    }

    /// <summary>Mounts <paramref name="volume"/> (which the host then owns until <see cref="Stop"/>) at <paramref name="settings"/>' mount point.</summary>
    /// <exception cref="InvalidOperationException">Already mounted, or Dokany is missing or too old (the message says what to do).</exception>
    /// <exception cref="DokanException">Dokan refused the mount (mount point in use, ...).</exception>
    public void Start(IVolume volume, DokanMountSettings settings)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(settings);
        var mountPoint = DokanMountPoint.Normalize(settings.MountPoint);

        lock (_lock)
        {
            if (_instance is not null)
            {
                throw new InvalidOperationException($"Already mounted at {MountPoint}; stop that mount first.");
            }

            var check = CheckDriver();
            if (!check.IsReady)
            {
                throw new InvalidOperationException(check.Message);
            }

            var ownerSid = WindowsIdentity.GetCurrent().User?.Value
                ?? throw new InvalidOperationException("The current Windows account has no SID to own the mounted files.");
            var fileSystem = new WindowsFileSystem(volume, ownerSid, _loggerFactory.CreateLogger<WindowsFileSystem>());
            var operations = new DokanOperations(fileSystem, settings.Timeout);
            var bridge = new DokanLogBridge(_loggerFactory.CreateLogger("DokanNet"));
            var dokanLogger = new Logger(bridge.DebugSink!, bridge.Info, bridge.Warn, bridge.Error, bridge.Fatal);
            var volumeDescriptor = fileSystem.VolumeSecurityDescriptor();
            var dokan = new DokanInstallation(dokanLogger);
            try
            {
                var builder = new DokanInstanceBuilder(dokan)
                    .ConfigureLogger(() => dokanLogger)
                    .ConfigureOptions(options =>
                    {
                        options.MountPoint = mountPoint;
                        options.Options = (DokanOptions)(settings.DokanOptionBits | (settings.ReadOnly || volume.IsReadOnly ? DokanMountSettings.OptionWriteProtection : 0));
                        options.TimeOut = settings.Timeout;
                        options.SectorSize = DokanMountSettings.SectorSize;
                        options.AllocationUnitSize = DokanMountSettings.AllocationUnitSize;
                        var buffer = new byte[16384];
                        volumeDescriptor.CopyTo(buffer, 0);
                        options.VolumeSecurityDescriptor = buffer;
                        options.VolumeSecurityDescriptorLength = volumeDescriptor.Length;
                    });
                _instance = builder.Build(operations);
            }
            catch
            {
                dokan.Dispose();
                throw;
            }

            _dokan = dokan;
            _operations = operations;
            _logBridge = bridge;
            _dokanLogger = dokanLogger;
            _volume = volume;
            MountPoint = mountPoint;
            LogMounted(_logger, mountPoint, settings.DokanOptionBits);
        }
    }

    /// <summary>Unmounts (if mounted), waits for Dokan to let go, flushes and disposes the volume.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            if (_instance is null)
            {
                return;
            }

            var mountPoint = MountPoint;
            try
            {
                if (mountPoint is not null)
                {
                    _dokan?.RemoveMountPoint(mountPoint);
                }

                _instance.WaitForFileSystemClosed(uint.MaxValue);
            }
            finally
            {
                _instance.Dispose();
                _dokan?.Dispose();
                var volume = _volume;
                _instance = null;
                _dokan = null;
                _operations = null;
                _logBridge = null;
                _dokanLogger = null;
                _volume = null;
                MountPoint = null;
                if (volume is not null)
                {
                    try
                    {
                        var status = volume.Flush();
                        if (status != VolumeStatus.Success)
                        {
                            LogFinalFlushFailed(_logger, mountPoint ?? string.Empty, status);
                        }
                    }
                    finally
                    {
                        volume.Dispose();
                    }
                }

                LogUnmounted(_logger, mountPoint ?? string.Empty);
            }
        }
    }

    public void Dispose() => Stop();

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Mounted at {MountPoint} (Dokan options 0x{Options:X})")]
    private static partial void LogMounted(Microsoft.Extensions.Logging.ILogger logger, string mountPoint, uint options);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Final flush after unmounting {MountPoint} failed: {Status}")]
    private static partial void LogFinalFlushFailed(Microsoft.Extensions.Logging.ILogger logger, string mountPoint, VolumeStatus status);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Unmounted {MountPoint}")]
    private static partial void LogUnmounted(Microsoft.Extensions.Logging.ILogger logger, string mountPoint);
}
