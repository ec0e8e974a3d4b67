namespace AddCowMount.Mount.Windows.Security;

/// <summary>Which parts of a security descriptor a get/set concerns (Windows SECURITY_INFORMATION bits).</summary>
[Flags]
public enum SecurityInformation
{
    None = 0,
    Owner = 0x1,
    Group = 0x2,
    Dacl = 0x4,
    Sacl = 0x8,
    All = Owner | Group | Dacl | Sacl,
}
