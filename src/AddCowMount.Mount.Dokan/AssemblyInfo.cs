using System.Runtime.Versioning;

// DokanNet's types are Windows-only; this whole assembly is the Windows mount.
[assembly: SupportedOSPlatform("windows")]
