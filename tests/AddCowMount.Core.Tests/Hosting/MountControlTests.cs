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

    /// <summary>
    /// Requests back to back, as `addcow list` then `unmount` make them: each is answered. (A client that connected
    /// while the server was closing the instance that had answered the one before used to get no answer at all.)
    /// </summary>
    [TestMethod]
    public async Task Send_BackToBack_EveryRequestIsAnswered()
    {
        string pipe = $"addcow-test-{Guid.NewGuid():N}"[..28];
        using var stop = new CancellationTokenSource();
        Task server = MountControl.ServeAsync(pipe, request => "handles " + request, stop.Token);

        var unanswered = new List<int>();
        for (int i = 0; i < 300; i++)
        {
            if (MountControl.Send(pipe, i.ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromSeconds(10)) != $"handles {i}")
            {
                unanswered.Add(i);
            }
        }

        stop.Cancel();
        await server.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, unanswered.Count, $"requests without their answer: {string.Join(", ", unanswered.Take(20))}");
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
