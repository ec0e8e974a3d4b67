using System.Diagnostics;
using AddCowMount.Cli.Commands;

namespace AddCowMount.Cli.Tests;

/// <summary>How a background mount or serve is started: tiering off for JIT-only builds, kept for precompiled ones.</summary>
[TestClass]
public sealed class ServingChildTests
{
    private const string Tiering = "DOTNET_TieredCompilation";

    [TestMethod]
    public void IsPrecompiled_TellsReadyToRunFromJitOnlyAssemblies()
    {
        // The shared framework ships ReadyToRun code; this test's copy of addcow is plain build output.
        Assert.IsTrue(MountCommand.IsPrecompiled(typeof(object).Assembly), "System.Private.CoreLib");
        Assert.IsFalse(MountCommand.IsPrecompiled(typeof(MountCommand).Assembly), "addcow.dll from dotnet build");
    }

    [TestMethod]
    public void ServingChild_JitOnlyBuild_RunsWithTieringOff_UnlessTheUserSetIt()
    {
        ProcessStartInfo start = MountCommand.ServingChild(["mount", "x"], precompiled: false);
        string expected = Environment.GetEnvironmentVariable(Tiering) ?? "0";
        Assert.AreEqual(expected, start.Environment[Tiering]);
    }

    [TestMethod]
    public void ServingChild_PrecompiledBuild_KeepsTheEnvironmentsTiering()
    {
        ProcessStartInfo start = MountCommand.ServingChild(["mount", "x"], precompiled: true);
        start.Environment.TryGetValue(Tiering, out string? value);
        Assert.AreEqual(Environment.GetEnvironmentVariable(Tiering), value);
    }

    [TestMethod]
    public void ServingChild_ThisBuild_IsStartedAsAJitOnlyBuild()
    {
        ProcessStartInfo start = MountCommand.ServingChild(["mount", "x"]);
        Assert.AreEqual(Environment.GetEnvironmentVariable(Tiering) ?? "0", start.Environment[Tiering]);
    }
}
