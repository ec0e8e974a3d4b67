using AddCowMount.Core.Engine;

namespace AddCowMount.Core.Diagnostics;

/// <summary>
/// Which layer holds each sector of a range of the composed disk, as qemu's <c>qemu:allocation-depth</c> counts:
/// 1 = the top image file, 2 = its backing, ... and 0 where no layer holds it (the disk reads zeros there).
/// Lazy and bounded by the range asked for, so a block-status query on a 2 TiB disk touches only its own part.
/// </summary>
public static class AllocationDepth
{
    /// <summary>Maximal runs of equal depth over [sector, sector + count), in order.</summary>
    public static IEnumerable<(long Start, long Count, int Depth)> Runs(ISectorDevice top, long sector, long count)
    {
        long pendingStart = sector, pendingCount = 0;
        int pendingDepth = -1;
        foreach ((long start, long n, int depth) in Walk(top, sector, count, 1))
        {
            if (depth == pendingDepth && pendingStart + pendingCount == start)
            {
                pendingCount += n;
                continue;
            }

            if (pendingCount > 0)
            {
                yield return (pendingStart, pendingCount, pendingDepth);
            }

            (pendingStart, pendingCount, pendingDepth) = (start, n, depth);
        }

        if (pendingCount > 0)
        {
            yield return (pendingStart, pendingCount, pendingDepth);
        }
    }

    private static IEnumerable<(long Start, long Count, int Depth)> Walk(ISectorDevice? layer, long start, long count, int depth)
    {
        if (count <= 0)
        {
            yield break;
        }

        if (layer is null)
        {
            yield return (start, count, 0);
            yield break;
        }

        long inLayer = Math.Clamp(layer.SectorCount - start, 0, count);
        if (layer is AddCowImage image)
        {
            foreach ((long runStart, long runCount, bool allocated) in image.AllocationRunsIn(start, inLayer))
            {
                if (allocated)
                {
                    yield return (runStart, runCount, depth);
                    continue;
                }

                foreach (var below in Walk(image.Backing, runStart, runCount, depth + 1))
                {
                    yield return below;
                }
            }
        }
        else if (inLayer > 0)
        {
            yield return (start, inLayer, depth);
        }

        if (inLayer < count)
        {
            yield return (start + inLayer, count - inLayer, 0);
        }
    }
}
