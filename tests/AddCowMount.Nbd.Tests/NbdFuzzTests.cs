using System.Buffers.Binary;
using System.Text;
using AddCowMount.Nbd.Protocol;
using AddCowMount.Nbd.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Nbd.Tests;

/// <summary>
/// Thousands of mutated client byte streams (valid handshakes and request sequences with flipped bytes, boundary
/// values in length/offset/count fields, truncations, insertions and duplicated pieces): every connection ends
/// with a known outcome within seconds, nothing escapes as an exception, the export is never asked for anything
/// outside the disk (nor a write on a read-only export), and every session is closed.
/// </summary>
[TestClass]
public sealed class NbdFuzzTests
{
    private const int DiskSize = 256 * 1024;
    private static readonly uint[] s_boundaries = [0, 1, 511, 512, 4096, DiskSize - 1, DiskSize, DiskSize + 1, 32 << 20, (32 << 20) + 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];
    private readonly TestContext _context;

    public NbdFuzzTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public async Task MutatedClientStreams_AreAnsweredOrDisconnectedCleanly(int seed)
    {
        const int cases = 2500;
        var random = new Random(seed);
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        long requests = 0, writes = 0, replyBytes = 0;
        for (int n = 0; n < cases; n++)
        {
            bool readOnly = random.Next(4) == 0;
            var export = new MemoryExport(DiskSize, readOnly, "vm1");
            (byte[] script, int valid) = BuildScript(random);
            string mutation = Mutate(random, ref script);
            var stream = new ScriptStream(script);
            NbdConnectionEnd end;
            try
            {
                end = await NbdConnection.ServeAsync(stream, export, new NbdConnectionOptions { HandshakeTimeout = TimeSpan.FromSeconds(5) },
                    NullLogger.Instance, "fuzz", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception ex)
            {
                throw new AssertFailedException($"seed {seed} case {n} ({mutation}): {ex.GetType().Name}: {ex.Message}", ex);
            }

            Assert.IsEmpty(export.Violations, $"seed {seed} case {n} ({mutation}): {string.Join("; ", export.Violations)}");
            Assert.AreEqual(0, export.OpenSessions, $"seed {seed} case {n}: session left open");
            string key = $"{end}";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            requests += valid;
            writes += export.Writes;
            replyBytes += stream.Written;
        }

        TestReport.Line(_context, $"seed {seed}: {cases} mutated NBD client streams ({requests} requests before mutation, " +
            $"{writes} writes reached the export, {replyBytes / 1024} KiB of replies); outcomes: " +
            string.Join(", ", outcomes.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        Assert.IsGreaterThan(1, outcomes.Count, "mutations reached more than one outcome");
    }

    /// <summary>A well-formed client conversation: flags, some options, GO or EXPORT_NAME, some requests, DISC.</summary>
    private static (byte[] Script, int Requests) BuildScript(Random random)
    {
        var s = new List<byte>();
        s.AddRange(NbdTestClient.BigEndian((uint)random.Next(4)));
        bool structured = random.Next(3) != 0;
        if (structured)
        {
            Option(s, 8, []);
            if (random.Next(2) == 0)
            {
                Option(s, 10, NbdTestClient.MetaContextPayload("vm1", "base:allocation", "qemu:allocation-depth"));
            }
        }

        int extra = random.Next(3);
        for (int i = 0; i < extra; i++)
        {
            switch (random.Next(4))
            {
                case 0: Option(s, 3, []); break;
                case 1: Option(s, 6, NbdTestClient.InfoPayload("vm1", 0, 1, 2, 3)); break;
                case 2: Option(s, 9, NbdTestClient.MetaContextPayload("", "qemu:")); break;
                default: Option(s, (uint)random.Next(12, 40), new byte[random.Next(8)]); break;
            }
        }

        if (random.Next(4) == 0)
        {
            Option(s, 1, Encoding.UTF8.GetBytes("vm1"));
        }
        else
        {
            Option(s, 7, NbdTestClient.InfoPayload(random.Next(2) == 0 ? "" : "vm1"));
        }

        int requests = random.Next(1, 12);
        for (int i = 0; i < requests; i++)
        {
            ushort command = (ushort)new[] { 0, 1, 1, 3, 4, 6, 7 }[random.Next(7)];
            uint length = (uint)random.Next(1, 8) * 512;
            ulong offset = (ulong)random.Next(0, DiskSize / 512) * 512;
            if (offset + length > DiskSize)
            {
                offset = DiskSize - length;
            }

            byte[] header = new byte[28];
            BinaryPrimitives.WriteUInt32BigEndian(header, 0x25609513);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)(random.Next(4) == 0 ? 1 : 0));
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), command);
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), (ulong)i);
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), command == 3 ? 0 : offset);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), command == 3 ? 0 : length);
            s.AddRange(header);
            if (command == 1)
            {
                byte[] payload = new byte[length];
                random.NextBytes(payload);
                s.AddRange(payload);
            }
        }

        if (random.Next(3) != 0)
        {
            byte[] disc = new byte[28];
            BinaryPrimitives.WriteUInt32BigEndian(disc, 0x25609513);
            BinaryPrimitives.WriteUInt16BigEndian(disc.AsSpan(6), 2);
            s.AddRange(disc);
        }

        return ([.. s], requests);
    }

    private static void Option(List<byte> s, uint option, byte[] payload)
    {
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, 0x49484156454F5054);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)payload.Length);
        s.AddRange(header);
        s.AddRange(payload);
    }

    private static string Mutate(Random random, ref byte[] script)
    {
        switch (random.Next(6))
        {
            case 0:
            {
                int flips = random.Next(1, 9);
                for (int i = 0; i < flips; i++)
                {
                    script[random.Next(script.Length)] ^= (byte)(1 << random.Next(8));
                }

                return $"{flips} bit flips";
            }

            case 1:
            {
                int at = random.Next(script.Length - 4) & ~3;
                BinaryPrimitives.WriteUInt32BigEndian(script.AsSpan(at), s_boundaries[random.Next(s_boundaries.Length)]);
                return $"boundary u32 at {at}";
            }

            case 2:
            {
                int keep = random.Next(script.Length);
                script = script[..keep];
                return $"truncated to {keep}";
            }

            case 3:
            {
                int at = random.Next(script.Length);
                byte[] junk = new byte[random.Next(1, 17)];
                random.NextBytes(junk);
                script = [.. script[..at], .. junk, .. script[at..]];
                return $"{junk.Length} random bytes inserted at {at}";
            }

            case 4:
            {
                int from = random.Next(script.Length);
                int length = Math.Min(random.Next(1, 64), script.Length - from);
                int at = random.Next(script.Length);
                script = [.. script[..at], .. script.AsSpan(from, length), .. script[at..]];
                return $"{length} bytes from {from} duplicated at {at}";
            }

            default:
                return "unmutated";
        }
    }
}
