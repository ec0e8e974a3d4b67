using AddCowMount.Core.Volume;

namespace AddCowMount.Nbd.Export;

/// <summary>The one table from volume statuses to NBD's error values.</summary>
public static class NbdErrors
{
    public static NbdError FromStatus(VolumeStatus status) => status switch
    {
        VolumeStatus.Success => NbdError.None,
        VolumeStatus.AccessDenied or VolumeStatus.WriteProtected => NbdError.Perm,
        VolumeStatus.InvalidParameter or VolumeStatus.NotFound => NbdError.Invalid,
        VolumeStatus.DiskFull => NbdError.NoSpace,
        VolumeStatus.NotSupported => NbdError.NotSupported,
        _ => NbdError.IO,
    };
}
