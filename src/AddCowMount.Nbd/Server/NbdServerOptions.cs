using System.Globalization;
using System.Net;
using AddCowMount.Core.Format;

namespace AddCowMount.Nbd.Server;

/// <summary>Where and how <c>addcow serve</c> listens. Loopback is the default everywhere.</summary>
public sealed record NbdServerOptions
{
    /// <summary>NBD's registered port.</summary>
    public const int DefaultPort = 10809;

    /// <summary>A Unix domain socket path; when set, no TCP port is opened.</summary>
    public string? SocketPath { get; init; }

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    public int Port { get; init; } = DefaultPort;

    /// <summary>The export's name (the empty name reaches it too).</summary>
    public required string ExportName { get; init; }

    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    /// <summary>When set, clients must present a certificate issued by this CA (NBD's authentication).</summary>
    public string? TlsClientCaPath { get; init; }

    /// <summary>Serve a writable export beyond loopback without TLS (logged on every start).</summary>
    public bool AllowInsecureNetwork { get; init; }

    public bool UsesTls => TlsCertificatePath is not null;

    public bool IsLoopback => SocketPath is not null || IPAddress.IsLoopback(Address);

    /// <summary>The address clients use, as qemu and libnbd write it; also the export's key in <c>addcow list</c>.</summary>
    public string Uri
    {
        get
        {
            string scheme = UsesTls ? "nbds" : "nbd";
            string name = System.Uri.EscapeDataString(ExportName);
            if (SocketPath is not null)
            {
                return $"{scheme}+unix:///{name}?socket={SocketPath}";
            }

            string host = Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();
            return string.Create(CultureInfo.InvariantCulture, $"{scheme}://{host}:{Port}/{name}");
        }
    }

    /// <summary>Parses <c>HOST:PORT</c>, <c>HOST</c>, <c>[V6]:PORT</c> or <c>:PORT</c>; HOST is an IP address or <c>localhost</c>.</summary>
    public static (IPAddress Address, int Port) ParseListen(string value)
    {
        string host = value;
        string? port = null;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            string rest = close < 0 ? "?" : value[(close + 1)..];
            if (close < 0 || (rest.Length > 0 && !rest.StartsWith(':')))
            {
                throw new AddCowException(AddCowError.InvalidArgument, null, $"--listen {value}: write an IPv6 address as [ADDRESS]:PORT");
            }

            host = value[1..close];
            port = rest.Length > 0 ? rest[1..] : null;
        }
        else if (value.Count(c => c == ':') == 1)
        {
            int colon = value.IndexOf(':');
            host = value[..colon];
            port = value[(colon + 1)..];
        }

        int number = DefaultPort;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            throw new AddCowException(AddCowError.InvalidArgument, null, $"--listen {value}: the port must be a number from 1 to 65535");
        }

        if (host.Length == 0 || host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return (IPAddress.Loopback, number);
        }

        if (!IPAddress.TryParse(host, out IPAddress? address))
        {
            throw new AddCowException(AddCowError.InvalidArgument, null, $"--listen {value}: '{host}' is not an IP address (or localhost)");
        }

        return (address, number);
    }

    /// <summary>
    /// The one security rule: a writable export reachable beyond loopback needs TLS, or an explicit
    /// <see cref="AllowInsecureNetwork"/>. TLS needs both certificate and key; a client CA needs TLS.
    /// </summary>
    public void Validate(bool readOnly)
    {
        if ((TlsCertificatePath is null) != (TlsKeyPath is null))
        {
            throw new AddCowException(AddCowError.InvalidArgument, null, "--tls-cert and --tls-key go together");
        }

        if (TlsClientCaPath is not null && !UsesTls)
        {
            throw new AddCowException(AddCowError.InvalidArgument, null, "--tls-client-ca needs --tls-cert and --tls-key");
        }

        if (!readOnly && !IsLoopback && !UsesTls && !AllowInsecureNetwork)
        {
            throw new AddCowException(AddCowError.InvalidArgument, null,
                $"refusing to serve a writable disk on {Address} without TLS: anyone who reaches port {Port} could read and write it; " +
                "use --tls-cert/--tls-key (and --tls-client-ca), --read-only, or --allow-insecure-network");
        }
    }
}
