namespace AddCowMount.Core.Volume;

/// <summary>
/// Path lookup of a volume: paths are rooted ('/' or '\' separated, trailing separator allowed) and the volume
/// is flat (one directory, the root, holding the views), so a path names the root, one name under it, or nothing.
/// </summary>
internal static class VolumePath
{
    public enum Kind
    {
        /// <summary>Not a rooted path.</summary>
        Invalid,
        Root,
        /// <summary>One name under the root (<c>name</c> is set).</summary>
        Name,
        /// <summary>Under a name ("/disk.img/x"): nothing lives there.</summary>
        Deeper,
    }

    public static Kind Parse(string? path, out string name)
    {
        name = string.Empty;
        if (string.IsNullOrEmpty(path) || (path[0] != '/' && path[0] != '\\'))
        {
            return Kind.Invalid;
        }

        var rest = path.AsSpan(1).TrimEnd("/\\");
        if (rest.IsEmpty)
        {
            return Kind.Root;
        }

        var separator = rest.IndexOfAny('/', '\\');
        if (separator >= 0)
        {
            name = rest[..separator].ToString();
            return Kind.Deeper;
        }

        name = rest.ToString();
        return Kind.Name;
    }

    /// <summary>The status of a path that does not resolve: invalid paths are InvalidParameter, the rest NotFound.</summary>
    public static VolumeStatus Missing(Kind kind) => kind == Kind.Invalid ? VolumeStatus.InvalidParameter : VolumeStatus.NotFound;
}
