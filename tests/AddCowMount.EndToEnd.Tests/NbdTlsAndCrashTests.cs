using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>
/// <c>addcow serve</c> with TLS (certificates made by openssl here, qemu's own TLS client), and killed with SIGKILL
/// after flushed writes: every flushed write is back after a restart and <c>addcow check</c> is clean.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class NbdTlsAndCrashTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Tls_WithRequiredClientCertificates_AcceptsQemuWithAValidCertificate_AndTurnsAwayTheRest()
    {
        E2eEnvironment.Require("qemu-img", "openssl");
        using var ws = new Workspace(baseSize: 4 << 20);
        string image = ws.CreateOverlay("vm1");
        string pki = ws.Combine("pki");
        Directory.CreateDirectory(pki);
        MakeCa(pki, "ca");
        MakeCertificate(pki, "ca", "server", "serverAuth");
        string good = ClientDirectory(ws, pki, "good", "ca");
        MakeCa(pki, "rogue");
        string rogue = ClientDirectory(ws, pki, "rogue", "rogue");

        // qemu checks its own certificate against ca-cert.pem too: trust both CAs there, so the server is the one to refuse.
        File.WriteAllText(Path.Combine(rogue, "ca-cert.pem"), File.ReadAllText(Path.Combine(pki, "ca-cert.pem")) + File.ReadAllText(Path.Combine(pki, "rogue-cert.pem")));
        string noCertificate = ws.Combine("nocert");
        Directory.CreateDirectory(noCertificate);
        File.Copy(Path.Combine(pki, "ca-cert.pem"), Path.Combine(noCertificate, "ca-cert.pem"));

        int port = NbdServe.FreePort();
        using NbdServe serve = NbdServe.Start(ws, image, "--listen", $"127.0.0.1:{port}",
            "--tls-cert", Path.Combine(pki, "server-cert.pem"), "--tls-key", Path.Combine(pki, "server-key.pem"), "--tls-client-ca", Path.Combine(pki, "ca-cert.pem"));
        Assert.AreEqual($"nbds://127.0.0.1:{port}/vm1", serve.Uri);

        ProcessResult accepted = QemuImgInfo(good, port);
        Assert.AreEqual(0, accepted.ExitCode, accepted.Describe());
        StringAssert.Contains(accepted.Output, "virtual size: 4 MiB");
        ProcessResult write = Workspace.Tool("qemu-io", "--object", $"tls-creds-x509,id=tls0,dir={good},endpoint=client", "--image-opts",
            $"driver=nbd,server.type=inet,server.host=127.0.0.1,server.port={port},export=vm1,tls-creds=tls0", "-c", "write -P 0x77 0 64K", "-c", "read -P 0x77 0 64K");
        Assert.AreEqual(0, write.ExitCode, write.Describe());

        ProcessResult plain = Workspace.Tool("qemu-img", "info", $"nbd://127.0.0.1:{port}/vm1");
        foreach ((string what, ProcessResult result) in new[]
        {
            ("a client certificate from another CA", QemuImgInfo(rogue, port)),
            ("no client certificate", QemuImgInfo(noCertificate, port)),
            ("no TLS at all", plain),
        })
        {
            Assert.AreNotEqual(0, result.ExitCode, $"{what} must be refused:\n{result.Describe()}");
            TestContext.WriteLine($"{what}: {result.Error.Trim()}");
        }

        StringAssert.Contains(plain.Error, "TLS is required", "the server's NBD_REP_ERR_TLS_REQD message reaches the client");

        ws.AddCowOk("unmount", serve.Uri);
        Assert.AreEqual(0, serve.WaitForExit());
        string log = serve.Errors.Result;
        Assert.AreEqual(2, log.Split('\n').Count(l => l.Contains("TLS handshake failed", StringComparison.Ordinal)), log);
    }

    [TestMethod]
    public void KillDashNine_AfterFlushedWrites_LosesNothingFlushed()
    {
        E2eEnvironment.Require("qemu-io");
        using var ws = new Workspace(baseSize: 16 << 20);
        string image = ws.CreateOverlay("vm1");
        string socket = NbdServe.SocketIn(ws);
        var random = new Random(9);
        var writes = Enumerable.Range(0, 24).Select(i => (Offset: (long)random.Next(0, (16 << 20) / 512 - 256) * 512, Length: random.Next(1, 129) * 512, Pattern: (byte)(i + 1)))
            .ToList();

        // Later writes win where they overlap: check each byte range against the last pattern written over it.
        using (NbdServe serve = NbdServe.Start(ws, image, "--socket", socket))
        {
            var commands = new List<string>();
            foreach (var w in writes)
            {
                commands.AddRange(["-c", $"write -P {w.Pattern} {w.Offset} {w.Length}"]);
            }

            Workspace.ToolOk("qemu-io", ["-f", "raw", .. commands, "-c", "flush", serve.Uri]);

            // A write that is never flushed, and the kill while the client is still attached.
            using var unflushed = ProcessRunner.Start(E2eEnvironment.Tool("qemu-io"), ["-f", "raw", "-c", "write -P 0xEE 15M 64K", "-c", "sleep 30000", serve.Uri]);
            Thread.Sleep(1500);
            serve.Process.Kill(); // SIGKILL
            serve.Process.WaitForExit();
            unflushed.Kill();
        }

        Assert.IsTrue(File.Exists(socket), "a killed server leaves its socket behind");
        byte[] expected = new byte[16 << 20];
        using (FileStream b = File.OpenRead(ws.BasePath))
        {
            b.ReadExactly(expected);
        }

        foreach (var w in writes)
        {
            expected.AsSpan((int)w.Offset, w.Length).Fill(w.Pattern);
        }

        using (NbdServe again = NbdServe.Start(ws, image, "--socket", socket, "--read-only"))
        {
            string copy = ws.Combine("after.raw");
            Workspace.ToolOk("qemu-img", "convert", "-f", "raw", "-O", "raw", again.Uri, copy);
            byte[] actual = File.ReadAllBytes(copy);
            int unflushedAt = 15 << 20;
            for (int i = 0; i < expected.Length; i++)
            {
                if (i >= unflushedAt && i < unflushedAt + (64 << 10) && actual[i] == 0xEE)
                {
                    continue; // the unflushed write may or may not have landed, whole sectors either way
                }

                if (actual[i] != expected[i])
                {
                    Assert.Fail($"byte {i} after the restart is 0x{actual[i]:x2}, the flushed content is 0x{expected[i]:x2}");
                }
            }

            ws.AddCowOk("unmount", again.Uri);
            Assert.AreEqual(0, again.WaitForExit());
        }

        TestReport.Line(TestContext, $"{writes.Count} flushed writes over NBD, SIGKILL with an unflushed writer attached: all flushed bytes back");
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");
    }

    private static ProcessResult QemuImgInfo(string credentials, int port) =>
        Workspace.Tool("qemu-img", "info", "--object", $"tls-creds-x509,id=tls0,dir={credentials},endpoint=client", "--image-opts",
            $"driver=nbd,server.type=inet,server.host=127.0.0.1,server.port={port},export=vm1,tls-creds=tls0");

    private static void MakeCa(string pki, string name) =>
        Workspace.ToolOk("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", $"/CN=addcow-test-{name}",
            "-keyout", Path.Combine(pki, $"{name}-key.pem"), "-out", Path.Combine(pki, $"{name}-cert.pem"),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");

    private static void MakeCertificate(string pki, string ca, string name, string usage)
    {
        string ext = Path.Combine(pki, $"{name}.ext");
        File.WriteAllText(ext, $"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\nkeyUsage=digitalSignature,keyEncipherment\n");
        Workspace.ToolOk("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", $"/CN={name}", "-keyout", Path.Combine(pki, $"{name}-key.pem"),
            "-out", Path.Combine(pki, $"{name}.csr"));
        Workspace.ToolOk("openssl", "x509", "-req", "-in", Path.Combine(pki, $"{name}.csr"), "-CA", Path.Combine(pki, $"{ca}-cert.pem"),
            "-CAkey", Path.Combine(pki, $"{ca}-key.pem"), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", Path.Combine(pki, $"{name}-cert.pem"));
    }

    /// <summary>qemu's client credential folder: ca-cert.pem (to check the server), client-cert.pem and client-key.pem.</summary>
    private static string ClientDirectory(Workspace ws, string pki, string name, string issuer)
    {
        MakeCertificate(pki, issuer, $"{name}-client", "clientAuth");
        string dir = ws.Combine(name);
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(pki, "ca-cert.pem"), Path.Combine(dir, "ca-cert.pem"));
        File.Copy(Path.Combine(pki, $"{name}-client-cert.pem"), Path.Combine(dir, "client-cert.pem"));
        File.Copy(Path.Combine(pki, $"{name}-client-key.pem"), Path.Combine(dir, "client-key.pem"));
        return dir;
    }
}
