using System.Net;
using AddCowMount.Core.Format;
using AddCowMount.Core.Hosting;
using AddCowMount.Nbd.Server;

namespace AddCowMount.Nbd.Tests;

[TestClass]
public sealed class ServerOptionsTests
{
    [TestMethod]
    [DataRow("127.0.0.1:10900", "127.0.0.1", 10900)]
    [DataRow("localhost", "127.0.0.1", 10809)]
    [DataRow(":10901", "127.0.0.1", 10901)]
    [DataRow("[::1]:10902", "::1", 10902)]
    [DataRow("::1", "::1", 10809)]
    [DataRow("0.0.0.0:10903", "0.0.0.0", 10903)]
    public void ParseListen_TakesHostAndPort(string value, string host, int port)
    {
        (IPAddress address, int parsedPort) = NbdServerOptions.ParseListen(value);
        Assert.AreEqual(IPAddress.Parse(host), address);
        Assert.AreEqual(port, parsedPort);
    }

    [TestMethod]
    [DataRow("127.0.0.1:0")]
    [DataRow("127.0.0.1:70000")]
    [DataRow("example.com:10809")]
    [DataRow("[::1")]
    public void ParseListen_RefusesBadAddresses(string value) =>
        Assert.AreEqual(AddCowError.InvalidArgument, Assert.ThrowsExactly<AddCowException>(() => NbdServerOptions.ParseListen(value)).Error);

    [TestMethod]
    public void Validate_RefusesAWritableNetworkExportWithoutTls_UnlessAllowedOrReadOnlyOrTls()
    {
        var network = new NbdServerOptions { ExportName = "vm1", Address = IPAddress.Any, Port = 10809 };
        AddCowException refused = Assert.ThrowsExactly<AddCowException>(() => network.Validate(readOnly: false));
        StringAssert.Contains(refused.Message, "without TLS");
        network.Validate(readOnly: true);
        (network with { AllowInsecureNetwork = true }).Validate(readOnly: false);
        (network with { TlsCertificatePath = "c.pem", TlsKeyPath = "k.pem" }).Validate(readOnly: false);
        new NbdServerOptions { ExportName = "vm1" }.Validate(readOnly: false);
        new NbdServerOptions { ExportName = "vm1", SocketPath = "/tmp/x.sock" }.Validate(readOnly: false);
        Assert.ThrowsExactly<AddCowException>(() => new NbdServerOptions { ExportName = "vm1", TlsCertificatePath = "c.pem" }.Validate(readOnly: true));
        Assert.ThrowsExactly<AddCowException>(() => new NbdServerOptions { ExportName = "vm1", TlsClientCaPath = "ca.pem" }.Validate(readOnly: true));
    }

    [TestMethod]
    public void Uri_IsWhatQemuAndLibnbdTake()
    {
        Assert.AreEqual("nbd://127.0.0.1:10809/vm1", new NbdServerOptions { ExportName = "vm1" }.Uri);
        Assert.AreEqual("nbds://[::1]:10999/vm1", new NbdServerOptions { ExportName = "vm1", Address = IPAddress.IPv6Loopback, Port = 10999, TlsCertificatePath = "c" }.Uri);
        Assert.AreEqual("nbd+unix:///vm%201?socket=/run/a.sock", new NbdServerOptions { ExportName = "vm 1", SocketPath = "/run/a.sock" }.Uri);
    }

    [TestMethod]
    public void Registry_KeysAnExportByItsAddress()
    {
        using var dir = new TempDirectory();
        var registry = new MountRegistry(dir.Combine("mounts"));
        const string uri = "nbd+unix:///vm1?socket=/run/vm1.sock";
        Assert.AreEqual(uri, MountRegistry.NormalizeMountPoint(uri));
        registry.Register(new MountRecord(uri, "/images/vm1.add-cow", Environment.ProcessId, false, [uri], DateTime.UtcNow, "pipe"));
        Assert.AreEqual("/images/vm1.add-cow", registry.Find(uri)?.Image);
        Assert.IsNull(registry.Find("nbd+unix:///vm2?socket=/run/vm1.sock"));
        registry.Unregister(uri, Environment.ProcessId);
        Assert.IsNull(registry.Find(uri));
    }
}
