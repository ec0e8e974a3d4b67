using System.Collections.Concurrent;
using AddCowMount.Nbd.Export;

namespace AddCowMount.Nbd.Tests.Support;

/// <summary>
/// An export over a byte array. Depth 1 where something was written, 0 elsewhere. Records every call and any
/// call outside the disk (the protocol must never make one), and can hold reads of chosen offsets at a gate.
/// </summary>
internal sealed class MemoryExport(int size, bool readOnly = false, string name = "disk") : INbdExport
{
    private readonly byte[] _disk = new byte[size];
    private readonly bool[] _written = new bool[size];
    private readonly Lock _lock = new();

    public string Name => name;

    public string Description => "memory";

    public long Size => size;

    public bool IsReadOnly => readOnly;

    public bool CanMultiConn => true;

    public byte[] Disk => _disk;

    public int Flushes;

    public int Writes;

    public int Sessions;

    public int OpenSessions;

    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>Reads at these offsets wait for the gate.</summary>
    public ConcurrentDictionary<long, TaskCompletionSource> Gates { get; } = new();

    public INbdSession? Open(out string? reason)
    {
        reason = null;
        Interlocked.Increment(ref Sessions);
        Interlocked.Increment(ref OpenSessions);
        return new Session(this);
    }

    private void Check(string what, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > size)
        {
            Violations.Enqueue($"{what} {offset}+{length} outside the {size}-byte disk");
        }
    }

    private sealed class Session(MemoryExport export) : INbdSession
    {
        public NbdError Read(long offset, Span<byte> buffer)
        {
            export.Check("read", offset, buffer.Length);
            if (export.Gates.TryGetValue(offset, out TaskCompletionSource? gate))
            {
                gate.Task.Wait(TimeSpan.FromSeconds(10));
            }

            lock (export._lock)
            {
                export._disk.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
            }

            return NbdError.None;
        }

        public NbdError Write(long offset, ReadOnlySpan<byte> data)
        {
            export.Check("write", offset, data.Length);
            if (export.IsReadOnly)
            {
                export.Violations.Enqueue("write on a read-only export");
            }

            lock (export._lock)
            {
                data.CopyTo(export._disk.AsSpan((int)offset));
                export._written.AsSpan((int)offset, data.Length).Fill(true);
            }

            Interlocked.Increment(ref export.Writes);
            return NbdError.None;
        }

        public NbdError Flush()
        {
            Interlocked.Increment(ref export.Flushes);
            return NbdError.None;
        }

        public NbdError WriteZeroes(long offset, long length, bool mayLeaveHole)
        {
            export.Check("write zeroes", offset, length);
            lock (export._lock)
            {
                export._disk.AsSpan((int)offset, (int)length).Clear();
            }

            return NbdError.None;
        }

        public void Allocation(long offset, long length, int max, List<AllocationExtent> into)
        {
            export.Check("block status", offset, length);
            long end = offset + length;
            for (long at = offset; at < end && into.Count < max;)
            {
                bool state = export._written[at];
                long run = at;
                while (run < end && export._written[run] == state)
                {
                    run++;
                }

                into.Add(new AllocationExtent(at, run - at, state ? 1 : 0));
                at = run;
            }
        }

        public void Dispose() => Interlocked.Decrement(ref export.OpenSessions);
    }
}
