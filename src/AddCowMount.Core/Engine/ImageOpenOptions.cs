using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Core.Engine;

/// <summary>How to open an image and its backing chain.</summary>
public sealed record ImageOpenOptions
{
    /// <summary>Open the top add-cow file and its image file read-write, with exclusive locks.</summary>
    public bool Writable { get; init; }

    /// <summary>Take no locks (read-only inspection such as info and map while another process writes).</summary>
    public bool ForceShare { get; init; }

    /// <summary>Also open the immediate backing layer read-write (commit).</summary>
    public bool WritableBacking { get; init; }

    /// <summary>Do not open the backing chain at all (rebase -u, check of a header whose backing is gone).</summary>
    public bool NoBacking { get; init; }

    /// <summary>Allow UNC, device and protocol names in headers.</summary>
    public bool AllowUnsafePaths { get; init; }

    /// <summary>Longest backing chain accepted, counting the top image.</summary>
    public int MaxChainDepth { get; init; } = 16;

    public IStorageProvider Storage { get; init; } = FileStorage.Instance;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>What <see cref="AddCowImage.Create"/> makes.</summary>
public sealed record ImageCreateOptions
{
    /// <summary>Virtual size in bytes; null takes the backing file's size. Rounded down to whole sectors, as the seed does.</summary>
    public long? Size { get; init; }

    /// <summary>Backing file name as stored in the header (relative names are relative to the add-cow file's folder).</summary>
    public string? BackingFile { get; init; }

    /// <summary>Image file name as stored; null: the add-cow file's name with the extension ".raw".</summary>
    public string? ImageFile { get; init; }

    /// <summary>Overwrite an existing add-cow file or reuse a non-empty image file.</summary>
    public bool Force { get; init; }

    public bool AllowUnsafePaths { get; init; }

    public IStorageProvider Storage { get; init; } = FileStorage.Instance;
}
