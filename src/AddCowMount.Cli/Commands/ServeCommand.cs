using System.CommandLine;
using System.Net;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Hosting;
using AddCowMount.Nbd.Server;

namespace AddCowMount.Cli.Commands;

/// <summary>
/// <c>addcow serve [--read-only] [--socket PATH | --listen HOST:PORT] [--name NAME] [--tls-cert FILE --tls-key FILE
/// [--tls-client-ca FILE]] [--allow-insecure-network] [--background] IMG</c>: exports the composed disk over NBD
/// until SIGINT/SIGTERM or <c>addcow unmount ADDRESS</c>, then flushes and exits 0. The same host as a mount
/// (lock, registry entry, control pipe, write-back), with the NBD server as its backend.
/// </summary>
internal static class ServeCommand
{
    public static Command Build(CliContext context)
    {
        var readOnly = new Option<bool>("--read-only", "-r") { Description = "Export read-only (clients get EPERM on writes)" };
        var socket = new Option<string?>("--socket", "-k") { Description = "Listen on this Unix domain socket instead of TCP", HelpName = "PATH" };
        var listen = new Option<string?>("--listen") { Description = $"TCP address to listen on (default 127.0.0.1:{NbdServerOptions.DefaultPort})", HelpName = "HOST:PORT" };
        var name = new Option<string?>("--name", "-x") { Description = "Export name (default: the image's name without .add-cow; the empty name reaches it too)" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Server certificate (PEM); requires TLS from every client", HelpName = "FILE" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "Private key of the server certificate (PEM)", HelpName = "FILE" };
        var tlsClientCa = new Option<string?>("--tls-client-ca") { Description = "Require client certificates issued by this CA (PEM)", HelpName = "FILE" };
        var insecure = new Option<bool>("--allow-insecure-network") { Description = "Allow a writable export beyond loopback without TLS (anyone who reaches it can write the disk)" };
        var background = new Option<bool>("--background") { Description = "Return once serving; the server lives on in a background process" };
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var cache = CommonOptions.Cache();
        var child = new Option<bool>("--serve-detached") { Hidden = true };
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("serve", "Export the composed disk over NBD (for QEMU, qemu-img, nbd-client, libnbd)")
        {
            readOnly, socket, listen, name, tlsCert, tlsKey, tlsClientCa, insecure, background, cache, unsafePaths, child, img,
        };
        command.SetAction(result =>
        {
            string image = Path.GetFullPath(result.GetValue(img)!);
            string? socketPath = result.GetValue(socket);
            string? listenAt = result.GetValue(listen);
            if (socketPath is not null && listenAt is not null)
            {
                throw new UsageException("--socket and --listen exclude each other");
            }

            (IPAddress address, int port) = listenAt is null ? (IPAddress.Loopback, NbdServerOptions.DefaultPort) : NbdServerOptions.ParseListen(listenAt);
            var options = new NbdServerOptions
            {
                SocketPath = socketPath is null ? null : Path.GetFullPath(socketPath),
                Address = address,
                Port = port,
                ExportName = result.GetValue(name) ?? DefaultName(image),
                TlsCertificatePath = FullOrNull(result.GetValue(tlsCert)),
                TlsKeyPath = FullOrNull(result.GetValue(tlsKey)),
                TlsClientCaPath = FullOrNull(result.GetValue(tlsClientCa)),
                AllowInsecureNetwork = result.GetValue(insecure),
            };
            bool isReadOnly = result.GetValue(readOnly);
            options.Validate(isReadOnly);
            var request = new MountRequest
            {
                ImagePath = image,
                MountPoint = options.Uri,
                ReadOnly = isReadOnly,
                AllowUnsafePaths = result.GetValue(unsafePaths),
                Storage = CommonOptions.StorageFor(result, cache),
            };

            if (result.GetValue(background))
            {
                var childArgs = new List<string>();
                if (isReadOnly) { childArgs.Add("--read-only"); }
                if (options.SocketPath is not null) { childArgs.AddRange(["--socket", options.SocketPath]); }
                if (listenAt is not null) { childArgs.AddRange(["--listen", listenAt]); }
                childArgs.AddRange(["--name", options.ExportName]);
                if (options.TlsCertificatePath is not null) { childArgs.AddRange(["--tls-cert", options.TlsCertificatePath, "--tls-key", options.TlsKeyPath!]); }
                if (options.TlsClientCaPath is not null) { childArgs.AddRange(["--tls-client-ca", options.TlsClientCaPath]); }
                if (options.AllowInsecureNetwork) { childArgs.Add("--allow-insecure-network"); }
                if (request.AllowUnsafePaths) { childArgs.Add("--allow-unsafe-paths"); }
                childArgs.AddRange(["--cache", result.GetValue(cache)!]);
                childArgs.Add(image);
                return MountCommand.StartInBackground(context, "serve", HostWording.Serve, childArgs);
            }

            return MountCommand.Serve(context, request, new NbdBackend(options, context.LoggerFactory), HostWording.Serve, detached: result.GetValue(child));
        });
        return command;
    }

    /// <summary>vm1.add-cow serves as "vm1", as qemu-nbd users name exports after their disks.</summary>
    private static string DefaultName(string image) =>
        image.EndsWith(".add-cow", StringComparison.OrdinalIgnoreCase) ? Path.GetFileName(image)[..^".add-cow".Length] : Path.GetFileNameWithoutExtension(image);

    private static string? FullOrNull(string? path) => path is null ? null : Path.GetFullPath(path);
}
