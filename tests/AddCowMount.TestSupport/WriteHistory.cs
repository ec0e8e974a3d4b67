namespace AddCowMount.TestSupport;

/// <summary>
/// Checks concurrent byte-range writes against serial semantics. Every write fills its range with bytes that
/// depend on its id and the byte's disk offset, so the content shows who wrote each byte. The final content of
/// a region is explained by "peeling": a write whose every remaining byte is visible may be the last one; peel it
/// and repeat. A lost update (a write whose bytes are partly gone though nobody overwrote them) or a torn write
/// cannot be peeled; bytes no write explains must hold the initial content.
/// </summary>
public sealed class WriteHistory
{
    private readonly List<Entry> _writes = [];
    private readonly Lock _lock = new();
    private long _ticket;

    public readonly record struct Entry(int Id, long Offset, int Length, long Ticket);

    public static byte Tag(int id, long offset)
    {
        ulong h = ((ulong)id * 0x9E3779B97F4A7C15UL) ^ ((ulong)offset * 0xC2B2AE3D27D4EB4FUL);
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return (byte)(h >> 32);
    }

    public static void Fill(int id, long offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Tag(id, offset + i);
        }
    }

    /// <summary>Takes a ticket before a write starts (and at a read's end): orders "could have been visible".</summary>
    public long NextTicket() => Interlocked.Increment(ref _ticket);

    public void Record(Entry entry)
    {
        lock (_lock)
        {
            _writes.Add(entry);
        }
    }

    public int Count => _writes.Count;

    /// <summary>
    /// Explains <paramref name="content"/> (the bytes at [<paramref name="start"/>, start + length)) by the writes with
    /// a ticket below <paramref name="ticketLimit"/>; when <paramref name="requireAll"/> every such write must be
    /// visible or covered. Returns null when consistent, else a description of the first problem.
    /// </summary>
    public string? Explain(long start, ReadOnlySpan<byte> content, ReadOnlySpan<byte> initial, long ticketLimit, bool requireAll)
    {
        long end = start + content.Length;
        List<Entry> candidates;
        lock (_lock)
        {
            candidates = _writes.Where(w => w.Ticket < ticketLimit && w.Offset < end && start < w.Offset + w.Length).ToList();
        }

        int n = content.Length;
        var covering = new List<int>?[n];
        int[] bad = new int[candidates.Count];
        int[] remaining = new int[candidates.Count];
        for (int w = 0; w < candidates.Count; w++)
        {
            Entry e = candidates[w];
            int from = (int)Math.Max(0, e.Offset - start);
            int to = (int)Math.Min(n, e.Offset + e.Length - start);
            for (int i = from; i < to; i++)
            {
                (covering[i] ??= []).Add(w);
                remaining[w]++;
                if (content[i] != Tag(e.Id, start + i))
                {
                    bad[w]++;
                }
            }
        }

        bool[] explained = new bool[n];
        bool[] peeled = new bool[candidates.Count];
        var ready = new Queue<int>(Enumerable.Range(0, candidates.Count).Where(w => bad[w] == 0));
        while (ready.Count > 0)
        {
            int w = ready.Dequeue();
            if (peeled[w])
            {
                continue;
            }

            peeled[w] = true;
            Entry e = candidates[w];
            int from = (int)Math.Max(0, e.Offset - start);
            int to = (int)Math.Min(n, e.Offset + e.Length - start);
            for (int i = from; i < to; i++)
            {
                if (explained[i])
                {
                    continue;
                }

                explained[i] = true;
                foreach (int other in covering[i]!)
                {
                    remaining[other]--;
                    if (content[i] != Tag(candidates[other].Id, start + i) && --bad[other] == 0 && !peeled[other])
                    {
                        ready.Enqueue(other);
                    }
                }
            }
        }

        if (requireAll)
        {
            for (int w = 0; w < candidates.Count; w++)
            {
                if (!peeled[w] && remaining[w] > 0)
                {
                    Entry e = candidates[w];
                    return $"write {e.Id} at {e.Offset} (+{e.Length}) is partly lost or torn: {bad[w]} of its {remaining[w]} unexplained bytes differ";
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            if (!explained[i] && content[i] != initial[i])
            {
                return $"byte {start + i} holds 0x{content[i]:x2}, which no single write explains (initial 0x{initial[i]:x2})";
            }
        }

        return null;
    }
}
