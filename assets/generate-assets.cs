// Generates every image in assets/ from the shapes below: tray icons (idle / mounted / error), the app icon,
// the installer's banner and dialog bitmaps, and a preview sheet. No dependency beyond the .NET SDK:
//     dotnet run assets/generate-assets.cs            (from the repository root; writes into assets/)
// Shapes are signed-distance functions in a 0..1 unit square, supersampled 4x4 per pixel, so every icon
// size is drawn from the same geometry rather than scaled from one bitmap.
using System.Buffers.Binary;
using System.IO.Compression;

string outDir = args.Length > 0 ? args[0] : Path.Combine(Directory.GetCurrentDirectory(), "assets");
Directory.CreateDirectory(outDir);
int[] iconSizes = [16, 20, 24, 32, 48, 256];

var idle = Art.Drive(Art.Badge.None, accent: Art.Grey);
var mounted = Art.Drive(Art.Badge.Mounted, accent: Art.Orange);
var error = Art.Drive(Art.Badge.Error, accent: Art.Orange);
var app = Art.Drive(Art.Badge.None, accent: Art.Orange);

Ico.Write(Path.Combine(outDir, "tray-idle.ico"), idle, iconSizes);
Ico.Write(Path.Combine(outDir, "tray-mounted.ico"), mounted, iconSizes);
Ico.Write(Path.Combine(outDir, "tray-error.ico"), error, iconSizes);
Ico.Write(Path.Combine(outDir, "addcowmount.ico"), app, iconSizes);

// WiX UI sizes: banner 493x58 (art on the right, text goes left), dialog 493x312 (art in the left 164 px).
Bmp.Write(Path.Combine(outDir, "installer-banner.bmp"), Art.Banner(493, 58, app));
Bmp.Write(Path.Combine(outDir, "installer-dialog.bmp"), Art.Dialog(493, 312, app));

// Preview: every icon at every size on light and dark strips, to look at without Windows.
Png.Write(Path.Combine(outDir, "preview.png"), Art.Preview([app, idle, mounted, error], iconSizes));
Console.WriteLine($"Wrote icons, installer bitmaps and preview.png to {outDir}");

