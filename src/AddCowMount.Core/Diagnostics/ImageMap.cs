using AddCowMount.Core.Engine;

namespace AddCowMount.Core.Diagnostics;

/// <summary>One extent of the composed disk, like a row of <c>qemu-img map</c>: which layer holds it.</summary>
/// <param name="Start">Byte offset in the virtual disk.</param>
/// <param name="Length">Bytes.</param>
/// <param name="Depth">0 = the top image file, 1 = its backing, ...; -1 when no layer holds it (reads as zeros).</param>
/// <param name="File">The file holding the data (an image file or raw backing file), null for zeros.</param>
/// <param name="Offset">Byte offset of the data in <paramref name="File"/>.</param>
public sealed record MapEntry(long Start, long Length, int Depth, string? File, long Offset)
{
    public bool Data => File is not null;
}

public static class ImageMap
{
    /// <summary>The composed disk's extents, walking the backing chain for sectors the top layer lacks.</summary>
    public static List<MapEntry> Build(ISectorDevice top)
    {
        var entries = new List<MapEntry>();
        Walk(top, 0, top.SectorCount, 0, entries);
        return Merge(entries);
    }

    private static void Walk(ISectorDevice? layer, long start, long count, int depth, List<MapEntry> output)
    {
        const int s = ISectorDevice.SectorSize;
        if (count <= 0)
        {
            return;
        }

        if (layer is null)
        {
            output.Add(new MapEntry(start * s, count * s, -1, null, 0));
            return;
        }

        long inLayer = Math.Clamp(layer.SectorCount - start, 0, count);
        if (layer is AddCowImage image)
        {
            foreach ((long runStart, long runCount, bool allocated) in image.AllocationRunsIn(start, inLayer))
            {
                if (allocated)
                {
                    output.Add(new MapEntry(runStart * s, runCount * s, depth, image.ImageFilePath, runStart * s));
                }
                else
                {
                    Walk(image.Backing, runStart, runCount, depth + 1, output);
                }
            }
        }
        else if (inLayer > 0)
        {
            output.Add(new MapEntry(start * s, inLayer * s, depth, layer.Path, start * s));
        }

        if (inLayer < count)
        {
            output.Add(new MapEntry((start + inLayer) * s, (count - inLayer) * s, -1, null, 0));
        }
    }

    private static List<MapEntry> Merge(List<MapEntry> entries)
    {
        var merged = new List<MapEntry>();
        foreach (MapEntry e in entries.OrderBy(e => e.Start))
        {
            if (merged.Count > 0)
            {
                MapEntry last = merged[^1];
                if (last.Depth == e.Depth && last.File == e.File && last.Start + last.Length == e.Start &&
                    (last.File is null || last.Offset + last.Length == e.Offset))
                {
                    merged[^1] = last with { Length = last.Length + e.Length };
                    continue;
                }
            }

            merged.Add(e);
        }

        return merged;
    }
}
