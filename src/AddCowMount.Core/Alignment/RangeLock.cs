namespace AddCowMount.Core.Alignment;

/// <summary>
/// Reader/writer locks over ranges of sectors: overlapping reads share, a write excludes every
/// overlapping read and write. Disjoint ranges never wait for each other.
/// </summary>
internal sealed class RangeLock
{
    private readonly List<Entry> _active = [];
    private readonly object _gate = new();

    public Holder Acquire(long start, long end, bool exclusive)
    {
        var entry = new Entry(start, end, exclusive);
        lock (_gate)
        {
            while (Conflicts(entry))
            {
                Monitor.Wait(_gate);
            }

            _active.Add(entry);
        }

        return new Holder(this, entry);
    }

    private bool Conflicts(Entry entry)
    {
        foreach (Entry other in _active)
        {
            if (other.Start < entry.End && entry.Start < other.End && (other.Exclusive || entry.Exclusive))
            {
                return true;
            }
        }

        return false;
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            _active.Remove(entry);
            Monitor.PulseAll(_gate);
        }
    }

    internal sealed record Entry(long Start, long End, bool Exclusive);

    public readonly struct Holder : IDisposable
    {
        private readonly RangeLock _owner;
        private readonly Entry _entry;

        internal Holder(RangeLock owner, Entry entry)
        {
            _owner = owner;
            _entry = entry;
        }

        public void Dispose() => _owner?.Release(_entry);
    }
}
