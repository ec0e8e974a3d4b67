using AddCowMount.Core.Hosting;

namespace AddCowMount.Core.Tests.Hosting;

/// <summary>The per-mount control channel: one line in, one line out; a missing server is a null answer, not a hang.</summary>
[TestClass]
public sealed class MountControlTests
{
    [TestMethod]
    public async Task Send_GetsTheHandlersAnswer_ForEachRequest()
    {
        string pipe = $"addcow-test-{Guid.NewGuid():N}"[..28];
        using var stop = new CancellationTokenSource();
        var seen = new List<string>();
        Task server = MountControl.ServeAsync(pipe, request =>
        {
            lock (seen)
            {
                seen.Add(request);
            }

            return request == "status" ? "handles 3" : "error unknown request";
        }, stop.Token);

        Assert.AreEqual("handles 3", MountControl.Send(pipe, "status", TimeSpan.FromSeconds(10)));
        Assert.AreEqual("error unknown request", MountControl.Send(pipe, "  bogus  ", TimeSpan.FromSeconds(10)));

        stop.Cancel();
        await server.WaitAsync(TimeSpan.FromSeconds(30));
        CollectionAssert.AreEqual(new[] { "status", "bogus" }, seen);
    }

    [TestMethod]
    public void Send_ToNoServer_ReturnsNull()
    {
        Assert.IsNull(MountControl.Send($"addcow-none-{Guid.NewGuid():N}"[..28], "status", TimeSpan.FromMilliseconds(300)));
    }

    [TestMethod]
    public void PipeNames_DifferPerMountOfOneProcess()
    {
        Assert.AreNotEqual(MountControl.PipeNameFor(42, 1), MountControl.PipeNameFor(42, 2));
    }
}