/// <summary>Premultiplied-free RGBA colour, components 0..1.</summary>
readonly record struct Rgba(double R, double G, double B, double A)
{
    public static Rgba Hex(uint rgb, double a = 1) =>
        new(((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0, a);

    public Rgba Over(Rgba below)
    {
        double a = A + below.A * (1 - A);
        if (a <= 0)
        {
            return default;
        }

        return new((R * A + below.R * below.A * (1 - A)) / a, (G * A + below.G * below.A * (1 - A)) / a, (B * A + below.B * below.A * (1 - A)) / a, a);
    }
}

/// <summary>A filled shape: signed distance (negative inside) in unit coordinates, and its colour.</summary>
sealed record Shape(Func<double, double, double> Distance, Rgba Color);

static class Sdf
{
    public static Func<double, double, double> RoundRect(double cx, double cy, double hw, double hh, double r) => (x, y) =>
    {
        double qx = Math.Abs(x - cx) - hw + r, qy = Math.Abs(y - cy) - hh + r;
        return Math.Sqrt(Math.Pow(Math.Max(qx, 0), 2) + Math.Pow(Math.Max(qy, 0), 2)) + Math.Min(Math.Max(qx, qy), 0) - r;
    };

    public static Func<double, double, double> Circle(double cx, double cy, double r) => (x, y) =>
        Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) - r;

    /// <summary>A stroke from (ax,ay) to (bx,by) with round caps, half-width w.</summary>
    public static Func<double, double, double> Segment(double ax, double ay, double bx, double by, double w) => (x, y) =>
    {
        double px = x - ax, py = y - ay, dx = bx - ax, dy = by - ay;
        double t = Math.Clamp((px * dx + py * dy) / (dx * dx + dy * dy), 0, 1);
        return Math.Sqrt(Math.Pow(px - dx * t, 2) + Math.Pow(py - dy * t, 2)) - w;
    };

    public static Func<double, double, double> Union(params Func<double, double, double>[] parts) => (x, y) =>
        parts.Min(p => p(x, y));
}

static class Art
{
    public enum Badge { None, Mounted, Error }

    public static readonly Rgba Grey = Rgba.Hex(0x9AA5B1);
    public static readonly Rgba Orange = Rgba.Hex(0xF29D38);
    static readonly Rgba Body = Rgba.Hex(0x2F4858);
    static readonly Rgba BodyEdge = Rgba.Hex(0x1B2B36);
    static readonly Rgba Base = Rgba.Hex(0x5B7F95);
    static readonly Rgba Led = Rgba.Hex(0x7CE0A0);
    static readonly Rgba White = Rgba.Hex(0xFFFFFF);
    static readonly Rgba Green = Rgba.Hex(0x2E9E4F);
    static readonly Rgba Red = Rgba.Hex(0xD62F2F);

    /// <summary>A disk drive holding two layers: the shared base (blue) and the copy-on-write overlay (accent).</summary>
    public static Shape[] Drive(Badge badge, Rgba accent)
    {
        var shapes = new List<Shape>
        {
            new(Sdf.RoundRect(0.5, 0.5, 0.44, 0.36, 0.09), BodyEdge),
            new(Sdf.RoundRect(0.5, 0.5, 0.405, 0.325, 0.065), Body),
            new(Sdf.RoundRect(0.5, 0.60, 0.31, 0.085, 0.03), Base),
            new(Sdf.RoundRect(0.5, 0.38, 0.31, 0.085, 0.03), accent),
            new(Sdf.Circle(0.80, 0.77, 0.035), badge == Badge.None ? Led : Body),
        };
        switch (badge)
        {
            case Badge.Mounted:
                shapes.Add(new(Sdf.Circle(0.74, 0.74, 0.25), White));
                shapes.Add(new(Sdf.Circle(0.74, 0.74, 0.21), Green));
                shapes.Add(new(Sdf.Union(Sdf.Segment(0.635, 0.745, 0.71, 0.82, 0.035), Sdf.Segment(0.71, 0.82, 0.85, 0.665, 0.035)), White));
                break;
            case Badge.Error:
                shapes.Add(new(Sdf.Circle(0.74, 0.74, 0.25), White));
                shapes.Add(new(Sdf.Circle(0.74, 0.74, 0.21), Red));
                shapes.Add(new(Sdf.Segment(0.74, 0.63, 0.74, 0.76, 0.035), White));
                shapes.Add(new(Sdf.Circle(0.74, 0.845, 0.038), White));
                break;
        }

        return [.. shapes];
    }

    /// <summary>RGBA pixels, row-major, top row first.</summary>
    public static Rgba[] Render(Shape[] shapes, int size, Rgba background = default)
    {
        const int ss = 4;
        var pixels = new Rgba[size * size];
        for (int py = 0; py < size; py++)
        {
            for (int px = 0; px < size; px++)
            {
                double r = 0, g = 0, b = 0, a = 0;
                for (int sy = 0; sy < ss; sy++)
                {
                    for (int sx = 0; sx < ss; sx++)
                    {
                        double x = (px + (sx + 0.5) / ss) / size, y = (py + (sy + 0.5) / ss) / size;
                        Rgba c = background;
                        foreach (Shape shape in shapes)
                        {
                            if (shape.Distance(x, y) <= 0)
                            {
                                c = shape.Color.Over(c);
                            }
                        }

                        r += c.R * c.A; g += c.G * c.A; b += c.B * c.A; a += c.A;
                    }
                }

                pixels[py * size + px] = a > 0 ? new Rgba(r / a, g / a, b / a, a / (ss * ss)) : default;
            }
        }

        return pixels;
    }

    public static Image Banner(int w, int h, Shape[] icon)
    {
        var image = Image.Filled(w, h, Rgba.Hex(0xFFFFFF));
        image.Fill(0, h - 2, w, 2, Orange);
        int size = h - 10;
        image.Blit(Render(icon, size), size, w - size - 8, 4);
        return image;
    }

    public static Image Dialog(int w, int h, Shape[] icon)
    {
        var image = Image.Filled(w, h, Rgba.Hex(0xFFFFFF));
        image.Fill(0, 0, 164, h, Body);
        image.Fill(160, 0, 4, h, Orange);
        image.Blit(Render(icon, 120), 120, 22, 40);
        return image;
    }

    public static Image Preview(Shape[][] icons, int[] sizes)
    {
        int cell = sizes.Max() + 8, w = cell * sizes.Length, h = cell * icons.Length * 2;
        var image = Image.Filled(w, h, Rgba.Hex(0xF3F3F3));
        for (int i = 0; i < icons.Length; i++)
        {
            image.Fill(0, (icons.Length + i) * cell, w, cell, Rgba.Hex(0x202020));
            for (int s = 0; s < sizes.Length; s++)
            {
                Rgba[] px = Render(icons[i], sizes[s]);
                image.Blit(px, sizes[s], s * cell + 4, i * cell + 4);
                image.Blit(px, sizes[s], s * cell + 4, (icons.Length + i) * cell + 4);
            }
        }

        return image;
    }
}

sealed class Image(int width, int height)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public Rgba[] Pixels { get; } = new Rgba[width * height];

    public static Image Filled(int w, int h, Rgba color)
    {
        var image = new Image(w, h);
        image.Fill(0, 0, w, h, color);
        return image;
    }

    public void Fill(int x, int y, int w, int h, Rgba color)
    {
        for (int j = y; j < y + h; j++)
        {
            for (int i = x; i < x + w; i++)
            {
                Pixels[j * Width + i] = color;
            }
        }
    }

    public void Blit(Rgba[] source, int size, int x, int y)
    {
        for (int j = 0; j < size; j++)
        {
            for (int i = 0; i < size; i++)
            {
                int k = (y + j) * Width + x + i;
                Pixels[k] = source[j * size + i].Over(Pixels[k]);
            }
        }
    }
}

