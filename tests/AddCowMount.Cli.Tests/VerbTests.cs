using System.Text.Json;
using AddCowMount.Core.Format;

namespace AddCowMount.Cli.Tests;

[TestClass]
public sealed class VerbTests
{
    private static string MakeBase(TempDirectory temp, string name = "base.raw", int size = 1 << 20, int seed = 1)
    {
        byte[] data = new byte[size];
        new Random(seed).NextBytes(data);
        File.WriteAllBytes(temp.Combine(name), data);
        return temp.Combine(name);
    }

    [TestMethod]
    public void Create_DefaultImageFile_IsSparseRawNamedAfterImage()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Assert.AreEqual(1 << 20, new FileInfo(temp.Combine("vm.raw")).Length);
        AddCowHeader header = AddCowHeader.Parse(File.ReadAllBytes(temp.Combine("vm.add-cow")), "vm");
        Assert.AreEqual("base.raw", header.BackingFile);
        Assert.AreEqual("vm.raw", header.ImageFile);
        Assert.AreEqual((ulong)(1 << 20), header.Size);
    }

    [TestMethod]
    [DataRow("64M", 64L << 20)]
    [DataRow("8G", 8L << 30)]
    [DataRow("1536", 1536L)]
    [DataRow("1000", 512L)]
    public void Create_SizeSuffixes(string size, long expected)
    {
        using var temp = new TempDirectory();
        Cli.Ok("create", temp.Combine("d.add-cow"), size);
        Assert.AreEqual((ulong)expected, AddCowHeader.Parse(File.ReadAllBytes(temp.Combine("d.add-cow")), "d").Size);
    }

    [TestMethod]
    public void Create_ExistingImage_RefusedAndUnchanged()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write -P 7 0 4096", temp.Combine("vm.add-cow"));
        var before = Cli.Snapshot(temp.Path);
        Cli.Result r = Cli.Run("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Assert.AreEqual(ExitCodes.Error, r.ExitCode);
        Cli.AssertOneLineError(r, "file exists");
        Cli.AssertUnchanged(before);
    }

    [TestMethod]
    [DataRow(new[] { "create" }, "argument")]
    [DataRow(new[] { "create", "x.add-cow" }, "SIZE")]
    [DataRow(new[] { "create", "x.add-cow", "12Q" }, "invalid size")]
    [DataRow(new[] { "frobnicate" }, "unrecognized command or argument 'frobnicate'")]
    [DataRow(new[] { "io", "-c", "write 0", "x.add-cow" }, "usage")]
    [DataRow(new[] { "io", "-c", "write -P 300 0 1", "x.add-cow" }, "-P")]
    [DataRow(new[] { "convert", "-O", "qcow2", "a", "b" }, "-O")]
    [DataRow(new[] { "info", "--output", "xml", "a" }, "--output")]
    [DataRow(new[] { "mount", "--cache", "unsafe", "x.add-cow", "mnt" }, "--cache must be writeback or none, not 'unsafe'")]
    [DataRow(new[] { "serve", "--cache", "directsync", "x.add-cow" }, "--cache must be writeback or none")]
    public void BadArguments_ExitTwo_OneLine(string[] args, string contains)
    {
        Cli.Result r = Cli.Run(args);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Error);
        StringAssert.Contains(r.Error, contains);
        StringAssert.StartsWith(r.Error, "addcow: ");
        Assert.IsFalse(r.Error.Contains("   at ", StringComparison.Ordinal));
    }

    [TestMethod]
    public void UnknownWord_IsNamed_WhateverLanguageTheParserSpeaks()
    {
        System.Globalization.CultureInfo ui = System.Globalization.CultureInfo.CurrentUICulture;
        try
        {
            // System.CommandLine ships translated messages; the unknown word must be found without reading them.
            System.Globalization.CultureInfo.CurrentUICulture = new System.Globalization.CultureInfo("de-DE");
            Cli.Result r = Cli.Run("frobnicate");

            Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Error);
            StringAssert.StartsWith(r.Error, "addcow: unrecognized command or argument 'frobnicate'");
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentUICulture = ui;
        }
    }

    [TestMethod]
    public void Io_WriteThenVerify_AndMismatchFails()
    {
        using var temp = new TempDirectory();
        Cli.Ok("create", temp.Combine("d.add-cow"), "1M");
        Cli.Result w = Cli.Ok("io", "-c", "write -P 0xab 1000 3000", "-c", "flush", temp.Combine("d.add-cow"));
        StringAssert.Contains(w.Out, "wrote 3000/3000 bytes at offset 1000");
        Cli.Ok("io", "-c", "read -P 0xab 1000 3000", "-c", "read -P 0 0 1000", "-c", "read -P 0 4000 1044576", temp.Combine("d.add-cow"));
        Cli.Result bad = Cli.Run("io", "-c", "read -P 0xab 999 2", temp.Combine("d.add-cow"));
        Assert.AreEqual(ExitCodes.Error, bad.ExitCode);
        Cli.AssertOneLineError(bad, "offset 999");
    }

    [TestMethod]
    public void Io_PastEnd_FailsWithoutChangingFiles()
    {
        using var temp = new TempDirectory();
        Cli.Ok("create", temp.Combine("d.add-cow"), "1M");
        var before = Cli.Snapshot(temp.Path);
        Cli.Result r = Cli.Run("io", "-c", "write 1048000 1000", temp.Combine("d.add-cow"));
        Assert.AreEqual(ExitCodes.Error, r.ExitCode);
        Cli.AssertOneLineError(r, "past the end");
        Cli.AssertUnchanged(before);
    }

    [TestMethod]
    public void Info_Json_ReportsChainAndAllocation()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write 0 1M", temp.Combine("vm.add-cow")); // the whole 1 MiB disk
        using JsonDocument doc = JsonDocument.Parse(Cli.Ok("info", "--output", "json", temp.Combine("vm.add-cow")).Out);
        JsonElement root = doc.RootElement;
        Assert.AreEqual("add-cow", root.GetProperty("format").GetString());
        Assert.AreEqual(1 << 20, root.GetProperty("virtual-size").GetInt64());
        Assert.AreEqual(1 << 20, root.GetProperty("allocated-bytes").GetInt64());
        Assert.IsTrue(root.GetProperty("fully-allocated").GetBoolean());
        Assert.AreEqual(temp.Combine("base.raw"), root.GetProperty("full-backing-filename").GetString());
        Assert.AreEqual(2, root.GetProperty("backing-chain").GetArrayLength());
    }

    [TestMethod]
    public void Info_Human_ShowsResolvedNamesEvenWhenBackingIsMissing()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        File.Delete(temp.Combine("base.raw"));
        Cli.Result r = Cli.Run("info", temp.Combine("vm.add-cow"));
        Assert.AreEqual(ExitCodes.Error, r.ExitCode);
        StringAssert.Contains(r.Out, $"backing file: base.raw (actual path: {temp.Combine("base.raw")})");
        Cli.AssertOneLineError(r, "not found");
    }

    [TestMethod]
    public void Map_Json_NamesLayerOfEachExtent()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write 4096 8192", temp.Combine("vm.add-cow"));
        using JsonDocument doc = JsonDocument.Parse(Cli.Ok("map", "--output", "json", temp.Combine("vm.add-cow")).Out);
        var rows = doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64(), e.GetProperty("depth").GetInt32())).ToList();
        CollectionAssert.AreEqual(new[] { (0L, 4096L, 1), (4096L, 8192L, 0), (12288L, (1L << 20) - 12288, 1) }, rows);
    }

    [TestMethod]
    public void Check_Golden_Clean_TruncatedBitmap_ExitThreeNamesProblem()
    {
        using var temp = new TempDirectory();
        foreach (string f in Directory.GetFiles(Cli.GoldenFolder("basic-1m")))
        {
            File.Copy(f, temp.Combine(Path.GetFileName(f)));
        }

        StringAssert.Contains(Cli.Ok("check", temp.Combine("disk.add-cow")).Out, "No errors");
        using (var fs = new FileStream(temp.Combine("disk.add-cow"), FileMode.Open))
        {
            fs.SetLength(2100);
        }

        var before = Cli.Snapshot(temp.Path);
        Cli.Result r = Cli.Run("check", temp.Combine("disk.add-cow"));
        Assert.AreEqual(ExitCodes.CheckFoundErrors, r.ExitCode);
        StringAssert.Contains(r.Out, "bitmap truncated");
        Cli.AssertUnchanged(before);
    }

    [TestMethod]
    public void Commit_MovesDataIntoBacking_AndEmptiesOverlay()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write -P 0x42 100 5000", temp.Combine("vm.add-cow"));
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("before.raw"));
        Cli.Ok("commit", temp.Combine("vm.add-cow"));
        Assert.AreEqual(Cli.Sha256(temp.Combine("before.raw")), Cli.Sha256(temp.Combine("base.raw")), "backing holds the composed disk");
        using JsonDocument doc = JsonDocument.Parse(Cli.Ok("info", "--output", "json", temp.Combine("vm.add-cow")).Out);
        Assert.AreEqual(0, doc.RootElement.GetProperty("allocated-bytes").GetInt64());
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("after.raw"));
        Assert.AreEqual(Cli.Sha256(temp.Combine("before.raw")), Cli.Sha256(temp.Combine("after.raw")));
    }

    [TestMethod]
    public void Stream_MakesImageFileAStandaloneDisk()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write -P 0x42 100 5000", temp.Combine("vm.add-cow"));
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("composed.raw"));
        Cli.Ok("stream", temp.Combine("vm.add-cow"));
        Assert.AreEqual(Cli.Sha256(temp.Combine("composed.raw")), Cli.Sha256(temp.Combine("vm.raw")));
        StringAssert.Contains(Cli.Ok("info", temp.Combine("vm.add-cow")).Out, "fully allocated: yes");
        File.Delete(temp.Combine("base.raw"));
        Assert.AreEqual(Cli.Sha256(temp.Combine("composed.raw")), Cli.Sha256(temp.Combine("vm.raw")));
    }

    [TestMethod]
    public void Rebase_Safe_KeepsContent_Unsafe_OnlyRenames()
    {
        using var temp = new TempDirectory();
        MakeBase(temp, "old.raw", seed: 1);
        MakeBase(temp, "new.raw", seed: 2);
        Cli.Ok("create", "-b", "old.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write -P 1 0 512", temp.Combine("vm.add-cow"));
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("before.raw"));
        Cli.Ok("rebase", "-b", "new.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("after.raw"));
        Assert.AreEqual(Cli.Sha256(temp.Combine("before.raw")), Cli.Sha256(temp.Combine("after.raw")));
        Assert.AreEqual("new.raw", AddCowHeader.Parse(File.ReadAllBytes(temp.Combine("vm.add-cow")), "vm").BackingFile);

        Cli.Ok("rebase", "-u", "-b", "old.raw", temp.Combine("vm.add-cow"));
        Assert.AreEqual("old.raw", AddCowHeader.Parse(File.ReadAllBytes(temp.Combine("vm.add-cow")), "vm").BackingFile);
    }

    [TestMethod]
    public void Resize_GrowAndShrink_KeepsData()
    {
        using var temp = new TempDirectory();
        Cli.Ok("create", temp.Combine("d.add-cow"), "1M");
        Cli.Ok("io", "-c", "write -P 9 0 4096", temp.Combine("d.add-cow"));
        Cli.Ok("resize", temp.Combine("d.add-cow"), "+1M");
        Cli.Ok("io", "-c", "read -P 9 0 4096", "-c", "read -P 0 4096 2093056", "-c", "write -P 5 2096640 512", temp.Combine("d.add-cow"));
        Cli.Ok("resize", temp.Combine("d.add-cow"), "1M");
        Assert.AreEqual((ulong)(1 << 20), AddCowHeader.Parse(File.ReadAllBytes(temp.Combine("d.add-cow")), "d").Size);
        Cli.Ok("io", "-c", "read -P 9 0 4096", temp.Combine("d.add-cow"));
        StringAssert.Contains(Cli.Ok("check", temp.Combine("d.add-cow")).Out, "No errors");
    }

    [TestMethod]
    public void Convert_Vpc_QemuSeesSameDisk()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        Cli.Ok("io", "-c", "write -P 3 0 512", temp.Combine("vm.add-cow"));
        Cli.Ok("convert", "-O", "vpc", temp.Combine("vm.add-cow"), temp.Combine("vm.vhd"));
        Cli.Ok("convert", "-O", "raw", temp.Combine("vm.add-cow"), temp.Combine("vm.img"));
        byte[] vhd = File.ReadAllBytes(temp.Combine("vm.vhd"));
        Assert.AreEqual((1 << 20) + 512, vhd.Length);
        VhdFooter footer = VhdFooter.Parse(vhd.AsSpan(1 << 20));
        Assert.AreEqual((ulong)(1 << 20), footer.CurrentSize);
        CollectionAssert.AreEqual(File.ReadAllBytes(temp.Combine("vm.img")), vhd[..(1 << 20)]);
    }

    [TestMethod]
    public void Convert_Vhdx_StructureThenTheDiskAtThePayloadOffset_SameIdAsTheMountedView()
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        string image = temp.Combine("vm.add-cow");
        Cli.Ok("create", "-b", "base.raw", image);
        Cli.Ok("io", "-c", "write -P 3 0 512", image);
        Cli.Ok("convert", "-O", "vhdx", image, temp.Combine("vm.vhdx"));
        Cli.Ok("convert", "-O", "raw", image, temp.Combine("vm.img"));

        byte[] vhdx = File.ReadAllBytes(temp.Combine("vm.vhdx"));
        var layout = VhdxLayout.Create(1 << 20, VhdFooter.StableId(Path.GetFullPath(image)));
        var (h1, h2) = layout.InitialHeaders();
        Assert.AreEqual(layout.FileLength, vhdx.Length);
        CollectionAssert.AreEqual(layout.StructureBytes(h1.ToArray(), h2.ToArray()), vhdx[..(int)layout.PayloadOffset], "structure, with the Virtual Disk ID the mount shows");
        CollectionAssert.AreEqual(File.ReadAllBytes(temp.Combine("vm.img")), vhdx[(int)layout.PayloadOffset..(int)layout.PayloadEnd]);
        Assert.IsFalse(vhdx.AsSpan((int)layout.PayloadEnd).ContainsAnyExcept((byte)0), "padding of the last block");
    }

    [TestMethod]
    [DataRow("magic")]
    [DataRow("version")]
    [DataRow("truncate")]
    [DataRow("no-image")]
    [DataRow("loop")]
    public void BadImages_OneLineError_NoFileChanged(string damage)
    {
        using var temp = new TempDirectory();
        MakeBase(temp);
        Cli.Ok("create", "-b", "base.raw", temp.Combine("vm.add-cow"));
        byte[] bytes = File.ReadAllBytes(temp.Combine("vm.add-cow"));
        switch (damage)
        {
            case "magic": bytes[0] = (byte)'X'; break;
            case "version": bytes[11] = 2; break;
            case "truncate": bytes = bytes[..1000]; break;
            case "no-image": File.Delete(temp.Combine("vm.raw")); break;
            case "loop":
                Cli.Ok("create", "-b", "vm.add-cow", "-i", "b.raw", temp.Combine("b.add-cow"));
                Assert.AreEqual(ExitCodes.Error, Cli.Run("rebase", "-u", "-b", "b.add-cow", temp.Combine("vm.add-cow")).ExitCode, "rebase must refuse a loop");
                new AddCowHeader("b.add-cow", "vm.raw", 1 << 20).WriteTo(bytes);
                break;
        }

        File.WriteAllBytes(temp.Combine("vm.add-cow"), bytes);
        var before = Cli.Snapshot(temp.Path);
        foreach (string[] args in new[]
        {
            new[] { "info", temp.Combine("vm.add-cow") },
            new[] { "map", temp.Combine("vm.add-cow") },
            new[] { "io", "-c", "write 0 512", temp.Combine("vm.add-cow") },
            new[] { "commit", temp.Combine("vm.add-cow") },
            new[] { "stream", temp.Combine("vm.add-cow") },
            new[] { "resize", temp.Combine("vm.add-cow"), "2M" },
        })
        {
            Cli.Result r = Cli.Run(args);
            Assert.AreEqual(ExitCodes.Error, r.ExitCode, $"{args[0]}: {r.Error}");
            Assert.IsFalse(r.Error.Contains("   at ", StringComparison.Ordinal));
            StringAssert.StartsWith(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], "addcow: ");
        }

        Assert.AreEqual(ExitCodes.CheckFoundErrors, Cli.Run("check", temp.Combine("vm.add-cow")).ExitCode);
        Cli.AssertUnchanged(before);
    }
}
