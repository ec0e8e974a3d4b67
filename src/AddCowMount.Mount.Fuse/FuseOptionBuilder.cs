using System.Globalization;

namespace AddCowMount.Mount.Fuse;

/// <summary>Turns <see cref="FuseMountOptions"/> into the argument vector handed to <c>fuse_new</c>.</summary>
internal static class FuseOptionBuilder
{
    internal const string ProgramName = "addcow";

    /// <summary>The comma-separated <c>-o</c> list: mount options (kernel) and library options (libfuse).</summary>
    public static string BuildOptionString(FuseMountOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        var parts = new List<string>
        {
            "fsname=" + options.FileSystemName,
            "subtype=" + options.SubType,
            // Let the kernel check the mode bits we report (0644/0444/0755), as a disk file system would.
            "default_permissions",
            "max_read=" + options.MaxRead.ToString(CultureInfo.InvariantCulture),
        };
        if (options.ReadOnly)
        {
            parts.Add("ro");
        }

        if (options.AllowOther)
        {
            parts.Add("allow_other");
        }

        // The cache mode is not an option string: libfuse 3.14 no longer parses "-o direct_io"; init sets
        // fuse_config.direct_io / kernel_cache instead (see ApplyCacheMode).
        string timeout = options.AttributeTimeoutSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        parts.Add("attr_timeout=" + timeout);
        parts.Add("entry_timeout=" + timeout);
        parts.Add("negative_timeout=0");
        return string.Join(',', parts);
    }

    /// <summary>argv for <c>fuse_new</c>: program name, then <c>-o</c> and the option string.</summary>
    public static IReadOnlyList<string> BuildArguments(FuseMountOptions options) =>
        [ProgramName, "-o", BuildOptionString(options)];

    /// <summary>The fuse_config flags for a cache mode: (direct_io, kernel_cache).</summary>
    public static (bool DirectIo, bool KernelCache) CacheFlags(FuseCacheMode mode) => mode switch
    {
        FuseCacheMode.DirectIo => (true, false),
        FuseCacheMode.KernelCache => (false, true),
        FuseCacheMode.PageCache => (false, false),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown cache mode."),
    };

    private static void Validate(FuseMountOptions options)
    {
        _ = CacheFlags(options.CacheMode);
        ValidateName(options.FileSystemName, nameof(options.FileSystemName));
        ValidateName(options.SubType, nameof(options.SubType));
        if (options.MaxRead is < 4096 or > FuseMountOptions.KernelMaxTransfer)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxRead, "MaxRead must be between 4 KiB and 1 MiB.");
        }

        if (options.MaxWrite is < 4096 or > FuseMountOptions.KernelMaxTransfer)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxWrite, "MaxWrite must be between 4 KiB and 1 MiB.");
        }

        if (options.MaxBackground is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBackground, "MaxBackground must be between 1 and 65535.");
        }

        if (options.MaxThreads is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxThreads, "MaxThreads must be between 1 and 1024.");
        }

        if (!double.IsFinite(options.AttributeTimeoutSeconds) || options.AttributeTimeoutSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.AttributeTimeoutSeconds, "AttributeTimeoutSeconds must be a finite number >= 0.");
        }
    }

    private static void ValidateName(string value, string name)
    {
        if (string.IsNullOrEmpty(value) || value.AsSpan().IndexOfAny(",\\= \t\n\0") >= 0)
        {
            throw new ArgumentException($"{name} must be non-empty and contain no comma, backslash, '=', or whitespace: '{value}'.", name);
        }
    }
}
