using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using AddCowMount.Nbd.Export;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Nbd.Protocol;

/// <summary>
/// The transmission phase of one connection. One reader takes requests off the stream in order; each request
/// then runs on the thread pool against the session, and its reply goes out when it completes (matched by
/// cookie, one whole reply at a time). Payload bytes and requests in flight are bounded. Errors the spec names
/// are replied; input that leaves the stream unframed (wrong magic, a write too large to take) closes it.
/// </summary>
internal sealed partial class NbdTransmission
{
    private const int SimpleHeader = NbdLimits.SimpleReplySize;
    private const int StructuredHeader = NbdLimits.StructuredReplyHeaderSize;
    private const int GatherLength = 64 * 1024;
    private const int InlineWriteLimit = 64 * 1024;

    private readonly Stream _stream;
    private readonly INbdExport _export;
    private readonly INbdSession _session;
    private readonly bool _structured;
    private readonly IReadOnlyList<MetaContext> _contexts;
    private readonly ILogger _logger;
    private readonly string _peer;
    private readonly RequestReader _reader;
    private readonly Lock _sendLock = new();
    private readonly Queue<(ReadOnlyMemory<byte> Bytes, TaskCompletionSource Sent)> _outbox = new();
    private readonly byte[] _gather = new byte[GatherLength];
    private bool _sending;
    private Exception? _sendFailed;
    private readonly SemaphoreSlim _slots;
    private readonly ByteBudget _budget;
    private readonly HashSet<Task> _running = [];
    private readonly Lock _runningLock = new();

    public NbdTransmission(Stream stream, INbdExport export, INbdSession session, NegotiationResult negotiated,
        NbdConnectionOptions options, ILogger logger, string peer)
    {
        _stream = stream;
        _reader = new RequestReader(stream);
        _export = export;
        _session = session;
        _structured = negotiated.StructuredReplies;
        _contexts = negotiated.Contexts;
        _logger = logger;
        _peer = peer;
        _slots = new SemaphoreSlim(options.InFlightRequests, options.InFlightRequests);
        _budget = new ByteBudget(options.InFlightBytes);
    }

    /// <summary>Requests served, for logs and tests.</summary>
    public long Requests { get; private set; }

    /// <summary>Serves until NBD_CMD_DISC, the client leaving, or <paramref name="cancel"/>; in-flight requests always finish first.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        try
        {
            await ReadLoopAsync(cancel).ConfigureAwait(false);
        }
        finally
        {
            Task[] pending;
            lock (_runningLock)
            {
                pending = [.. _running];
            }

            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancel)
    {
        byte[] header = new byte[NbdLimits.RequestHeaderSize];
        while (true)
        {
            int first = await _reader.ReadAsync(header, cancel).ConfigureAwait(false);
            if (first == 0)
            {
                LogClientLeft(_logger, _peer);
                return;
            }

            if (first < header.Length)
            {
                throw new EndOfStreamException($"the client closed the connection inside a request header ({first} of {header.Length} bytes)");
            }

            NbdRequest request = NbdRequest.Parse(header);
            Requests++;
            if (request.Command == NbdCommand.Disconnect)
            {
                LogDisconnect(_logger, _peer);
                return;
            }

            await _slots.WaitAsync(cancel).ConfigureAwait(false);
            long budget = request.Command is NbdCommand.Read or NbdCommand.Write && request.Length <= NbdLimits.MaxPayload ? request.Length : 0;
            await _budget.AcquireAsync(budget, cancel).ConfigureAwait(false);
            byte[]? payload = null;
            if (request.Command == NbdCommand.Write)
            {
                if (request.Length > NbdLimits.MaxPayload)
                {
                    throw new NbdProtocolException($"write of {request.Length} bytes is over the {NbdLimits.MaxPayload}-byte limit");
                }

                payload = ArrayPool<byte>.Shared.Rent((int)request.Length);
                try
                {
                    int got = await _reader.ReadAsync(payload.AsMemory(0, (int)request.Length), cancel).ConfigureAwait(false);
                    if (got < request.Length)
                    {
                        throw new EndOfStreamException($"the client closed the connection inside a write payload ({got} of {request.Length} bytes)");
                    }
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(payload);
                    throw;
                }
            }

            if (RunsInline(request))
            {
                await RunAsync(request, payload, budget).ConfigureAwait(false);
            }
            else
            {
                Start(request, payload, budget);
            }
        }
    }

