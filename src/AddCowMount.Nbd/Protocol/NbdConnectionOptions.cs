namespace AddCowMount.Nbd.Protocol;

/// <summary>How one connection is served; the transport fills it in, tests too.</summary>
public sealed record NbdConnectionOptions
{
    /// <summary>
    /// Upgrades the stream to TLS after NBD_OPT_STARTTLS was acknowledged. When set, TLS is required: every option
    /// other than STARTTLS and ABORT before it gets NBD_REP_ERR_TLS_REQD (NBD_OPT_EXPORT_NAME a disconnect).
    /// </summary>
    public Func<Stream, CancellationToken, Task<Stream>>? StartTls { get; init; }

    /// <summary>A client that has not reached the transmission phase by then is disconnected (qemu-nbd: 10 s).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Payload bytes of pipelined requests one connection may hold at once.</summary>
    public long InFlightBytes { get; init; } = 64L << 20;

    /// <summary>Requests one connection may have in flight at once.</summary>
    public int InFlightRequests { get; init; } = 64;
}