static class Png
{
    private static readonly uint[] s_crcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++)
        {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return c;
    }).ToArray();

    public static void Write(string path, Image image) => File.WriteAllBytes(path, Encode(image.Pixels, image.Width, image.Height));

    public static byte[] Encode(Rgba[] pixels, int width, int height)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < width; x++)
            {
                Rgba p = pixels[y * width + x];
                raw.Write([To8(p.R), To8(p.G), To8(p.B), To8(p.A)]);
            }
        }

        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(z);
        }

        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 6; // RGBA
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    public static byte To8(double v) => (byte)Math.Clamp(Math.Round(v * 255), 0, 255);

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        s.Write(four);
        byte[] typed = [.. type.Select(c => (byte)c), .. data];
        s.Write(typed);
        uint crc = 0xFFFFFFFF;
        foreach (byte b in typed)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        BinaryPrimitives.WriteUInt32BigEndian(four, crc ^ 0xFFFFFFFF);
        s.Write(four);
    }
}

static class Ico
{
    /// <summary>Sizes below 256 as 32-bit DIBs with an AND mask (what every Windows API reads); 256 as PNG.</summary>
    public static void Write(string path, Shape[] shapes, int[] sizes)
    {
        var images = sizes.Select(s => s == 256 ? Png.Encode(Art.Render(shapes, s), s, s) : Dib(Art.Render(shapes, s), s)).ToList();
        var ico = new MemoryStream();
        var w = new BinaryWriter(ico);
        w.Write((ushort)0);
        w.Write((ushort)1);
        w.Write((ushort)sizes.Length);
        int offset = 6 + 16 * sizes.Length;
        for (int i = 0; i < sizes.Length; i++)
        {
            w.Write((byte)(sizes[i] >= 256 ? 0 : sizes[i]));
            w.Write((byte)(sizes[i] >= 256 ? 0 : sizes[i]));
            w.Write((byte)0); // palette
            w.Write((byte)0); // reserved
            w.Write((ushort)1); // planes
            w.Write((ushort)32); // bits per pixel
            w.Write(images[i].Length);
            w.Write(offset);
            offset += images[i].Length;
        }

        images.ForEach(w.Write);
        File.WriteAllBytes(path, ico.ToArray());
    }

    private static byte[] Dib(Rgba[] pixels, int size)
    {
        int maskStride = (size + 31) / 32 * 4;
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write(40); w.Write(size); w.Write(size * 2); w.Write((ushort)1); w.Write((ushort)32);
        w.Write(0); w.Write(size * size * 4 + maskStride * size); w.Write(0); w.Write(0); w.Write(0); w.Write(0);
        for (int y = size - 1; y >= 0; y--)
        {
            for (int x = 0; x < size; x++)
            {
                Rgba p = pixels[y * size + x];
                w.Write([Png.To8(p.B), Png.To8(p.G), Png.To8(p.R), Png.To8(p.A)]);
            }
        }

        for (int y = size - 1; y >= 0; y--)
        {
            byte[] row = new byte[maskStride];
            for (int x = 0; x < size; x++)
            {
                if (pixels[y * size + x].A < 0.5 / 255)
                {
                    row[x / 8] |= (byte)(0x80 >> (x % 8));
                }
            }

            w.Write(row);
        }

        return ms.ToArray();
    }
}

static class Bmp
{
    /// <summary>24-bit bottom-up BMP, what WiX's WixUIBannerBmp / WixUIDialogBmp expect.</summary>
    public static void Write(string path, Image image)
    {
        int stride = (image.Width * 3 + 3) / 4 * 4;
        int dataSize = stride * image.Height;
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write((byte)'B'); w.Write((byte)'M'); w.Write(54 + dataSize); w.Write(0); w.Write(54);
        w.Write(40); w.Write(image.Width); w.Write(image.Height); w.Write((ushort)1); w.Write((ushort)24);
        w.Write(0); w.Write(dataSize); w.Write(2835); w.Write(2835); w.Write(0); w.Write(0);
        for (int y = image.Height - 1; y >= 0; y--)
        {
            byte[] row = new byte[stride];
            for (int x = 0; x < image.Width; x++)
            {
                Rgba p = image.Pixels[y * image.Width + x].Over(Rgba.Hex(0xFFFFFF));
                row[x * 3] = Png.To8(p.B);
                row[x * 3 + 1] = Png.To8(p.G);
                row[x * 3 + 2] = Png.To8(p.R);
            }

            w.Write(row);
        }

        File.WriteAllBytes(path, ms.ToArray());
    }
}
