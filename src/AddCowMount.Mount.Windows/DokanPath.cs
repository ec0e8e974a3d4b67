namespace AddCowMount.Mount.Windows;

/// <summary>Translates Dokan's paths ("\\disk.vhd", "\\") to the volume's ("/disk.vhd", "/").</summary>
public static class DokanPath
{
    public static string ToVolumePath(ReadOnlySpan<char> dokanPath)
    {
        // Dokan roots every path at '\'; directory opens may carry a trailing separator ("\\dir\\").
        dokanPath = dokanPath.TrimEnd('\\');
        if (dokanPath.IsEmpty)
        {
            return "/";
        }

        var path = dokanPath.ToString().Replace('\\', '/');
        return path[0] == '/' ? path : "/" + path;
    }
}
