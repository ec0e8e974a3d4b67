using AddCowMount.Tray.Core.Platform;
using AddCowMount.Tray.Core.Settings;

namespace AddCowMount.Tray.Core.Mounts;

/// <summary>Checks a mount or create request before the CLI sees it, with texts a user can act on.</summary>
public static class MountValidator
{
    public const string ImageExtension = ".add-cow";

    /// <summary><c>x</c>, <c>X:</c> and <c>X:\</c> become <c>X:</c>; a folder is trimmed of a trailing separator.</summary>
    public static string NormalizeMountPoint(string mountPoint)
    {
        ArgumentNullException.ThrowIfNull(mountPoint);
        string trimmed = mountPoint.Trim();
        if (TryGetDriveLetter(trimmed, out char letter))
        {
            return $"{letter}:";
        }

        return trimmed.Length > 1 ? trimmed.TrimEnd('\\', '/') : trimmed;
    }

    /// <summary>True for <c>X</c>, <c>X:</c>, <c>X:\</c> (any case).</summary>
    public static bool TryGetDriveLetter(string mountPoint, out char letter)
    {
        ArgumentNullException.ThrowIfNull(mountPoint);
        letter = '\0';
        string s = mountPoint.Trim();
        bool shape = s.Length switch
        {
            1 => true,
            2 => s[1] == ':',
            3 => s[1] == ':' && (s[2] == '\\' || s[2] == '/'),
            _ => false,
        };
        if (!shape || !char.IsAsciiLetter(s[0]))
        {
            return false;
        }

        letter = char.ToUpperInvariant(s[0]);
        return true;
    }

    /// <summary>The first free letter from Z: down to D:, or null when all are taken.</summary>
    public static string? SuggestDriveLetter(IReadOnlyList<MountInfo> mounts, IFileSystemProbe probe)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(probe);
        for (char letter = 'Z'; letter >= 'D'; letter--)
        {
            string candidate = $"{letter}:";
            if (!probe.IsDriveLetterInUse(letter) && !mounts.Any(m => SameMountPoint(m.MountPoint, candidate)))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="request"/> (already normalized) can be passed to the CLI; else why not.</summary>
    public static string? ValidateMount(MountRequest request, IReadOnlyList<MountInfo> mounts, IFileSystemProbe probe)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(probe);

        if (string.IsNullOrWhiteSpace(request.Image))
        {
            return "Choose an add-cow image to mount.";
        }

        if (!request.Image.EndsWith(ImageExtension, StringComparison.OrdinalIgnoreCase))
        {
            return $"'{Path.GetFileName(request.Image)}' is not an add-cow image: choose a {ImageExtension} file.";
        }

        if (!probe.FileExists(request.Image))
        {
            return $"'{request.Image}' does not exist.";
        }

        MountInfo? sameImage = mounts.FirstOrDefault(m => RecentList.PathComparer.Equals(m.Image, request.Image));
        if (sameImage is not null)
        {
            return $"'{Path.GetFileName(request.Image)}' is already mounted at {sameImage.MountPoint}.";
        }

        if (string.IsNullOrWhiteSpace(request.MountPoint))
        {
            return "Choose a drive letter or an empty folder to mount at.";
        }

        MountInfo? samePoint = mounts.FirstOrDefault(m => SameMountPoint(m.MountPoint, request.MountPoint));
        if (samePoint is not null)
        {
            return $"{request.MountPoint} is already used by '{Path.GetFileName(samePoint.Image)}'.";
        }

        if (TryGetDriveLetter(request.MountPoint, out char letter))
        {
            if (letter is 'A' or 'B' or 'C')
            {
                return $"Drive {letter}: is reserved; choose a letter from D: to Z:.";
            }

            return probe.IsDriveLetterInUse(letter) ? $"Drive {letter}: is in use; choose a free letter." : null;
        }

        if (!Path.IsPathFullyQualified(request.MountPoint))
        {
            return $"'{request.MountPoint}' is neither a drive letter nor a full folder path.";
        }

        return probe.GetFolderState(request.MountPoint) switch
        {
            FolderState.Missing => $"Folder '{request.MountPoint}' does not exist; create an empty folder first.",
            FolderState.NotEmpty => $"Folder '{request.MountPoint}' is not empty; a disk can only be mounted on an empty folder.",
            _ => null,
        };
    }

    /// <summary>Null when the overlay can be created; else why not.</summary>
    public static string? ValidateCreate(CreateOverlayRequest request, IFileSystemProbe probe)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(probe);

        if (string.IsNullOrWhiteSpace(request.Backing))
        {
            return "Choose the base image the overlay starts from.";
        }

        if (!probe.FileExists(request.Backing))
        {
            return $"Base image '{request.Backing}' does not exist.";
        }

        if (string.IsNullOrWhiteSpace(request.Overlay) || !request.Overlay.EndsWith(ImageExtension, StringComparison.OrdinalIgnoreCase))
        {
            return $"The overlay file name must end in {ImageExtension}.";
        }

        if (string.IsNullOrWhiteSpace(request.ImageFile))
        {
            return "Choose where the overlay keeps its image file.";
        }

        foreach (string target in new[] { request.Overlay, request.ImageFile })
        {
            if (probe.FileExists(target))
            {
                return $"'{target}' already exists; choose a new file name.";
            }

            string? folder = Path.GetDirectoryName(target);
            if (string.IsNullOrEmpty(folder) || !probe.DirectoryExists(folder))
            {
                return $"Folder of '{target}' does not exist.";
            }
        }

        if (RecentList.PathComparer.Equals(request.Overlay, request.ImageFile) || RecentList.PathComparer.Equals(request.Backing, request.ImageFile))
        {
            return "The overlay, its image file and the base image must be three different files.";
        }

        return null;
    }

    public static bool SameMountPoint(string a, string b) =>
        string.Equals(NormalizeMountPoint(a), NormalizeMountPoint(b), StringComparison.OrdinalIgnoreCase);
}
