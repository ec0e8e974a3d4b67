using System.Runtime.InteropServices;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Volume;

/// <summary>
/// The two 4 KiB headers the .vhdx view shows, as the last writer wrote them. Kept in a sidecar file beside the
/// add-cow file (<see cref="SidecarPathFor"/>: the two headers, 8 KiB, each with its own CRC), replaced crash-safely
/// (temporary file, fsync, rename, fsync of the folder) before a header write is acknowledged. Without a sidecar
/// (or for a slot the sidecar holds no valid header for) the layout's initial headers are shown. Nothing is
/// written until a writer rewrites a header, so a mount that only reads leaves no file behind.
/// </summary>
public sealed partial class VhdxHeaderStore
{
    public const string SidecarSuffix = ".vhdx-headers";

    private readonly string? _sidecarPath;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[2 * VhdxHeader.Size];
    private VhdxHeader _header1;
    private VhdxHeader _header2;

    /// <param name="layout">The layout whose initial headers stand in for missing ones.</param>
    /// <param name="sidecarPath">Where rewrites are kept; null keeps them in memory only (tests, read-only mounts).</param>
    public VhdxHeaderStore(VhdxLayout layout, string? sidecarPath, ILogger logger)
    {
        _sidecarPath = sidecarPath;
        _logger = logger;
        (_header1, _header2) = layout.InitialHeaders();
        _header1.WriteTo(_bytes);
        _header2.WriteTo(_bytes.AsSpan(VhdxHeader.Size));
        if (sidecarPath is not null && File.Exists(sidecarPath))
        {
            Load(sidecarPath);
        }
    }

    /// <summary>The sidecar of an add-cow file: "disk.add-cow" keeps its VHDX headers in "disk.add-cow.vhdx-headers".</summary>
    public static string SidecarPathFor(string addCowPath) => addCowPath + SidecarSuffix;

    /// <summary>Copies both headers (slot 1, then slot 2; 4 KiB each) into <paramref name="destination"/>.</summary>
    public void Snapshot(Span<byte> destination)
    {
        lock (_lock)
        {
            _bytes.CopyTo(destination);
        }
    }

    /// <summary>The headers now shown (for the rewrite rules).</summary>
    public (VhdxHeader Header1, VhdxHeader Header2) Current
    {
        get
        {
            lock (_lock)
            {
                return (_header1, _header2);
            }
        }
    }

    /// <summary>
    /// Replaces the headers with <paramref name="candidate"/> (8 KiB, both slots) after checking every changed slot
    /// with <see cref="VhdxHeader.IsAcceptableRewrite"/>; persists before returning. False (nothing changed) with the reason.
    /// </summary>
    public bool TryReplace(ReadOnlySpan<byte> candidate, out string? reason)
    {
        lock (_lock)
        {
            var slot1 = candidate[..VhdxHeader.Size];
            var slot2 = candidate[VhdxHeader.Size..(2 * VhdxHeader.Size)];
            var change1 = !slot1.SequenceEqual(_bytes.AsSpan(0, VhdxHeader.Size));
            var change2 = !slot2.SequenceEqual(_bytes.AsSpan(VhdxHeader.Size));
            reason = null;
            if (!change1 && !change2)
            {
                return true;
            }

            if ((change1 && !VhdxHeader.IsAcceptableRewrite(slot1, _header1, _header2, out reason))
                || (change2 && !VhdxHeader.IsAcceptableRewrite(slot2, _header1, _header2, out reason)))
            {
                return false;
            }

            if (_sidecarPath is not null)
            {
                Persist(_sidecarPath, candidate[..(2 * VhdxHeader.Size)]);
            }

            candidate[..(2 * VhdxHeader.Size)].CopyTo(_bytes);
            VhdxHeader.TryParse(_bytes, out var h1, out _);
            VhdxHeader.TryParse(_bytes.AsSpan(VhdxHeader.Size), out var h2, out _);
            _header1 = h1!;
            _header2 = h2!;
            return true;
        }
    }

    private void Load(string path)
    {
        byte[] stored;
        try
        {
            stored = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSidecarIgnored(_logger, path, ex.Message);
            return;
        }

        for (var slot = 0; slot < 2; slot++)
        {
            var part = stored.AsSpan(Math.Min(stored.Length, slot * VhdxHeader.Size));
            if (!VhdxHeader.TryParse(part, out var header, out var problem) || !header.FitsFixedLayout(out problem))
            {
                LogSidecarIgnored(_logger, path, $"header {slot + 1}: {problem}");
                continue;
            }

            part[..VhdxHeader.Size].CopyTo(_bytes.AsSpan(slot * VhdxHeader.Size));
            if (slot == 0)
            {
                _header1 = header;
            }
            else
            {
                _header2 = header;
            }
        }
    }

    /// <summary>Temporary file, fsync, rename over the sidecar, fsync of the folder: a crash leaves the old or the new sidecar.</summary>
    private static void Persist(string path, ReadOnlySpan<byte> content)
    {
        var temporary = path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, content, 0);
            FileStorage.FlushStrict(handle, temporary);
        }

        File.Move(temporary, path, overwrite: true);
        if (!OperatingSystem.IsWindows())
        {
            FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    private static void FlushDirectory(string directory)
    {
        const int O_RDONLY = 0;
        var fd = Native.Open(directory, O_RDONLY);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory} to make the VHDX header sidecar durable (errno {Marshal.GetLastPInvokeError()})");
        }

        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        FileStorage.FlushStrict(handle, directory);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "VHDX header sidecar {Path} not used: {Reason}; the view shows the initial header instead")]
    private static partial void LogSidecarIgnored(ILogger logger, string path, string reason);
}
