namespace AddCowMount.Core.Volume;

public sealed partial class VolumeModel
{
    /// <summary>A node of the volume: the root directory or a view, with its in-memory times and security descriptor.</summary>
    internal sealed class Entry(string name, DiskView? view, DateTime creationTimeUtc, DateTime lastWriteTimeUtc)
    {
        private readonly Lock _lock = new();
        private DateTime _creationTimeUtc = creationTimeUtc;
        private DateTime _lastWriteTimeUtc = lastWriteTimeUtc;
        private DateTime _lastAccessTimeUtc = lastWriteTimeUtc;
        private byte[]? _security;

        public string Name { get; } = name;

        public DiskView? View { get; } = view;

        public bool IsDirectory => View is null;

        public (DateTime Created, DateTime Accessed, DateTime Written) GetTimes()
        {
            lock (_lock)
            {
                return (_creationTimeUtc, _lastAccessTimeUtc, _lastWriteTimeUtc);
            }
        }

        public void SetTimes(DateTime? created, DateTime? accessed, DateTime? written)
        {
            lock (_lock)
            {
                _creationTimeUtc = created ?? _creationTimeUtc;
                _lastAccessTimeUtc = accessed ?? _lastAccessTimeUtc;
                _lastWriteTimeUtc = written ?? _lastWriteTimeUtc;
            }
        }

        public void Touch(DateTime now)
        {
            lock (_lock)
            {
                _lastWriteTimeUtc = now;
            }
        }

        public byte[]? GetSecurity()
        {
            lock (_lock)
            {
                return _security is null ? null : (byte[])_security.Clone();
            }
        }

        public void SetSecurity(byte[] descriptor)
        {
            lock (_lock)
            {
                _security = (byte[])descriptor.Clone();
            }
        }
    }
}
