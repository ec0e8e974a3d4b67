using System.Buffers.Binary;

namespace AddCowMount.Mount.Windows.Security;

/// <summary>
/// A self-relative Windows security descriptor, parsed into its parts so SetFileSecurity can replace
/// only the sections the caller names (Hyper-V sets the DACL alone when it grants a VM's account access).
/// Header (20 bytes, little-endian): revision 1, Sbz1, control u16, then u32 offsets of owner, group,
/// SACL and DACL (0 = absent). Parts follow the header: owner, group, SACL, DACL.
/// </summary>
public sealed class SecurityDescriptor
{
    public const ushort OwnerDefaulted = 0x0001;
    public const ushort GroupDefaulted = 0x0002;
    public const ushort DaclPresent = 0x0004;
    public const ushort DaclDefaulted = 0x0008;
    public const ushort SaclPresent = 0x0010;
    public const ushort SaclDefaulted = 0x0020;
    public const ushort DaclAutoInherited = 0x0400;
    public const ushort SaclAutoInherited = 0x0800;
    public const ushort DaclProtected = 0x1000;
    public const ushort SaclProtected = 0x2000;
    public const ushort SelfRelative = 0x8000;

    private const int HeaderLength = 20;
    private const int AclHeaderLength = 8;
    private const ushort DaclControlBits = DaclPresent | DaclDefaulted | DaclAutoInherited | DaclProtected;
    private const ushort SaclControlBits = SaclPresent | SaclDefaulted | SaclAutoInherited | SaclProtected;
    private const ushort OwnerControlBits = OwnerDefaulted;
    private const ushort GroupControlBits = GroupDefaulted;

    public SecurityDescriptor(ushort control, byte[]? owner, byte[]? group, byte[]? sacl, byte[]? dacl)
    {
        Control = (ushort)(control | SelfRelative);
        Owner = owner;
        Group = group;
        Sacl = sacl;
        Dacl = dacl;
    }

    public ushort Control { get; }

    public byte[]? Owner { get; }

    public byte[]? Group { get; }

    public byte[]? Sacl { get; }

    public byte[]? Dacl { get; }

    public int BinaryLength => HeaderLength + (Owner?.Length ?? 0) + (Group?.Length ?? 0) + (Sacl?.Length ?? 0) + (Dacl?.Length ?? 0);

    /// <summary>Number of access control entries in the DACL (0 when there is none).</summary>
    public int DaclAceCount => Dacl is null ? 0 : BinaryPrimitives.ReadUInt16LittleEndian(Dacl.AsSpan(4));

