namespace AddCowMount.Core.Alignment;

/// <summary>
/// Reader/writer locks over ranges of sectors: overlapping reads share, a write excludes every overlapping read and
/// write, disjoint ranges never wait for each other. Fair: requests are served in arrival order among those that
/// overlap, so a waiting writer holds back readers that come after it (steady readers cannot starve it), and a
/// release wakes only the waiters it lets proceed.
/// </summary>
internal sealed class RangeLock
{
    // Every request, granted or waiting, in arrival order. A request may proceed once no earlier one conflicts.
    private readonly LinkedList<Entry> _queue = new();
    private readonly Lock _gate = new();

    /// <summary>Requests waiting now (for tests).</summary>
    internal int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count(e => !e.Granted);
            }
        }
    }

    public Holder Acquire(long start, long end, bool exclusive)
    {
        var entry = new Entry(start, end, exclusive);
        lock (_gate)
        {
            entry.Node = _queue.AddLast(entry);
            entry.Granted = !ConflictsWithEarlier(entry);
        }

        if (!entry.Granted)
        {
            entry.WaitUntilWoken();
        }

        return new Holder(this, entry);
    }

    private static bool ConflictsWithEarlier(Entry entry)
    {
        for (LinkedListNode<Entry>? node = entry.Node!.Previous; node is not null; node = node.Previous)
        {
            if (node.Value.ConflictsWith(entry))
            {
                return true;
            }
        }

        return false;
    }

    private void Release(Entry entry)
    {
        List<Entry>? wake = null;
        lock (_gate)
        {
            if (entry.Node!.List is null)
            {
                return; // released twice (a copied holder): nothing more to do
            }

            _queue.Remove(entry.Node);
            // Only a waiter that overlapped the released range can have lost its last conflict.
            for (LinkedListNode<Entry>? node = _queue.First; node is not null; node = node.Next)
            {
                Entry waiter = node.Value;
                if (!waiter.Granted && waiter.Overlaps(entry) && !ConflictsWithEarlier(waiter))
                {
                    waiter.Granted = true;
                    (wake ??= []).Add(waiter);
                }
            }
        }

        if (wake is not null)
        {
            foreach (Entry waiter in wake)
            {
                waiter.Wake();
            }
        }
    }

    internal sealed class Entry(long start, long end, bool exclusive)
    {
        private readonly object _signal = new();
        private bool _woken;

        public long Start { get; } = start;

        public long End { get; } = end;

        public bool Exclusive { get; } = exclusive;

        /// <summary>Set under the lock's gate.</summary>
        public bool Granted { get; set; }

        public LinkedListNode<Entry>? Node { get; set; }

        public bool Overlaps(Entry other) => Start < other.End && other.Start < End;

        public bool ConflictsWith(Entry other) => Overlaps(other) && (Exclusive || other.Exclusive);

        public void WaitUntilWoken()
        {
            lock (_signal)
            {
                while (!_woken)
                {
                    Monitor.Wait(_signal);
                }
            }
        }

        public void Wake()
        {
            lock (_signal)
            {
                _woken = true;
                Monitor.Pulse(_signal);
            }
        }
    }

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
