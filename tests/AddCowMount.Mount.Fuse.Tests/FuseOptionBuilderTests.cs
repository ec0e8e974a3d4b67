namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class FuseOptionBuilderTests
{
    [TestMethod]
    public void Defaults_DirectIoOneMebibyteOwnerOnly()
    {
        string options = FuseOptionBuilder.BuildOptionString(new FuseMountOptions());

        Assert.AreEqual(
            "fsname=addcow,subtype=addcow,default_permissions,max_read=1048576,attr_timeout=1,entry_timeout=1,negative_timeout=0",
            options);
    }

    [TestMethod]
    public void ReadOnlyAllowOtherKernelCache_AreAdded()
    {
        var options = new FuseMountOptions
        {
            ReadOnly = true,
            AllowOther = true,
            CacheMode = FuseCacheMode.KernelCache,
            MaxRead = 131072,
            AttributeTimeoutSeconds = 0.5,
        };

        string text = FuseOptionBuilder.BuildOptionString(options);

        CollectionAssert.AreEqual(
            new[] { "fsname=addcow", "subtype=addcow", "default_permissions", "max_read=131072", "ro", "allow_other", "attr_timeout=0.5", "entry_timeout=0.5", "negative_timeout=0" },
            text.Split(','));
    }

    [TestMethod]
    [DataRow(FuseCacheMode.DirectIo, true, false)]
    [DataRow(FuseCacheMode.KernelCache, false, true)]
    [DataRow(FuseCacheMode.PageCache, false, false)]
    public void CacheMode_BecomesConfigFlagsNotOptions(FuseCacheMode mode, bool directIo, bool kernelCache)
    {
        string text = FuseOptionBuilder.BuildOptionString(new FuseMountOptions { CacheMode = mode });

        Assert.AreEqual((directIo, kernelCache), FuseOptionBuilder.CacheFlags(mode));
        Assert.DoesNotContain("direct_io", text, "libfuse 3.14 rejects -o direct_io");
    }

    [TestMethod]
    public void BuildArguments_IsProgramNameThenOneOptionList()
    {
        IReadOnlyList<string> arguments = FuseOptionBuilder.BuildArguments(new FuseMountOptions());

        Assert.HasCount(3, arguments);
        Assert.AreEqual("addcow", arguments[0]);
        Assert.AreEqual("-o", arguments[1]);
    }

    [TestMethod]
    [DataRow("a,b")]
    [DataRow("a b")]
    [DataRow("a=b")]
    [DataRow("")]
    public void BadFileSystemName_IsRefused(string name)
    {
        Assert.ThrowsExactly<ArgumentException>(() => FuseOptionBuilder.BuildOptionString(new FuseMountOptions { FileSystemName = name }));
    }

    [TestMethod]
    [DataRow(1024, 1048576, 10)]
    [DataRow(2 * 1048576, 1048576, 10)]
    [DataRow(1048576, 100, 10)]
    [DataRow(1048576, 1048576, 0)]
    [DataRow(1048576, 1048576, 10, 0)]
    [DataRow(1048576, 1048576, 10, 65536)]
    public void OutOfRangeLimits_AreRefused(int maxRead, int maxWrite, int threads, int maxBackground = 64)
    {
        var options = new FuseMountOptions { MaxRead = maxRead, MaxWrite = maxWrite, MaxThreads = threads, MaxBackground = maxBackground };

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FuseOptionBuilder.BuildOptionString(options));
    }
}