    /// <summary>Parses and validates a self-relative descriptor.</summary>
    /// <exception cref="ArgumentException">The bytes are not a well-formed self-relative descriptor.</exception>
    public static SecurityDescriptor Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength)
        {
            throw new ArgumentException($"A security descriptor needs {HeaderLength} bytes; got {data.Length}.", nameof(data));
        }

        if (data[0] != 1)
        {
            throw new ArgumentException($"Security descriptor revision {data[0]} is not supported (expected 1).", nameof(data));
        }

        var control = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        if ((control & SelfRelative) == 0)
        {
            throw new ArgumentException("The security descriptor is not in self-relative form.", nameof(data));
        }

        var owner = ReadSid(data, BinaryPrimitives.ReadUInt32LittleEndian(data[4..]), "owner");
        var group = ReadSid(data, BinaryPrimitives.ReadUInt32LittleEndian(data[8..]), "group");
        var sacl = (control & SaclPresent) != 0 ? ReadAcl(data, BinaryPrimitives.ReadUInt32LittleEndian(data[12..]), "SACL") : null;
        var dacl = (control & DaclPresent) != 0 ? ReadAcl(data, BinaryPrimitives.ReadUInt32LittleEndian(data[16..]), "DACL") : null;
        return new SecurityDescriptor(control, owner, group, sacl, dacl);
    }

    /// <summary>
    /// The default for a file or folder of the mounted volume: owner and group the mounting user, and a
    /// protected DACL granting full control to that user, SYSTEM and the Administrators group
    /// (folders pass it on to children). SDDL: see <see cref="DefaultSddl"/>.
    /// </summary>
    public static SecurityDescriptor CreateDefault(string ownerSid, bool isDirectory)
    {
        var owner = Sid.Parse(ownerSid);
        var aceFlags = isDirectory ? (byte)(AceObjectInherit | AceContainerInherit) : (byte)0;
        var dacl = BuildAcl(
        [
            (owner, FileAllAccess),
            (Sid.Parse(Sid.LocalSystem), FileAllAccess),
            (Sid.Parse(Sid.BuiltinAdministrators), FileAllAccess),
        ], aceFlags);
        return new SecurityDescriptor(DaclPresent | DaclProtected, owner, (byte[])owner.Clone(), null, dacl);
    }

    /// <summary>The SDDL text of <see cref="CreateDefault"/> (for logs and documentation).</summary>
    public static string DefaultSddl(string ownerSid, bool isDirectory)
    {
        var inherit = isDirectory ? "OICI" : string.Empty;
        return $"O:{ownerSid}G:{ownerSid}D:P(A;{inherit};FA;;;{ownerSid})(A;{inherit};FA;;;SY)(A;{inherit};FA;;;BA)";
    }

    /// <summary>FILE_ALL_ACCESS.</summary>
    public const uint FileAllAccess = 0x001F01FF;

    private const byte AccessAllowedAceType = 0;
    private const byte AceObjectInherit = 0x1;
    private const byte AceContainerInherit = 0x2;

    /// <summary>Builds an ACL (revision 2) of access-allowed ACEs.</summary>
    public static byte[] BuildAcl(IReadOnlyList<(byte[] Sid, uint Mask)> entries, byte aceFlags)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var size = AclHeaderLength;
        foreach (var (sid, _) in entries)
        {
            size += 8 + sid.Length;
        }

        var acl = new byte[size];
        acl[0] = 2;
        BinaryPrimitives.WriteUInt16LittleEndian(acl.AsSpan(2), (ushort)size);
        BinaryPrimitives.WriteUInt16LittleEndian(acl.AsSpan(4), (ushort)entries.Count);
        var offset = AclHeaderLength;
        foreach (var (sid, mask) in entries)
        {
            var aceSize = 8 + sid.Length;
            acl[offset] = AccessAllowedAceType;
            acl[offset + 1] = aceFlags;
            BinaryPrimitives.WriteUInt16LittleEndian(acl.AsSpan(offset + 2), (ushort)aceSize);
            BinaryPrimitives.WriteUInt32LittleEndian(acl.AsSpan(offset + 4), mask);
            sid.CopyTo(acl, offset + 8);
            offset += aceSize;
        }

        return acl;
    }

    /// <summary>
    /// This descriptor with the parts named in <paramref name="sections"/> taken from <paramref name="update"/>
    /// (SetFileSecurity semantics: the other parts stay as they were).
    /// </summary>
    public SecurityDescriptor Merge(SecurityDescriptor update, SecurityInformation sections)
    {
        ArgumentNullException.ThrowIfNull(update);
        var control = Control;
        var owner = Owner;
        var group = Group;
        var sacl = Sacl;
        var dacl = Dacl;
        if (sections.HasFlag(SecurityInformation.Owner) && update.Owner is not null)
        {
            owner = update.Owner;
            control = (ushort)((control & ~OwnerControlBits) | (update.Control & OwnerControlBits));
        }

        if (sections.HasFlag(SecurityInformation.Group) && update.Group is not null)
        {
            group = update.Group;
            control = (ushort)((control & ~GroupControlBits) | (update.Control & GroupControlBits));
        }

        if (sections.HasFlag(SecurityInformation.Dacl))
        {
            dacl = update.Dacl;
            control = (ushort)((control & ~DaclControlBits) | (update.Control & DaclControlBits));
        }

        if (sections.HasFlag(SecurityInformation.Sacl))
        {
            sacl = update.Sacl;
            control = (ushort)((control & ~SaclControlBits) | (update.Control & SaclControlBits));
        }

        return new SecurityDescriptor(control, owner, group, sacl, dacl);
    }

    /// <summary>Only the parts named in <paramref name="sections"/> (GetFileSecurity semantics).</summary>
    public SecurityDescriptor Select(SecurityInformation sections)
    {
        var control = Control;
        if (!sections.HasFlag(SecurityInformation.Owner))
        {
            control = (ushort)(control & ~OwnerControlBits);
        }

        if (!sections.HasFlag(SecurityInformation.Group))
        {
            control = (ushort)(control & ~GroupControlBits);
        }

        if (!sections.HasFlag(SecurityInformation.Dacl))
        {
            control = (ushort)(control & ~DaclControlBits);
        }

        if (!sections.HasFlag(SecurityInformation.Sacl))
        {
            control = (ushort)(control & ~SaclControlBits);
        }

        return new SecurityDescriptor(
            control,
            sections.HasFlag(SecurityInformation.Owner) ? Owner : null,
            sections.HasFlag(SecurityInformation.Group) ? Group : null,
            sections.HasFlag(SecurityInformation.Sacl) ? Sacl : null,
            sections.HasFlag(SecurityInformation.Dacl) ? Dacl : null);
    }

    /// <summary>The self-relative binary form.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[BinaryLength];
        bytes[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), Control);
        var offset = HeaderLength;
        offset = WritePart(bytes, 4, Owner, offset);
        offset = WritePart(bytes, 8, Group, offset);
        offset = WritePart(bytes, 12, Sacl, offset);
        WritePart(bytes, 16, Dacl, offset);
        return bytes;
    }

    private static int WritePart(byte[] bytes, int offsetField, byte[]? part, int offset)
    {
        if (part is null)
        {
            return offset;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offsetField), (uint)offset);
        part.CopyTo(bytes, offset);
        return offset + part.Length;
    }

    private static byte[]? ReadSid(ReadOnlySpan<byte> data, uint offset, string what)
    {
        if (offset == 0)
        {
            return null;
        }

        if (offset < HeaderLength || offset >= (uint)data.Length)
        {
            throw new ArgumentException($"The {what} offset {offset} lies outside the {data.Length}-byte descriptor.", nameof(data));
        }

        var length = Sid.GetLength(data[(int)offset..]);
        if (length < 0)
        {
            throw new ArgumentException($"The {what} at offset {offset} is not a valid SID.", nameof(data));
        }

        return data.Slice((int)offset, length).ToArray();
    }

    private static byte[]? ReadAcl(ReadOnlySpan<byte> data, uint offset, string what)
    {
        if (offset == 0)
        {
            // "Present" with no ACL is a NULL ACL (no restriction); it is kept as absent.
            return null;
        }

        if (offset < HeaderLength || offset > (uint)(data.Length - AclHeaderLength))
        {
            throw new ArgumentException($"The {what} offset {offset} lies outside the {data.Length}-byte descriptor.", nameof(data));
        }

        var acl = data[(int)offset..];
        var revision = acl[0];
        var size = BinaryPrimitives.ReadUInt16LittleEndian(acl[2..]);
        if (revision is not (2 or 4) || size < AclHeaderLength || size > acl.Length)
        {
            throw new ArgumentException($"The {what} at offset {offset} is malformed (revision {revision}, size {size}).", nameof(data));
        }

        var aceCount = BinaryPrimitives.ReadUInt16LittleEndian(acl[4..]);
        var position = AclHeaderLength;
        for (var i = 0; i < aceCount; i++)
        {
            if (position + 4 > size)
            {
                throw new ArgumentException($"The {what} declares {aceCount} entries but ends after {i}.", nameof(data));
            }

            var aceSize = BinaryPrimitives.ReadUInt16LittleEndian(acl[(position + 2)..]);
            if (aceSize < 4 || position + aceSize > size)
            {
                throw new ArgumentException($"Entry {i} of the {what} has an invalid size {aceSize}.", nameof(data));
            }

            position += aceSize;
        }

        return acl[..size].ToArray();
    }
}