    /// <summary>
    /// Small writes without FUA run on the reader itself: a buffered write of a few KiB returns in microseconds,
    /// and handing it to another thread cost more (a wake-up and a context switch per request) than the write.
    /// Everything that may wait on the disk (reads, large or FUA writes, flushes, zeroing) runs on the pool, so
    /// requests behind it keep flowing.
    /// </summary>
    private static bool RunsInline(NbdRequest request) =>
        request.Command == NbdCommand.Write && request.Length <= InlineWriteLimit && !request.Flags.HasFlag(CommandFlags.Fua);

    private void Start(NbdRequest request, byte[]? payload, long budget)
    {
        Task task = Task.Run(() => RunAsync(request, payload, budget));
        lock (_runningLock)
        {
            _running.Add(task);
        }

        task.ContinueWith(t =>
        {
            lock (_runningLock)
            {
                _running.Remove(t);
            }
        }, TaskScheduler.Default);
    }

    private async Task RunAsync(NbdRequest request, byte[]? payload, long budget)
    {
        try
        {
            await ServeAsync(request, payload).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection went away while replying; the reader notices and ends.
            LogReplyFailed(_logger, _peer, request.Cookie, ex.Message);
        }
        finally
        {
            if (payload is not null)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }

            _budget.Release(budget);
            _slots.Release();
        }
    }

    private async Task ServeAsync(NbdRequest request, byte[]? payload)
    {
        NbdError invalid = Validate(request);
        if (invalid != NbdError.None)
        {
            LogRefused(_logger, _peer, request.Command, request.Offset, request.Length, request.Flags, invalid);
            await SendErrorAsync(request.Cookie, invalid, $"{request.Command} refused: {invalid}").ConfigureAwait(false);
            return;
        }

        long offset = (long)request.Offset;
        int length = (int)Math.Min(request.Length, int.MaxValue);
        switch (request.Command)
        {
            case NbdCommand.Read:
                await ReadAsync(request.Cookie, offset, length).ConfigureAwait(false);
                return;
            case NbdCommand.Write:
                await DoneAsync(request, WithFua(request, () => _session.Write(offset, payload.AsSpan(0, length)))).ConfigureAwait(false);
                return;
            case NbdCommand.Flush:
                await DoneAsync(request, _session.Flush()).ConfigureAwait(false);
                return;
            case NbdCommand.Trim:
                // Advisory: an add-cow overlay cannot drop a sector without exposing the backing data again, so the
                // data stays; the client may assume nothing about trimmed content anyway. FUA still flushes.
                await DoneAsync(request, WithFua(request, () => NbdError.None)).ConfigureAwait(false);
                return;
            case NbdCommand.WriteZeroes:
                bool mayLeaveHole = !request.Flags.HasFlag(CommandFlags.NoHole);
                await DoneAsync(request, WithFua(request, () => _session.WriteZeroes(offset, request.Length, mayLeaveHole))).ConfigureAwait(false);
                return;
            case NbdCommand.BlockStatus:
                await BlockStatusAsync(request).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The spec's answer to a request that must not run: EINVAL, EPERM, ENOSPC or EOVERFLOW.</summary>
    private NbdError Validate(NbdRequest request)
    {
        CommandFlags allowed = request.Command switch
        {
            NbdCommand.Read => CommandFlags.Fua | (_structured ? CommandFlags.DontFragment : 0),
            NbdCommand.Write or NbdCommand.Trim or NbdCommand.Flush => CommandFlags.Fua,
            NbdCommand.WriteZeroes => CommandFlags.Fua | CommandFlags.NoHole,
            NbdCommand.BlockStatus => CommandFlags.RequestOne,
            _ => (CommandFlags)0xFFFF,
        };
        bool writes = request.Command is NbdCommand.Write or NbdCommand.Trim or NbdCommand.WriteZeroes;
        bool ranged = request.Command is not NbdCommand.Flush;
        ulong size = (ulong)_export.Size;
        return request.Command switch
        {
            not (NbdCommand.Read or NbdCommand.Write or NbdCommand.Flush or NbdCommand.Trim or NbdCommand.WriteZeroes or NbdCommand.BlockStatus) => NbdError.Invalid,
            _ when (request.Flags & ~allowed) != 0 => NbdError.Invalid,
            NbdCommand.Flush when request.Offset != 0 || request.Length != 0 => NbdError.Invalid,
            NbdCommand.Read when request.Length > NbdLimits.MaxPayload => NbdError.Overflow,
            NbdCommand.BlockStatus when !_structured || _contexts.Count == 0 || request.Length == 0 => NbdError.Invalid,
            _ when writes && _export.IsReadOnly => NbdError.Perm,
            _ when ranged && (request.Offset > size || request.Length > size - request.Offset) => writes && request.Command != NbdCommand.Trim ? NbdError.NoSpace : NbdError.Invalid,
            _ => NbdError.None,
        };
    }

    private NbdError WithFua(NbdRequest request, Func<NbdError> operation)
    {
        NbdError error = operation();
        return error == NbdError.None && request.Flags.HasFlag(CommandFlags.Fua) ? _session.Flush() : error;
    }

    private async Task ReadAsync(ulong cookie, long offset, int length)
    {
        // The reply header goes in front of the data in one buffer: one write per reply.
        int prefix = _structured ? StructuredHeader + 8 : SimpleHeader;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(prefix + length);
        try
        {
            NbdError error = _session.Read(offset, buffer.AsSpan(prefix, length));
            if (error != NbdError.None)
            {
                LogIoFailed(_logger, _peer, NbdCommand.Read, offset, length, error);
                await SendErrorAsync(cookie, error, $"read of {length} bytes at {offset} failed").ConfigureAwait(false);
                return;
            }

            if (_structured)
            {
                NbdReplies.WriteStructured(buffer, done: true, ChunkType.OffsetData, cookie, 8 + length);
                BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(StructuredHeader), (ulong)offset);
            }
            else
            {
                NbdReplies.WriteSimple(buffer, NbdError.None, cookie);
            }

            await SendAsync(buffer.AsMemory(0, prefix + length)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task BlockStatusAsync(NbdRequest request)
    {
        int max = request.Flags.HasFlag(CommandFlags.RequestOne) ? 1 : NbdLimits.MaxDescriptors;
        var extents = new List<AllocationExtent>();
        _session.Allocation((long)request.Offset, request.Length, max, extents);
        for (int c = 0; c < _contexts.Count; c++)
        {
            MetaContext context = _contexts[c];
            var descriptors = new List<(uint Length, uint Status)>();
            foreach (AllocationExtent extent in extents)
            {
                uint status = MetaContexts.Status(context, extent.Depth);
                if (descriptors.Count > 0 && descriptors[^1].Status == status)
                {
                    descriptors[^1] = (descriptors[^1].Length + (uint)extent.Length, status);
                }
                else
                {
                    descriptors.Add(((uint)extent.Length, status));
                }
            }

            int length = 4 + (descriptors.Count * 8);
            byte[] chunk = new byte[StructuredHeader + length];
            NbdReplies.WriteStructured(chunk, done: c == _contexts.Count - 1, ChunkType.BlockStatus, request.Cookie, length);
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(StructuredHeader), (uint)context);
            for (int i = 0; i < descriptors.Count; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(StructuredHeader + 4 + (i * 8)), descriptors[i].Length);
                BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(StructuredHeader + 8 + (i * 8)), descriptors[i].Status);
            }

            await SendAsync(chunk).ConfigureAwait(false);
        }
    }

    private async Task DoneAsync(NbdRequest request, NbdError error)
    {
        if (error != NbdError.None)
        {
            LogIoFailed(_logger, _peer, request.Command, (long)request.Offset, request.Length, error);
            await SendErrorAsync(request.Cookie, error, $"{request.Command} failed: {error}").ConfigureAwait(false);
            return;
        }

        byte[] reply = new byte[_structured ? StructuredHeader : SimpleHeader];
        if (_structured)
        {
            NbdReplies.WriteStructured(reply, done: true, ChunkType.None, request.Cookie, 0);
        }
        else
        {
            NbdReplies.WriteSimple(reply, NbdError.None, request.Cookie);
        }

        await SendAsync(reply).ConfigureAwait(false);
    }

    private async Task SendErrorAsync(ulong cookie, NbdError error, string message)
    {
        if (!_structured)
        {
            byte[] simple = new byte[SimpleHeader];
            NbdReplies.WriteSimple(simple, error, cookie);
            await SendAsync(simple).ConfigureAwait(false);
            return;
        }

        byte[] text = Encoding.UTF8.GetBytes(message);
        byte[] chunk = new byte[StructuredHeader + 6 + text.Length];
        NbdReplies.WriteStructured(chunk, done: true, ChunkType.Error, cookie, 6 + text.Length);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(StructuredHeader), (uint)error);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(StructuredHeader + 4), (ushort)text.Length);
        text.CopyTo(chunk.AsSpan(StructuredHeader + 6));
        await SendAsync(chunk).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues one whole reply and completes once it is on the stream. Whoever finds the stream idle writes for
    /// everyone: replies that completed meanwhile go out together (small ones gathered into one write), so a burst
    /// of pipelined 4 KiB requests costs one send, not one per reply. Replies never interleave.
    /// </summary>
    private Task SendAsync(ReadOnlyMemory<byte> reply)
    {
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sendLock)
        {
            if (_sendFailed is { } failed)
            {
                return Task.FromException(failed);
            }

            _outbox.Enqueue((reply, sent));
            if (_sending)
            {
                return sent.Task;
            }

            _sending = true;
        }

        return DrainThenAwaitAsync(sent.Task);
    }

    private async Task DrainThenAwaitAsync(Task own)
    {
        var batch = new List<(ReadOnlyMemory<byte> Bytes, TaskCompletionSource Sent)>();
        while (true)
        {
            lock (_sendLock)
            {
                if (_outbox.Count == 0)
                {
                    _sending = false;
                    break;
                }

                while (_outbox.TryDequeue(out var next))
                {
                    batch.Add(next);
                }
            }

            try
            {
                await WriteBatchAsync(batch).ConfigureAwait(false);
                foreach ((_, TaskCompletionSource sent) in batch)
                {
                    sent.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                // The stream is broken: this batch, everything queued and every later reply fail the same way.
                lock (_sendLock)
                {
                    _sendFailed = ex;
                    _sending = false;
                    while (_outbox.TryDequeue(out var next))
                    {
                        batch.Add(next);
                    }
                }

                foreach ((_, TaskCompletionSource sent) in batch)
                {
                    sent.TrySetException(ex);
                }

                break;
            }

            batch.Clear();
        }

        await own.ConfigureAwait(false);
    }

    private async Task WriteBatchAsync(List<(ReadOnlyMemory<byte> Bytes, TaskCompletionSource Sent)> batch)
    {
        int fill = 0;
        foreach ((ReadOnlyMemory<byte> bytes, _) in batch)
        {
            if (bytes.Length > _gather.Length - fill && fill > 0)
            {
                await _stream.WriteAsync(_gather.AsMemory(0, fill)).ConfigureAwait(false);
                fill = 0;
            }

            if (bytes.Length > _gather.Length)
            {
                await _stream.WriteAsync(bytes).ConfigureAwait(false);
                continue;
            }

            bytes.Span.CopyTo(_gather.AsSpan(fill));
            fill += bytes.Length;
        }

        if (fill > 0)
        {
            await _stream.WriteAsync(_gather.AsMemory(0, fill)).ConfigureAwait(false);
        }

        await _stream.FlushAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: client closed the connection without NBD_CMD_DISC")]
    private static partial void LogClientLeft(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Peer}: NBD_CMD_DISC")]
    private static partial void LogDisconnect(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: refused {Command} offset {Offset} length {Length} flags {Flags}: {Error}")]
    private static partial void LogRefused(ILogger logger, string peer, NbdCommand command, ulong offset, uint length, CommandFlags flags, NbdError error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Peer}: {Command} offset {Offset} length {Length} failed: {Error}")]
    private static partial void LogIoFailed(ILogger logger, string peer, NbdCommand command, long offset, long length, NbdError error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Peer}: reply to cookie {Cookie} not sent: {Reason}")]
    private static partial void LogReplyFailed(ILogger logger, string peer, ulong cookie, string reason);
}
