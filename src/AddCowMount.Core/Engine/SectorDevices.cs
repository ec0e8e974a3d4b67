namespace AddCowMount.Core.Engine;

/// <summary>Helpers over <see cref="ISectorDevice"/> shared by the engine and the whole-image operations.</summary>
public static class SectorDevices
{
    /// <summary>Reads a layer's sectors; sectors past its end, or with no layer at all, read as zeros.</summary>
    public static void ReadOrZeros(ISectorDevice? layer, long sector, Span<byte> buffer)
    {
        if (layer is null)
        {
            buffer.Clear();
            return;
        }

        long count = buffer.Length / ISectorDevice.SectorSize;
        long inLayer = Math.Clamp(layer.SectorCount - sector, 0, count);
        if (inLayer > 0)
        {
            layer.ReadSectors(sector, buffer[..(int)(inLayer * ISectorDevice.SectorSize)]);
        }

        buffer[(int)(inLayer * ISectorDevice.SectorSize)..].Clear();
    }
}
