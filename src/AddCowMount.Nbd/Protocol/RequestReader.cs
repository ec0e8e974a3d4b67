namespace AddCowMount.Nbd.Protocol;

/// <summary>
/// The read side of a transmission: request headers and small payloads come out of one receive buffer, so a
/// client that pipelines (qemu, libnbd, fio) costs one receive per burst of requests, not one per header and one
/// per payload. Reads as large as the buffer go straight into the caller's memory once the buffer is drained.
/// Only the connection's reader uses it; replies are written to the stream directly.
/// </summary>
internal sealed class RequestReader(Stream stream, int capacity = 128 * 1024)
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _start;
    private int _end;

    /// <summary>Fills <paramref name="into"/>; returns fewer bytes (0 at a clean end) only when the stream ends first.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> into, CancellationToken cancel)
    {
        int done = 0;
        while (done < into.Length)
        {
            if (_start == _end)
            {
                if (into.Length - done >= _buffer.Length)
                {
                    int direct = await stream.ReadAsync(into[done..], cancel).ConfigureAwait(false);
                    if (direct == 0)
                    {
                        return done;
                    }

                    done += direct;
                    continue;
                }

                _start = 0;
                _end = await stream.ReadAsync(_buffer, cancel).ConfigureAwait(false);
                if (_end == 0)
                {
                    return done;
                }
            }

            int take = Math.Min(_end - _start, into.Length - done);
            _buffer.AsSpan(_start, take).CopyTo(into.Span[done..]);
            _start += take;
            done += take;
        }

        return done;
    }
}
