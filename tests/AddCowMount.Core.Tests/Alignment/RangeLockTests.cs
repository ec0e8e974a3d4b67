using AddCowMount.Core.Alignment;

namespace AddCowMount.Core.Tests.Alignment;

/// <summary>The range lock is fair: a waiting writer holds back later overlapping readers; disjoint ranges never wait.</summary>
[TestClass]
public sealed class RangeLockTests
{
    private static readonly TimeSpan s_hang = TimeSpan.FromSeconds(30);

    [TestMethod]
    public void WaitingWriter_HoldsBackALaterOverlappingReader_UntilTheWriterIsDone()
    {
        var locks = new RangeLock();
        RangeLock.Holder firstReader = locks.Acquire(0, 8, exclusive: false);
        using var writerHolds = new ManualResetEventSlim();
        using var writerMayRelease = new ManualResetEventSlim();
        Task writer = Task.Run(() =>
        {
            using RangeLock.Holder hold = locks.Acquire(4, 12, exclusive: true);
            writerHolds.Set();
            writerMayRelease.Wait();
        });
        WaitUntil(() => locks.WaitingCount == 1);
        bool secondReaderIn = false;
        Task secondReader = Task.Run(() =>
        {
            using RangeLock.Holder hold = locks.Acquire(0, 8, exclusive: false);
            Volatile.Write(ref secondReaderIn, true);
        });
        WaitUntil(() => locks.WaitingCount == 2);
        Assert.IsFalse(Volatile.Read(ref secondReaderIn), "a reader overtook the waiting writer");

        firstReader.Dispose();
        Assert.IsTrue(writerHolds.Wait(s_hang), "the writer was not woken when the reader left");
        Assert.IsFalse(Volatile.Read(ref secondReaderIn));
        writerMayRelease.Set();

        Assert.IsTrue(Task.WaitAll([writer, secondReader], s_hang));
        Assert.IsTrue(secondReaderIn);
        Assert.AreEqual(0, locks.WaitingCount);
    }

    [TestMethod]
    public void DisjointRanges_NeverWait_EvenBehindAWaitingWriter()
    {
        var locks = new RangeLock();
        RangeLock.Holder reader = locks.Acquire(0, 8, exclusive: false);
        Task writer = Task.Run(() => locks.Acquire(0, 8, exclusive: true).Dispose());
        WaitUntil(() => locks.WaitingCount == 1);

        using (locks.Acquire(8, 16, exclusive: true))
        using (locks.Acquire(16, 24, exclusive: false))
        {
            Assert.AreEqual(1, locks.WaitingCount);
        }

        reader.Dispose();
        Assert.IsTrue(writer.Wait(s_hang));
    }

    [TestMethod]
    public void OverlappingReaders_Share()
    {
        var locks = new RangeLock();
        using RangeLock.Holder a = locks.Acquire(0, 8, exclusive: false);
        using RangeLock.Holder b = locks.Acquire(4, 12, exclusive: false);
        Assert.AreEqual(0, locks.WaitingCount);
    }

    [TestMethod]
    public void AWriterAmongManySteadyReaders_GetsItsTurnEveryTime()
    {
        const int Readers = 8;
        const int Writes = 200;
        var locks = new RangeLock();
        long readerGrants = 0;
        using var stop = new CancellationTokenSource();
        Task[] readers = Enumerable.Range(0, Readers).Select(r => Task.Factory.StartNew(() =>
        {
            var random = new Random(r);
            while (!stop.IsCancellationRequested)
            {
                long start = random.Next(0, 64);
                using (locks.Acquire(start, start + random.Next(1, 64), exclusive: false))
                {
                    Interlocked.Increment(ref readerGrants);
                    Thread.SpinWait(random.Next(10, 200));
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        Task writer = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < Writes; i++)
            {
                locks.Acquire(0, 128, exclusive: true).Dispose();
            }
        }, TaskCreationOptions.LongRunning);

        bool finished = writer.Wait(TimeSpan.FromSeconds(120));
        stop.Cancel();
        Assert.IsTrue(Task.WaitAll(readers, s_hang));
        Assert.IsTrue(finished, $"the writer starved behind steady readers ({Interlocked.Read(ref readerGrants)} reads went through)");
        Assert.IsGreaterThan(Writes, Interlocked.Read(ref readerGrants), "the readers hardly ran; the test proves nothing");
    }

    private static void WaitUntil(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + s_hang;
        while (!condition())
        {
            Assert.IsTrue(DateTime.UtcNow < deadline, "timed out waiting for the lock's queue");
            Thread.Sleep(5);
        }
    }
}
